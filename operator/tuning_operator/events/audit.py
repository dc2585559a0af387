"""The audit trail: an append-only, fsync'd JSON-lines file of every action and transition.

Auditors ask "who changed what, when, and why did the operator act"; the trail answers offline
from the state directory, long after logs rotated. Each line is one `AuditRecord`; lines are
only ever appended (one write each, then fsync), so a crash can at worst leave a torn last line,
which readers skip. This module must never rewrite or truncate the trail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from tuning_operator.events.lines import AppendOnlyFile
from tuning_operator.events.model import parse_rfc3339, rfc3339
from tuning_operator.events.provenance import Provenance


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One action or transition of one job, with its reason and the commit behind it."""

    time: datetime
    operator_instance: str
    job: str
    action: str  # e.g. "create", "cancel", "admit", "phase-changed", "stall"
    reason: str = ""
    team: str | None = None
    phase: str | None = None
    previous_phase: str | None = None
    vertex_job: str | None = None
    spec_hash: str | None = None
    git_commit: str | None = None
    git_author: str | None = None
    commit_time: datetime | None = None
    provenance_unknown: str | None = None  # why commit and author are not known (shallow)
    git_revision: str | None = None  # the jobs directory's commit the pass reconciled

    def with_provenance(self, provenance: Provenance | None) -> AuditRecord:
        """This record with the job file's commit, author and commit time filled in."""
        if provenance is None:
            return self
        values = asdict(self) | {
            "git_commit": provenance.commit,
            "git_author": provenance.author,
            "commit_time": provenance.commit_time,
            "provenance_unknown": provenance.unknown,
        }
        return AuditRecord(**values)

    def to_json_line(self) -> bytes:
        document: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            document[_camel(item.name)] = rfc3339(value) if isinstance(value, datetime) else value
        return orjson.dumps(document) + b"\n"

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> AuditRecord:
        values: dict[str, Any] = {}
        for item in fields(cls):
            value = document.get(_camel(item.name))
            if item.name in ("time", "commit_time") and value is not None:
                value = parse_rfc3339(value)
            values[item.name] = value
        missing = [name for name in _REQUIRED if not values[name]]
        if missing:
            raise ValueError(f"audit line without {', '.join(missing)}")
        values["reason"] = values["reason"] or ""
        values["operator_instance"] = values["operator_instance"] or ""
        return cls(**values)


_REQUIRED = ("time", "job", "action")


class AuditTrail:
    """Appends records to one JSONL file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = AppendOnlyFile(path)

    def record(self, record: AuditRecord) -> None:
        """Append one record and fsync before returning: the trail is the evidence."""
        self._file.append(record.to_json_line(), sync=True)

    def close(self) -> None:
        self._file.close()


def read_trail(path: Path) -> Iterator[AuditRecord]:
    """Every record in file order (oldest first); a torn or foreign line is skipped."""
    if not path.exists():
        return
    with path.open("rb") as lines:
        for line in lines:
            if not line.endswith(b"\n"):
                return  # torn by a crash mid-write
            try:
                yield AuditRecord.from_json(orjson.loads(line))
            except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError):
                continue


def read_history(path: Path, job: str) -> list[AuditRecord]:
    """The trail of one job, newest last (what `tuning-operator history NAME` prints)."""
    return [record for record in read_trail(path) if record.job == job]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
