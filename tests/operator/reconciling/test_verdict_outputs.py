"""Verdicts reach every output: /metrics losses, `events tail` lines, the CloudEvent itself."""

from __future__ import annotations

from dataclasses import replace

from prometheus_client import generate_latest

from tuning_operator.cli.events import describe
from tuning_operator.events.model import DIAGNOSED_TYPE, StatusEvent
from tuning_operator.judging import Diagnosis
from tuning_operator.planning.model import Phase
from tuning_operator.reconciling.metrics import OperatorMetrics


def diagnosis(*, final_train_loss: float | None,
              final_eval_loss: float | None = None) -> Diagnosis:
    return Diagnosis(verdict="healthy", reason="", mitigation="",
                     final_train_loss=final_train_loss, final_eval_loss=final_eval_loss)


def test_last_losses_per_job_are_exported_and_forgotten_with_the_job() -> None:
    """Each diagnosed job's final losses are gauges; a job no longer recorded disappears."""
    metrics = OperatorMetrics()
    metrics.losses({"a": diagnosis(final_train_loss=0.4, final_eval_loss=0.5),
                    "b": diagnosis(final_train_loss=1.5, final_eval_loss=None)})
    text = generate_latest(metrics.registry).decode()
    assert 'tuning_operator_last_loss{job="a",series="validation"} 0.5' in text
    assert 'job="b",series="validation"' not in text
    metrics.losses({"b": diagnosis(final_train_loss=1.0)})
    assert 'job="a"' not in generate_latest(metrics.registry).decode()


def test_a_diagnosis_event_round_trips_and_reads_as_one_line() -> None:
    """diagnosed.v1: its own type and id, the verdict in the data, one readable line."""
    event = StatusEvent(job="j", phase=Phase.SUCCEEDED, type=DIAGNOSED_TYPE,
                        reason="validation rose 20 % above its minimum",
                        details={"verdict": "overfitting", "bestCheckpoint": {"id": "2"}})
    again = StatusEvent.from_structured(event.to_structured())
    assert replace(again, time=event.time) == event and again.event_id == event.event_id
    assert again.attributes()["ce-type"] == DIAGNOSED_TYPE
    assert "diagnosed: overfitting" in describe(again)
    other = StatusEvent(job="j", phase=Phase.SUCCEEDED, type=DIAGNOSED_TYPE,
                        details={"verdict": "healthy"})
    assert other.event_id != event.event_id
