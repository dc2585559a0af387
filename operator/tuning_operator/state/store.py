"""The operator's status store: per job, what it last saw and did, behind fetch / store / purge.

Vertex is the source of truth for what exists; this store holds what Vertex cannot: the phase
the operator reported, when a job was first seen (admission order), the last valid spec of a
file (so removing it is judged by what it said), and create intents (so a create whose outcome
is unknown is never sent twice before a List has had the chance to show it). Writes are atomic
(temp file, fsync, rename): a kill -9 leaves the old or the new file, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import orjson


@dataclass
class JobRecord:
    """What the operator knows about one job name."""

    name: str
    first_seen: float
    team: str | None = None
    path: str | None = None
    region: str | None = None
    phase: str | None = None
    reason: str | None = None
    vertex_name: str | None = None
    vertex_state: str | None = None
    spec_hash: str | None = None
    on_delete: str = "Orphan"
    last_error: str | None = None
    tuned_model: str | None = None
    endpoint: str | None = None
    create_intent_at: float | None = None  # a create was sent; no List has shown it yet
    stalled_spec: str | None = None  # Vertex refused this spec hash for good
    updated: float = 0.0
    history: list[str] = field(default_factory=list)  # phases seen, oldest first
    last_applied_revision: str | None = None  # the jobs directory's commit last reconciled

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def __setattr__(self, name: str, value: Any) -> None:
        # Remember that something changed, so an unchanged store is not rewritten every pass.
        if name == "_changed" or getattr(self, name, _UNSET) != value:
            object.__setattr__(self, name, value)
            object.__setattr__(self, "_changed", name != "_changed" or value)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}


_UNSET = object()
_FIELDS = tuple(f.name for f in fields(JobRecord))


def _changed(record: JobRecord) -> bool:
    return bool(getattr(record, "_changed", True))


class StatusStore(Protocol):
    """Where job records live; swap the backend without touching the reconciler."""

    def fetch(self) -> dict[str, JobRecord]: ...

    def store(self, records: Mapping[str, JobRecord]) -> None: ...

    def purge(self, name: str) -> None: ...

    def note_intents(self, names: Sequence[str], at: float) -> None:
        """Make create intents durable at once (one fsync), without rewriting every record."""


class FileStatusStore:
    """All records in one JSON file, plus an append-only log of create intents since.

    Rewriting every record before each create would make a pass of N creates cost N² bytes of
    writes; an intent is one fsync'd line instead, folded into the records at the next store.
    """

    FILE = "status.json"
    INTENTS = "intents.jsonl"

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.dir = Path(state_dir)
        self.path = self.dir / self.FILE
        self.intents = self.dir / self.INTENTS
        self._written: set[str] | None = None  # names last written; None: nothing yet

    def fetch(self) -> dict[str, JobRecord]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raw = {}
        records = {name: JobRecord.from_dict(data) for name, data in raw.get("jobs", {}).items()}
        for name, at in self._read_intents():
            records.setdefault(name, JobRecord(name=name, first_seen=at)).create_intent_at = at
        return records

    def store(self, records: Mapping[str, JobRecord]) -> None:
        dirty = any(_changed(r) for r in records.values())
        if not dirty and set(records) == self._written and not self.intents.exists():
            return  # nothing changed since the last write: no rewrite, no fsync
        document = {"version": 1, "jobs": {n: r.to_dict() for n, r in sorted(records.items())}}
        write_atomically(self.path, orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        self.intents.unlink(missing_ok=True)
        self._written = set(records)
        for record in records.values():
            record._changed = False

    def note_intents(self, names: Sequence[str], at: float) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        line = "".join(json.dumps({"job": name, "at": at}) + "\n" for name in names)
        fd = os.open(self.intents, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def _read_intents(self) -> list[tuple[str, float]]:
        try:
            lines = self.intents.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        intents = []
        for line in lines:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by a crash: its create was never sent
            intents.append((str(entry["job"]), float(entry["at"])))
        return intents

    def purge(self, name: str) -> None:
        records = self.fetch()
        if records.pop(name, None) is not None:
            self.store(records)


class MemoryStatusStore:
    """For unit tests: the same interface, kept in memory."""

    def __init__(self) -> None:
        self.records: dict[str, JobRecord] = {}

    def fetch(self) -> dict[str, JobRecord]:
        return {n: JobRecord.from_dict(asdict(r)) for n, r in self.records.items()}

    def store(self, records: Mapping[str, JobRecord]) -> None:
        self.records = {n: JobRecord.from_dict(asdict(r)) for n, r in records.items()}

    def purge(self, name: str) -> None:
        self.records.pop(name, None)

    def note_intents(self, names: Sequence[str], at: float) -> None:
        for name in names:
            self.records.setdefault(name, JobRecord(name=name, first_seen=at)).create_intent_at = at


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so a crash leaves either the old or the new content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
