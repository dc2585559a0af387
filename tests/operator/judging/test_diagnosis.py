"""Seed 004's diagnosis: each case names the curves and the verdict they must get."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest

from tuning_operator.judging import Checkpoint, Curves, Diagnosis, best_checkpoint, diagnose
from tuning_operator.judging.curves import TAGS, Point

Shape = Callable[[float], float]


def series(shape: Shape, steps: int = 60, *, noise: float = 0.0, seed: int = 1) -> list[Point]:
    """`shape` sampled at steps 1..steps (t from 0 to 1), times (1 ± noise) drawn evenly."""
    rng = random.Random(seed)
    return [Point(s, shape((s - 1) / max(1, steps - 1)) * (1 + rng.uniform(-noise, noise)))
            for s in range(1, steps + 1)]


def curves(train: Shape, evals: Shape | None, steps: int = 60, *, noise: float = 0.0,
           eval_steps: int | None = None) -> Curves:
    found = {"/train_total_loss": tuple(series(train, steps, noise=noise, seed=1))}
    if evals is not None:
        found["/eval_total_loss"] = tuple(series(evals, eval_steps or steps, noise=noise, seed=2))
    return Curves(found)


def falls_and_flattens(start: float, floor: float) -> Shape:
    return lambda t: floor + (start - floor) * math.exp(-t / 0.12)


def falls_then_rises(t: float) -> float:
    return 0.6 + 1.8 * math.exp(-t / 0.12) + 1.2 * max(0.0, t - 0.4) ** 1.5


def still_falling(start: float, slope: float) -> Shape:
    return lambda t: start - slope * t


HEALTHY_TRAIN, HEALTHY_EVAL = falls_and_flattens(2.4, 0.4), falls_and_flattens(2.4, 0.5)
OVERFIT_TRAIN = falls_and_flattens(2.4, 0.2)
DATA_PROBLEM = falls_and_flattens(14.5, 1.5)

CASES = {
    "healthy: both fall and flatten": (curves(HEALTHY_TRAIN, HEALTHY_EVAL), "healthy"),
    "healthy with 4 % noise": (curves(HEALTHY_TRAIN, HEALTHY_EVAL, noise=0.04), "healthy"),
    "healthy, validation every 5th step": (
        curves(HEALTHY_TRAIN, HEALTHY_EVAL, eval_steps=12), "healthy"),
    "overfit: validation falls then rises": (
        curves(OVERFIT_TRAIN, falls_then_rises), "overfitting"),
    "overfit with 5 % noise": (curves(OVERFIT_TRAIN, falls_then_rises, noise=0.05), "overfitting"),
    "overfit: validation far above training": (
        curves(falls_and_flattens(2.0, 0.3), falls_and_flattens(2.0, 1.2)), "overfitting"),
    "underfit: both still falling steeply": (
        curves(still_falling(3.0, 1.6), still_falling(3.2, 1.5)), "underfitting"),
    "underfit with 3 % noise": (
        curves(still_falling(3.0, 1.6), still_falling(3.2, 1.5), noise=0.03), "underfitting"),
    "underfit: only training still falling": (
        curves(still_falling(3.0, 1.6), falls_and_flattens(3.0, 1.6)), "underfitting"),
    "data problem: initial training loss above 10": (
        curves(DATA_PROBLEM, DATA_PROBLEM), "data-problem"),
    "data problem, first three points, no validation": (
        Curves({"/train_total_loss": tuple(series(DATA_PROBLEM)[:3])}), "data-problem"),
    "too few training points": (curves(HEALTHY_TRAIN, HEALTHY_EVAL, steps=5), "inconclusive"),
    "no validation series": (curves(HEALTHY_TRAIN, None), "inconclusive"),
    "too few validation points": (
        curves(HEALTHY_TRAIN, HEALTHY_EVAL, eval_steps=3), "inconclusive"),
    "both losses rise after a minimum": (
        curves(falls_then_rises, falls_then_rises), "inconclusive"),
    "nothing at all": (Curves(), "inconclusive"),
}


@pytest.mark.parametrize("name", CASES)
def test_verdict_table(name: str) -> None:
    """Each table row's curves get the verdict seed 004 gives them."""
    given, verdict = CASES[name]
    assert diagnose(given).verdict == verdict, diagnose(given).reason


def test_single_spikes_do_not_change_the_verdict() -> None:
    """A lone spike at the start of training or at the end of validation is smoothed away."""
    train = [*series(HEALTHY_TRAIN)]
    evals = [*series(HEALTHY_EVAL)]
    train[0] = Point(1, 40.0)
    evals[-1] = Point(60, 3.0)
    result = diagnose(Curves({"/train_total_loss": tuple(train), "/eval_total_loss": tuple(evals)}))
    assert result.verdict == "healthy", result.reason


def test_no_validation_reason_says_why() -> None:
    """Without validation the reason names the missing series and the training trend."""
    result = diagnose(curves(still_falling(3.0, 1.6), None))
    assert "no validation series" in result.reason and "still falling" in result.reason
    assert "validation dataset" in result.mitigation


def test_data_problem_points_at_truncation_and_the_preflight() -> None:
    """A data problem's reason and mitigation say truncation and name the pre-flight warning."""
    result = diagnose(curves(DATA_PROBLEM, DATA_PROBLEM))
    assert "truncated" in result.reason and "pre-flight" in result.mitigation


@pytest.mark.parametrize("verdict", ["overfitting", "underfitting", "healthy"])
def test_every_verdict_carries_the_seed_mitigation(verdict: str) -> None:
    """Overfitting says fewer epochs, underfitting more epochs or learning rate."""
    words = {"overfitting": "fewer|Reduce the number of epochs", "underfitting": "learning-rate",
             "healthy": "None"}[verdict]
    given = next(c for c, v in CASES.values() if v == verdict)
    mitigation = diagnose(given).mitigation
    assert any(word in mitigation for word in words.split("|"))


EPOCHS = tuple(Checkpoint(str(e), e, e * 12, f"projects/p/locations/l/endpoints/{e}")
               for e in range(1, 6))


def test_best_checkpoint_is_at_the_validation_minimum() -> None:
    """Overfit curves (minimum near step 26 of 60) choose the epoch-2 checkpoint at step 24."""
    given = curves(OVERFIT_TRAIN, falls_then_rises, noise=0.03)
    result = diagnose(given, EPOCHS)
    assert result.best_checkpoint == EPOCHS[1]
    assert "checkpoint 2 (epoch 2)" in result.reason


@pytest.mark.parametrize(
    ("given", "checkpoints", "expected"),
    [
        (curves(HEALTHY_TRAIN, None), EPOCHS, EPOCHS[-1]),
        (curves(HEALTHY_TRAIN, HEALTHY_EVAL), (), None),
        (Curves.of(eval_total_loss=[(10, 1.0), (20, 0.5), (30, 0.5), (40, 1.0)]),
         (Checkpoint("b", 2, 30), Checkpoint("a", 1, 20)), Checkpoint("a", 1, 20)),
        (Curves.of(eval_total_loss=[(10, 2.0), (20, 1.4), (30, 0.5), (40, 0.6), (50, 0.62)]),
         (Checkpoint("a", 1, 22), Checkpoint("b", 2, 39)), Checkpoint("b", 2, 39)),
    ],
    ids=["no validation: the last", "no checkpoints: none", "a tie: the earlier",
         "the lower loss, not the nearer step"],
)
def test_best_checkpoint_table(
    given: Curves, checkpoints: tuple[Checkpoint, ...], expected: Checkpoint | None
) -> None:
    """No validation: the last; no checkpoints: none; ties go earlier; loss beats nearness."""
    assert best_checkpoint(given, checkpoints) == expected


def test_to_dict_is_camel_case_with_final_losses() -> None:
    """The user-facing form has the one vocabulary: verdict … bestCheckpoint, final losses."""
    result = diagnose(curves(HEALTHY_TRAIN, HEALTHY_EVAL), EPOCHS)
    document = result.to_dict()
    assert set(document) == {"verdict", "reason", "mitigation", "bestCheckpoint",
                             "finalTrainLoss", "finalEvalLoss"}
    assert document["bestCheckpoint"] == {"id": "5", "epoch": 5, "step": 60,
                                          "endpoint": "projects/p/locations/l/endpoints/5"}
    assert document["finalTrainLoss"] == pytest.approx(HEALTHY_TRAIN(1.0))
    assert Diagnosis("inconclusive", "r", "m").to_dict()["bestCheckpoint"] is None


def test_curves_round_trip_through_their_json_form() -> None:
    """Curves and checkpoints survive the state directory's JSON form; order is by step."""
    given = Curves({tag: (Point(2, 0.5), Point(1, 1.5)) for tag in TAGS})
    assert given.get(TAGS[0])[0].step == 1
    assert Curves.from_dict(given.to_dict()) == given
    assert Checkpoint.from_dict(EPOCHS[0].to_dict()) == EPOCHS[0]
