"""`checkpoints: all`: the best checkpoint by the gate's first metric, every one's figures kept."""

from __future__ import annotations

from collections.abc import Callable

from tuning_operator.judging.asking import best_by_evaluation
from tuning_operator.judging.curves import Checkpoint
from tuning_operator.judging.diagnosis import Diagnosis
from tuning_operator.reconciling.checkpoints import evaluate_checkpoints
from tuning_operator.reconciling.inputs import best_checkpoint
from tuning_operator.state.records import CheckpointEvaluation, Evaluation, MetricFigures
from tuning_operator.state.store import JobRecord

CHECKPOINTS = tuple(Checkpoint(str(e), epoch=e, step=10 * e, endpoint=f"projects/p/locations/l/"
                               f"endpoints/{e}") for e in (3, 1, 2))


def run_with(scores: dict[str, float],
             pending: str | None = None) -> tuple[Callable[[str, str], Evaluation], list[str]]:
    """A stand-in evaluation per checkpoint, scoring `scores`, and the checkpoints it asked."""
    asked: list[str] = []

    def run(endpoint: str, checkpoint: str) -> Evaluation:
        asked.append(checkpoint)
        if checkpoint == pending:
            return Evaluation(verdict="pending", reason="3 of 6 examples answered")
        value = scores[checkpoint]
        return Evaluation(verdict="passed" if value >= 0.8 else "failed", reason=f"em {value}",
                          metrics={"exactMatch": MetricFigures(tuned=value)},
                          checkpoint=checkpoint)
    return run, asked


def test_the_best_checkpoint_wins_not_the_last() -> None:
    """Checkpoints are asked in step order; the middle one scores best and its verdict counts."""
    run, asked = run_with({"1": 0.5, "2": 1.0, "3": 0.5})
    result = evaluate_checkpoints(run, CHECKPOINTS, metric="exactMatch")
    assert asked == ["1", "2", "3"]
    assert (result.verdict, result.checkpoint) == ("passed", "2")
    assert [(c.checkpoint, c.step, c.verdict) for c in result.checkpoints] == [
        ("1", 10, "failed"), ("2", 20, "passed"), ("3", 30, "failed")]
    assert result.reason.endswith("(checkpoint 2 chosen by exactMatch: 1 0.500, 2 1.000,"
                                  " 3 0.500)")


def test_a_tie_goes_to_the_later_checkpoint() -> None:
    """Equal scores: the later checkpoint is chosen."""
    assert best_by_evaluation([("1", 0.9), ("2", 0.9), ("3", None)]) == "2"


def test_a_pending_checkpoint_makes_the_evaluation_pending() -> None:
    """The rest waits: nothing after the pending checkpoint is asked in this batch."""
    run, asked = run_with({"1": 0.5}, pending="2")
    result = evaluate_checkpoints(run, CHECKPOINTS, metric="exactMatch")
    assert result.verdict == "pending" and asked == ["1", "2"]
    assert result.reason.startswith("checkpoint 2: ")


def test_best_means_the_evaluations_choice_once_it_evaluated_every_checkpoint() -> None:
    """A child's `checkpoint: best` follows the parent's evaluation when it chose among all its
    checkpoints; otherwise the diagnosis of the curves."""
    record = JobRecord(name="parent", first_seen=0.0)
    record.diagnosis = Diagnosis(verdict="overfitting", reason="", mitigation="",
                                 best_checkpoint=CHECKPOINTS[1])
    assert best_checkpoint(record) == "1"
    record.evaluation = Evaluation(verdict="passed", reason="", checkpoint="2", checkpoints=(
        CheckpointEvaluation(checkpoint="1", verdict="failed"),
        CheckpointEvaluation(checkpoint="2", verdict="passed")))
    assert best_checkpoint(record) == "2"
    record.evaluation = Evaluation(verdict="pending", reason="", checkpoints=())
    assert best_checkpoint(record) == "1"
