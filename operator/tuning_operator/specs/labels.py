"""Vertex label rules and the ownership labels the operator puts on every job it creates.

Ownership is how the operator finds its jobs with one filtered List and how it proves, before a
create, that no job with that name exists. A user label may therefore never use these keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MANAGED_BY = "managed-by"
MANAGED_BY_VALUE = "tuning-operator"
JOB = "tuning-operator-job"
SPEC = "tuning-operator-spec"
TEAM = "tuning-operator-team"
RESERVED_PREFIX = "tuning-operator-"
MAX_LABELS = 64

_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")


def is_reserved(key: str) -> bool:
    return key == MANAGED_BY or key.startswith(RESERVED_PREFIX)


def label_problems(labels: Mapping[str, str]) -> list[str]:
    """Why these user labels would be rejected (by Vertex, or as reserved); empty when fine."""
    problems: list[str] = []
    if len(labels) + 4 > MAX_LABELS:
        problems.append(
            f"{len(labels)} labels: Vertex allows {MAX_LABELS} per job and the operator adds 4;"
            f" keep at most {MAX_LABELS - 4}"
        )
    for key, value in labels.items():
        if is_reserved(key):
            problems.append(
                f"label key {key!r} is reserved for the operator's ownership labels; rename it"
            )
        elif not _KEY.match(key):
            problems.append(
                f"label key {key!r} breaks Vertex label rules: start with a lowercase letter,"
                " then lowercase letters, digits, '_' or '-', at most 63 characters"
            )
        if not isinstance(value, str) or not _VALUE.match(value):
            problems.append(
                f"label value {value!r} (key {key!r}) breaks Vertex label rules: lowercase"
                " letters, digits, '_' or '-', at most 63 characters (quote numbers)"
            )
    return problems


def ownership_labels(*, job: str, spec_hash: str, team: str) -> dict[str, str]:
    """The labels that mark a Vertex job as this operator's, for this job name and spec."""
    return {MANAGED_BY: MANAGED_BY_VALUE, JOB: job, SPEC: spec_hash[:16], TEAM: team}


def is_valid_label_value(value: str) -> bool:
    return bool(_VALUE.match(value))
