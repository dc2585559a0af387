"""notify(told, records): events come from the diff of what was told and what is, only."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import structlog

from tests.support.fake_vertex import RecordingRecorder
from tuning_operator.events.model import DIAGNOSED_TYPE, EVALUATED_TYPE
from tuning_operator.judging import Checkpoint, Diagnosis
from tuning_operator.reconciling.notify import Told, notify, told_of
from tuning_operator.state.records import Evaluation
from tuning_operator.state.store import JobRecord

LOG = structlog.get_logger("test")
FINAL = Evaluation(verdict="passed", reason="exactMatch 0.9 ≥ 0.8", key="k1", examples=20)
PENDING = Evaluation(verdict="pending", reason="3 of 20 examples answered", key="k1")
HEALTHY = Diagnosis(verdict="healthy", reason="falling", mitigation="None needed.")


def record(**fields: Any) -> JobRecord:
    return JobRecord(name="j", first_seen=0.0, **fields)


def tell(told: dict[str, Told], *records: JobRecord) -> tuple[RecordingRecorder, dict[str, Told]]:
    recorder = RecordingRecorder()
    now = notify(told, {r.name: r for r in records}, teller=recorder, clock=lambda: 42.0,
                 log=LOG, generation=1)
    return recorder, now


def test_a_new_phase_is_one_transition_with_its_previous_and_history() -> None:
    """None → Submitted, then Submitted → Running: one transition each, history kept."""
    job = record(phase="Submitted", reason="created on Vertex")
    recorder, told = tell({}, job)
    assert recorder.transitions == [("j", None, "Submitted")]
    assert (job.history, job.updated) == (["Submitted"], 42.0)
    job.phase = "Running"
    recorder, told = tell(told, job)
    assert recorder.transitions == [("j", "Submitted", "Running")]
    assert job.history == ["Submitted", "Running"]


def test_a_record_as_stored_tells_nothing_again() -> None:
    """A restart starts from the stored records: nothing unchanged is told twice."""
    job = record(phase="Succeeded", diagnosis=HEALTHY, evaluation=FINAL)
    recorder, _ = tell({"j": told_of(job)}, job)
    assert (recorder.transitions, recorder.verdicts) == ([], [])


def test_a_diagnosis_is_told_when_its_verdict_or_checkpoint_changes() -> None:
    """Same verdict and checkpoint with new losses: nothing; a new best checkpoint: one event."""
    job = record(phase="Running", diagnosis=replace(HEALTHY, final_train_loss=0.5))
    recorder, told = tell({"j": Told(phase="Running")}, job)
    assert [(t, d["verdict"]) for _, t, d in recorder.verdicts] == [(DIAGNOSED_TYPE, "healthy")]
    assert job.diagnosis is not None
    job.diagnosis = replace(job.diagnosis, final_train_loss=0.4)
    recorder, told = tell(told, job)
    assert recorder.verdicts == []
    job.diagnosis = replace(job.diagnosis, best_checkpoint=Checkpoint("2", epoch=2, step=40))
    recorder, told = tell(told, job)
    assert len(recorder.verdicts) == 1


def test_an_evaluation_is_told_once_final_and_again_only_when_it_changes() -> None:
    """Pending: nothing; final: one event without its key; pending again then the same: none."""
    job = record(phase="Succeeded", evaluation=PENDING)
    recorder, told = tell({"j": Told(phase="Succeeded")}, job)
    assert recorder.verdicts == []
    job.evaluation = FINAL
    recorder, told = tell(told, job)
    [(_, kind, details)] = recorder.verdicts
    assert kind == EVALUATED_TYPE
    assert details == {"evaluation": {"verdict": "passed", "examples": 20, "metrics": {},
                                      "checkpoint": None, "failures": []}}
    job.evaluation = PENDING
    recorder, told = tell(told, job)
    job.evaluation = FINAL
    recorder, told = tell(told, job)
    assert recorder.verdicts == []
    job.evaluation = replace(FINAL, key="k2")  # the evaluation set changed: a new verdict
    recorder, told = tell(told, job)
    assert len(recorder.verdicts) == 1


def test_a_diagnosis_event_carries_the_camelcase_words_of_status() -> None:
    """diagnosed.v1's data is the diagnosis as `status --format json` shows it, less its reason."""
    best = Checkpoint("3", epoch=3, step=60, endpoint="projects/p/locations/l/endpoints/3")
    job = record(phase="Succeeded", diagnosis=replace(
        HEALTHY, best_checkpoint=best, final_train_loss=0.4, final_eval_loss=0.5))
    recorder, _ = tell({"j": Told(phase="Succeeded")}, job)
    [(_, kind, details)] = recorder.verdicts
    assert kind == DIAGNOSED_TYPE
    assert details == {"verdict": "healthy", "mitigation": "None needed.",
                       "bestCheckpoint": {"id": "3", "epoch": 3, "step": 60,
                                          "endpoint": "projects/p/locations/l/endpoints/3"},
                       "finalTrainLoss": 0.4, "finalEvalLoss": 0.5}
