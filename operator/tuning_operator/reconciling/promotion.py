"""The executor of the `promote` action, and the alias records it keeps.

An alias has no job record, so its action (`job` None, `file` = `team/alias`) is not in the
job executors' table (`executors.py`): the reconciler hands the pass's plan here after the job
actions, and the alias records travel in the operator's memory beside the job records.

The alias planner (`planning/aliases.py`) decides; this module carries a move out: one
MergeVersionAliases onto the new version and, when the alias was on a version of another
Model, one `-alias` there (within one Model Vertex moves an alias by itself). The new one goes
first, so applications never find the name on no model; a crash in between leaves the old
record, and the next pass sends the (idempotent) pair again. A hold is written onto the
record and, for an alias that points somewhere, onto its object (`no longer passing` when its
job's verdict turned failed). Events come from a diff of the records against what was last told,
as for jobs (`notify`): a moved alias is one `alias.promoted.v1`, a new hold reason one
`alias.held.v1`, a removal one `alias.removed.v1`; nothing is told twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import replace
from typing import Any, Protocol

import structlog

from tuning_operator.errors import NotFound, OperatorError, TemporaryError
from tuning_operator.events.model import (
    ALIAS_HELD_TYPE,
    ALIAS_PROMOTED_TYPE,
    ALIAS_REMOVED_TYPE,
)
from tuning_operator.planning.alias_model import AliasMove
from tuning_operator.planning.planner import Action, ActionKind, Plan
from tuning_operator.state.records import AliasRecord, alias_to_json


class AliasModels(Protocol):
    """What a promotion needs of the Model Registry (`vertex/models.py`, or a test fake)."""

    def merge_aliases(self, version: str, aliases: Sequence[str]) -> list[str]: ...


class AliasPublisher(Protocol):
    """The alias objects of the artifacts bucket (`state/alias_objects.py`)."""

    def publish(self, key: str, record: AliasRecord) -> None: ...

    def remove(self, key: str) -> None: ...


class AliasTeller(Protocol):
    """Where alias events and audit lines go (`EventRecorder`)."""

    def alias(self, record: AliasRecord, *, key: str, type: str, reason: str,
              details: Mapping[str, Any]) -> None: ...

    def alias_action(self, record: AliasRecord, *, key: str, action: str,
                     reason: str) -> None: ...


def _sooner(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _model(version: str | None) -> str | None:
    return version.partition("@")[0] if version else None


class Promotions:
    """Executes a pass's alias steps; owns the alias records between passes."""

    def __init__(self, *, models: AliasModels, teller: AliasTeller,
                 author_of: Callable[[str], str | None], clock: Callable[[], float],
                 objects: AliasPublisher | None = None) -> None:
        self._models = models
        self._objects = objects  # with --artifacts: one object per alias for applications
        self._teller = teller
        self._author_of = author_of  # alias file (relative path) → the git author, if any
        self._clock = clock
        self.records: dict[str, AliasRecord] = {}
        self._told: dict[str, AliasRecord] = {}
        self.log = structlog.get_logger("tuning_operator.promotion")

    def load(self, records: Mapping[str, AliasRecord]) -> None:
        """Start from the stored records: what they say has been told."""
        self.records, self._told = dict(records), dict(records)

    def apply(self, result: Plan, *, revision: str | None,
              still_leader: Callable[[], bool]) -> float | None:
        """Carry out the promotions and removals, note holds and waits; a retry delay when a
        call failed (the record then stays as it was, and the next pass plans it again)."""
        retry: float | None = None
        held = {a.file: a for a in result.holding
                if a.kind == ActionKind.PROMOTE and a.job is None and a.file}
        for action in result.actions:
            if action.alias is not None:
                if not still_leader():
                    return 5.0
                retry = _sooner(retry, self._move(action, action.alias, revision=revision))
        for key, record in list(self.records.items()):  # a hold lasts while the plan says so
            if record.hold is not None and key not in held:
                retry = _sooner(retry, self._note(key, replace(record, hold=None)))
        for key, hold in held.items():
            record = self.records.get(key) or AliasRecord(alias=key.partition("/")[2],
                                                          team=hold.team or "")
            retry = _sooner(retry, self._note(key, replace(record, hold=hold.reason)))
        return retry

    def _note(self, key: str, record: AliasRecord) -> float | None:
        """A hold begun, changed or ended: onto the record and, for an alias that points
        somewhere, onto its object, so applications see a model that no longer passes. A
        failed write keeps the old record: the next pass notes it again."""
        if record == self.records.get(key):
            return None
        if self._objects is not None and record.model_version:
            try:
                self._objects.publish(key, record)
            except OperatorError as exc:
                self.log.warning("alias_object_failed", alias=key, error=str(exc))
                return exc.retry_after if isinstance(exc, TemporaryError) else 30.0
        self.records[key] = record
        return None

    def _move(self, action: Action, move: AliasMove, *, revision: str | None) -> float | None:
        old = self.records.get(move.key) or AliasRecord(alias=move.alias, team=action.team or "")
        previous = move.previous
        try:
            if move.remove:
                self._teller.alias_action(old, key=move.key, action="alias-remove",
                                          reason=action.reason)
                if previous is not None:
                    self._take_off(previous.model_version, move.alias)
                if self._objects is not None:
                    self._objects.remove(move.key)
                self.records.pop(move.key, None)
                return None
            assert move.model_version is not None
            self._teller.alias_action(old, key=move.key, action="promote", reason=action.reason)
            self._models.merge_aliases(move.model_version, [move.alias])
            if previous is not None and _model(previous.model_version) != _model(
                    move.model_version):
                self._take_off(previous.model_version, move.alias)
            path = move.path
            record = AliasRecord(
                alias=move.alias, team=action.team or old.team, job=move.job,
                model_version=move.model_version, checkpoint=move.checkpoint,
                endpoint=move.endpoint, gate=move.gate, since=self._clock(),
                previous_job=previous.job if previous else None,
                previous_model_version=previous.model_version if previous else None,
                git_author=self._author_of(path) if path else None, git_revision=revision,
                path=path)
            if self._objects is not None:
                self._objects.publish(move.key, record)
        except OperatorError as exc:
            self.log.warning("promotion_failed", alias=move.key, error=str(exc))
            return exc.retry_after if isinstance(exc, TemporaryError) else 30.0
        self.records[move.key] = record
        return None

    def _take_off(self, version: str, alias: str) -> None:
        with suppress(NotFound):  # the version is gone: so is its alias
            self._models.merge_aliases(version, [f"-{alias}"])

    def tell(self) -> None:
        """One event per moved alias, new hold reason and removal since the last tell."""
        for key, record in sorted(self.records.items()):
            before = self._told.get(key)
            details = {k: v for k, v in alias_to_json(record).items() if k != "since"}
            target = (record.job, record.model_version, record.checkpoint)
            if record.model_version and (before is None or target != (
                    before.job, before.model_version, before.checkpoint)):
                was = f", was {record.previous_job}" if record.previous_job else ""
                self._teller.alias(record, key=key, type=ALIAS_PROMOTED_TYPE,
                                   reason=f"{record.alias} → {record.job}{was}",
                                   details=details)
            if record.hold and (before is None or before.hold != record.hold):
                self._teller.alias(record, key=key, type=ALIAS_HELD_TYPE, reason=record.hold,
                                   details=details)
        for key in sorted(self._told.keys() - self.records.keys()):
            gone = self._told[key]
            self._teller.alias(gone, key=key, type=ALIAS_REMOVED_TYPE,
                               reason="the alias file was removed",
                               details={k: v for k, v in alias_to_json(gone).items()
                                        if k != "since"})
        self._told = dict(self.records)
