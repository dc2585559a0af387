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

# Always re.fullmatch: with re.match, `$` also matches before a trailing newline.
_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_VALUE = re.compile(r"[a-z0-9_-]{0,63}")
_NOT_VALUE = re.compile(r"[^a-z0-9_-]+")


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
        elif not _KEY.fullmatch(key):
            problems.append(
                f"label key {key!r} breaks Vertex label rules: start with a lowercase letter,"
                " then lowercase letters, digits, '_' or '-', at most 63 characters"
            )
        if not isinstance(value, str) or not _VALUE.fullmatch(value):
            problems.append(
                f"label value {value!r} (key {key!r}) breaks Vertex label rules: lowercase"
                " letters, digits, '_' or '-', at most 63 characters (quote numbers)"
            )
    return problems


def ownership_labels(*, job: str, spec_hash: str, team: str) -> dict[str, str]:
    """The labels that mark a Vertex job as this operator's, for this job name and spec."""
    return {MANAGED_BY: MANAGED_BY_VALUE, JOB: job, SPEC: spec_hash[:16], TEAM: team}


def is_valid_label_value(value: str) -> bool:
    return bool(_VALUE.fullmatch(value))


def is_team_name(name: str) -> bool:
    """A team is a directory name that is also a label value (it is copied to the team label)."""
    return bool(name) and is_valid_label_value(name)


def team_name_suggestion(name: str) -> str:
    """The nearest valid team name, to put in a message: `Assistants` → `assistants`."""
    suggestion = _NOT_VALUE.sub("-", name.strip().lower()).strip("-")[:63]
    return suggestion or "my-team"


def team_name_problem(name: str) -> str | None:
    """Why `name` cannot be a team (a directory, or a key of the policy); None when it can."""
    if is_team_name(name):
        return None
    return (f"{name!r} is not a valid Vertex label value, so it cannot name a team (lowercase"
            " letters, digits, '_' or '-', at most 63 characters, nothing else): use"
            f" {team_name_suggestion(name)!r}")
