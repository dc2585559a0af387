"""The operator's status store: per job, what it last saw and did, behind fetch / store / purge.

Vertex is the source of truth for what exists; this store holds what Vertex cannot: the phase
the operator reported, when a job was first seen (admission order), the last valid spec of a
file (so removing it is judged by what it said), create intents (so a create whose outcome
is unknown is never sent twice before a List has had the chance to show it), and the backoff
and recovery fence that gate the next plan. Writes are atomic
(temp file, fsync, rename): a kill -9 leaves the old or the new file, never half of one.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from tuning_operator.planning.model import DataStats, TuningEvaluationRun
from tuning_operator.state import records as stored
from tuning_operator.state.during_tuning import during_tuning_from_json, during_tuning_to_json
from tuning_operator.state.memory import OperatorMemory as OperatorMemory  # noqa: PLC0414
from tuning_operator.state.records import (
    Evaluation,
    Lineage,
    PreflightEstimate,
    SmokeTestResult,
)

if TYPE_CHECKING:  # `plan` without a state directory imports no judging (issue 31, P7)
    from tuning_operator.judging.curves import Checkpoint
    from tuning_operator.judging.diagnosis import Diagnosis


class _Tracked:
    """The slot of a record's `_changed` mark: not a field, so never stored or compared."""

    __slots__ = ("_changed",)


@dataclass(slots=True)  # slots: the operator holds one record per job, 10,000s of them
class JobRecord(_Tracked):
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
    last_error: str | None = None  # the operator's own (e.g. create outcome unknown)
    vertex_error: str | None = None  # what Vertex says of the job, refreshed every pass
    tuned_model: str | None = None
    endpoint: str | None = None
    create_intent_at: float | None = None  # a create was sent; no List has shown it yet
    stalled_spec: str | None = None  # Vertex refused this spec hash for good
    stalled_reason: str | None = None
    file_removed_at: float | None = None  # the file is gone and its removal was acted on
    updated: float = 0.0
    history: list[str] = field(default_factory=list)  # phases seen, oldest first
    # Phase changes told, ever (history keeps only the last ones): the number of the last
    # transition, which its event's id includes, so two alike transitions have two ids.
    transitions: int = 0
    experiment: str | None = None  # the job's Vertex AI Experiment (its metrics)
    checkpoints: tuple[Checkpoint, ...] = ()  # Vertex's, by step, refreshed every pass
    metrics_read_at: float | None = None
    metrics_final: bool = False  # the curves were read once after the job ended
    smoke_test: SmokeTestResult | None = None  # the tuned endpoint answered, or why not
    diagnosis: Diagnosis | None = None  # the loss curves' verdict
    evaluation: Evaluation | None = None  # the tuned model's evaluation and gate
    data_stats: DataStats | None = None  # Vertex's tuning_data_stats, when it reported
    preflight: PreflightEstimate | None = None  # the dataset pre-flight's word at the create
    last_applied_revision: str | None = None  # the jobs directory's commit last reconciled
    evaluation_set_generation: str | None = None  # a gs:// set's generation last read
    lineage: Lineage | None = None  # the parent it was created from (preTunedModel)
    # Vertex's evaluation of each checkpoint during tuning, refreshed every pass
    during_tuning: tuple[TuningEvaluationRun, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobRecord:
        values = {k: v for k, v in data.items() if k in _FIELD_NAMES}
        values.setdefault("transitions", len(values.get("history") or ()))  # older records
        for key, (load, _) in _SUB_RECORDS.items():
            values[key] = load(values.get(key))
        return cls(**values)

    def __setattr__(self, name: str, value: Any) -> None:
        # Remember that something changed, so an unchanged store is not rewritten every pass.
        if name == "_changed" or getattr(self, name, _UNSET) != value:
            object.__setattr__(self, name, value)
            object.__setattr__(self, "_changed", name != "_changed" or value)

    def to_dict(self) -> dict[str, Any]:
        """The stored form: plain JSON values, sub-records with the keys version 1 wrote."""
        document = {name: getattr(self, name) for name in _FIELDS}
        for key, (_, dump) in _SUB_RECORDS.items():
            if document[key] is not None:
                document[key] = dump(document[key])
        return document


_UNSET = object()
_FIELDS = tuple(f.name for f in fields(JobRecord))
_FIELD_NAMES = frozenset(_FIELDS)


def _by_fields(kind: type[Any]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """Load and dump a sub-record stored as an object of its own fields."""
    names = tuple(f.name for f in fields(kind))  # in order: the stored key order

    def load(value: Any) -> Any:
        if isinstance(value, kind):
            return value
        if not isinstance(value, Mapping):
            return None
        try:
            return kind(**{k: v for k, v in value.items() if k in names})
        except TypeError:  # a field missing: dropped (Vertex's figures are read again)
            return None

    return load, lambda value: {name: getattr(value, name) for name in names}


# Typed sub-records as (load, dump): the stored form has the keys version 1 wrote; a damaged
# sub-record loads as None (or no checkpoints), never making the whole record unreadable.
_SUB_RECORDS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "data_stats": _by_fields(DataStats),
    "preflight": _by_fields(PreflightEstimate),
    "checkpoints": (stored.checkpoints_from_json, stored.checkpoints_to_json),
    "smoke_test": (stored.smoke_test_from_json, stored.smoke_test_to_json),
    "diagnosis": (stored.diagnosis_from_json, stored.diagnosis_to_json),
    "evaluation": (stored.evaluation_from_json, stored.evaluation_to_json),
    "lineage": (stored.lineage_from_json, stored.lineage_to_json),
    "during_tuning": (during_tuning_from_json, during_tuning_to_json),
}


def changed(record: JobRecord) -> bool:
    """Whether the record changed since a store last wrote it (new records have)."""
    return bool(getattr(record, "_changed", True))


class StatusStore(Protocol):
    """Where job records live; swap the backend without touching the reconciler."""

    memory: OperatorMemory  # as of the last fetch

    def fetch(self) -> dict[str, JobRecord]: ...

    def store(self, records: Mapping[str, JobRecord],
              memory: OperatorMemory | None = None) -> None: ...

    def purge(self, name: str) -> None: ...

    def note_intents(self, names: Sequence[str], at: float) -> None:
        """Make create intents durable at once (one fsync), without rewriting every record."""


class FileStatusStore:
    """All records in one JSON file, plus an append-only log of create intents since.

    Rewriting every record before each create would make a pass of N creates cost N² bytes of
    writes; an intent is one fsync'd line instead, folded into the records at the next store.
    A file that cannot be read is moved aside (never deleted, never crash-looped on) and
    `recovered` says why: create intents may be lost with it, so the operator then fences every
    create until a List taken after the fence window could show what an earlier create did.
    """

    FILE = "status.json"
    INTENTS = "intents.jsonl"
    RECOVERY = "recovery.json"  # left when the state was lost: the next start fences creates

    def __init__(self, state_dir: str | os.PathLike[str], *, recover: bool = False) -> None:
        """`recover`: the operator moves unreadable files aside; readers only report them."""
        self.dir = Path(state_dir)
        self._recover = recover
        self.path = self.dir / self.FILE
        self.intents = self.dir / self.INTENTS
        self._written: set[str] | None = None  # names last written; None: nothing yet
        self.recovered: str | None = None
        self.memory = OperatorMemory()

    def fetch(self) -> dict[str, JobRecord]:
        raw = self._read_document()
        records = {}
        for name, data in raw.get("jobs", {}).items():
            try:
                records[name] = JobRecord.from_dict(data)
            except (TypeError, ValueError) as exc:
                self._broken(f"record {name!r} in {self.path} is unreadable ({exc})")
        try:
            self.memory = OperatorMemory.from_dict(raw)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            self.memory = OperatorMemory()
            self._broken(f"the backoff and fence in {self.path} are unreadable ({exc!r})")
        for name, at in self._read_intents():
            records.setdefault(name, JobRecord(name=name, first_seen=at)).create_intent_at = at
        try:
            note = json.loads((self.dir / self.RECOVERY).read_text(encoding="utf-8"))
            self.recovered = self.recovered or str(note.get("why", "the state was lost"))
        except (OSError, ValueError, AttributeError):
            pass
        return records

    def note_lost(self, why: str) -> None:
        """Leave word for the next start that the state was lost (it fences every create)."""
        write_atomically(self.dir / self.RECOVERY, json.dumps({"why": why}))

    def _read_document(self) -> dict[str, Any]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict) or not isinstance(raw.get("jobs", {}), dict):
                raise ValueError("not a status document")
            return raw
        except FileNotFoundError:
            return {}
        except (ValueError, UnicodeDecodeError) as exc:
            self._broken(f"{self.path} is unreadable ({exc})", move=self.path)
            return {}
        except OSError as exc:  # a directory, no permission: reported, never moved or deleted
            self._broken(f"{self.path} cannot be read ({exc.strerror or exc}); it must be the"
                         " operator's status file: move whatever is there aside")
            return {}

    def _broken(self, why: str, *, move: Path | None = None) -> None:
        if move is not None and self._recover:
            aside = move.with_name(f"{move.name}.broken-{time.strftime('%Y%m%dT%H%M%S')}")
            os.replace(move, aside)
            why += f"; moved aside to {aside.name}"
        self.recovered = why if self.recovered is None else f"{self.recovered}; {why}"

    def store(self, records: Mapping[str, JobRecord],
              memory: OperatorMemory | None = None) -> None:
        memory = self.memory if memory is None else memory
        dirty = any(changed(r) for r in records.values()) or memory != self.memory
        if not dirty and set(records) == self._written and not self.intents.exists():
            return  # nothing changed since the last write: no rewrite, no fsync
        # Version 2 adds the operator's memory beside the records; version 1 files read as is.
        document = {"version": 2, **memory.to_dict(),
                    "jobs": {n: r.to_dict() for n, r in sorted(records.items())}}
        write_atomically(self.path, orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        self.intents.unlink(missing_ok=True)
        (self.dir / self.RECOVERY).unlink(missing_ok=True)
        self._written = set(records)
        self.memory = memory
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
            lines = self.intents.read_bytes().split(b"\n")
        except FileNotFoundError:
            return []
        except OSError as exc:
            self._broken(f"{self.intents} cannot be read ({exc.strerror or exc})")
            return []
        intents, bad = [], 0
        for line in lines[:-1]:  # after the last newline: a line torn by a crash, never sent
            try:
                entry = json.loads(line)
                intents.append((str(entry["job"]), float(entry["at"])))
            except (ValueError, KeyError, TypeError):
                bad += 1
        if bad:
            self._broken(f"{bad} unreadable line(s) in {self.intents}", move=self.intents)
        return intents

    def purge(self, name: str) -> None:
        records = self.fetch()
        if records.pop(name, None) is not None:
            self.store(records)


class MemoryStatusStore:
    """For unit tests: the same interface, kept in memory."""

    def __init__(self) -> None:
        self.records: dict[str, JobRecord] = {}
        self.memory = OperatorMemory()

    def fetch(self) -> dict[str, JobRecord]:
        return {n: JobRecord.from_dict(r.to_dict()) for n, r in self.records.items()}

    def store(self, records: Mapping[str, JobRecord],
              memory: OperatorMemory | None = None) -> None:
        self.records = {n: JobRecord.from_dict(r.to_dict()) for n, r in records.items()}
        self.memory = self.memory if memory is None else memory
        for record in records.values():
            record._changed = False

    def purge(self, name: str) -> None:
        self.records.pop(name, None)

    def note_intents(self, names: Sequence[str], at: float) -> None:
        for name in names:
            self.records.setdefault(name, JobRecord(name=name, first_seen=at)).create_intent_at = at


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so a crash leaves either the old or the new content."""
    import tempfile  # here: `plan` reads no store (issue 31, P7)

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
