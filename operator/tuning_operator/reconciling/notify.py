"""Events come from a diff: what the operator last told of each job against its record now.

Flux's controllers reconcile a copy of the object and let `notify(old, new)` decide what to
tell; so do we. Executors only change records (a phase and its reason, a diagnosis, an
evaluation); at the end of a pass, before the store is written, `notify` compares each record
with what was last told of it and records one transition per changed phase, one `diagnosed`
event per new curve verdict and one `evaluated` event per new final evaluation. Nothing is
told twice, and a pass that changed nothing tells nothing. What was told survives a restart
as the store itself (the records as last written), so a crash between the two re-tells with
the same deterministic event ids instead of losing a word.

Audit lines of the operator's own acts (a create, a cancel, a smoke test) are not diffs: each
is written before its request, so the trail shows what was attempted even if the process dies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tuning_operator.events.model import DIAGNOSED_TYPE, EVALUATED_TYPE
from tuning_operator.judging.curves import Checkpoint
from tuning_operator.state.records import Evaluation, diagnosis_to_json, evaluation_to_json
from tuning_operator.state.store import JobRecord

HISTORY_KEPT = 50  # phases remembered per record


class Teller(Protocol):
    def transition(self, record: JobRecord, *, previous: str | None, reason: str) -> None: ...

    def verdict(self, record: JobRecord, *, type: str, reason: str,
                details: Mapping[str, Any]) -> None: ...


class PhaseLog(Protocol):
    def info(self, event: str, **values: Any) -> Any: ...


@dataclass(frozen=True, slots=True)  # one kept per job
class Told:
    """What the events so far said of one job."""

    phase: str | None = None
    diagnosis: tuple[str, Checkpoint | None] | None = None  # (verdict, best checkpoint)
    evaluation: Evaluation | None = None  # the last final evaluation


def told_of(record: JobRecord) -> Told:
    """What a record as stored has already been told (a pending evaluation is not a verdict)."""
    diagnosis = record.diagnosis
    evaluation = record.evaluation
    return Told(phase=record.phase,
                diagnosis=(diagnosis.verdict, diagnosis.best_checkpoint) if diagnosis else None,
                evaluation=evaluation if evaluation is not None and evaluation.final else None)


def notify(told: Mapping[str, Told], records: Mapping[str, JobRecord], *, teller: Teller,
           clock: Callable[[], float], log: PhaseLog, generation: int) -> dict[str, Told]:
    """Tell what changed since `told`; returns what has been told now."""
    now: dict[str, Told] = {}
    for name, record in records.items():
        before = told.get(name, Told())
        after = told_of(record)
        if after.phase != before.phase and record.phase is not None:
            record.updated = clock()
            record.history = [*record.history[-(HISTORY_KEPT - 1):], record.phase]
            record.transitions += 1  # stored with the record: a re-told transition keeps it
            log.info("phase_changed", job=name, team=record.team, phase=record.phase,
                     previous=before.phase, reason=record.reason,
                     vertex_job=record.vertex_name, generation=generation)
            teller.transition(record, previous=before.phase, reason=record.reason or "")
        if record.diagnosis is not None and after.diagnosis != before.diagnosis:
            # The events carry the sub-records in their stored (camelCase) form.
            diagnosis = diagnosis_to_json(record.diagnosis)
            teller.verdict(record, type=DIAGNOSED_TYPE, reason=record.diagnosis.reason,
                           details={k: v for k, v in diagnosis.items() if k != "reason"})
        if after.evaluation is not None and after.evaluation != before.evaluation:
            result = evaluation_to_json(after.evaluation)
            teller.verdict(record, type=EVALUATED_TYPE, reason=after.evaluation.reason,
                           details={"evaluation": {k: v for k, v in result.items()
                                                   if k not in ("key", "reason")}})
        if after.evaluation is None and before.evaluation is not None:
            after = Told(after.phase, after.diagnosis, before.evaluation)  # pending again
        now[name] = after
    return now
