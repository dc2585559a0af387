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
NAN, INF = math.nan, math.inf


def broken_from(shape: Shape, at: float, value: float) -> Shape:
    """`shape` until the share `at` of the steps, `value` (NaN, ±inf, a spike) from there on."""
    return lambda t: shape(t) if t < at else value


def negative_after(shape: Shape, at: float) -> Shape:
    return lambda t: shape(t) if t < at else -0.3

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
    "training turns NaN after a third": (
        curves(broken_from(HEALTHY_TRAIN, 1 / 3, NAN), broken_from(HEALTHY_EVAL, 1 / 3, NAN)),
        "diverged"),
    "only validation turns NaN": (
        curves(HEALTHY_TRAIN, broken_from(HEALTHY_EVAL, 0.5, NAN)), "diverged"),
    "NaN in the last point only": (
        curves(HEALTHY_TRAIN, broken_from(HEALTHY_EVAL, 1.0, NAN)), "diverged"),
    "all +inf": (curves(lambda t: INF, lambda t: INF), "diverged"),
    "-inf in training": (curves(broken_from(HEALTHY_TRAIN, 0.7, -INF), HEALTHY_EVAL), "diverged"),
    "NaN with too few points to judge otherwise": (
        Curves.of(train_total_loss=[(1, 2.0), (2, NAN)]), "diverged"),
    "NaN without validation": (curves(broken_from(HEALTHY_TRAIN, 0.5, NAN), None), "diverged"),
    "a data-problem start that turns NaN": (
        curves(broken_from(DATA_PROBLEM, 0.5, NAN), DATA_PROBLEM), "diverged"),
    "training explodes to 10× its running minimum": (
        curves(broken_from(HEALTHY_TRAIN, 0.6, 4.5), HEALTHY_EVAL), "diverged"),
    "validation explodes": (curves(HEALTHY_TRAIN, broken_from(HEALTHY_EVAL, 0.8, 6.0)),
                            "diverged"),
    "a 9× rise is not an explosion (overfit)": (
        curves(OVERFIT_TRAIN, broken_from(HEALTHY_EVAL, 0.6, 4.4)), "overfitting"),
    "tiny losses ×10 are noise, not an explosion": (
        curves(falls_and_flattens(0.2, 0.01), broken_from(falls_and_flattens(0.2, 0.012), 0.5,
                                                          0.2)), "overfitting"),
    "negative training loss": (
        curves(negative_after(HEALTHY_TRAIN, 0.5), HEALTHY_EVAL), "data-problem"),
    "negative validation loss from the start": (
        curves(HEALTHY_TRAIN, lambda t: -1.0 - t), "data-problem"),
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


@pytest.mark.parametrize("verdict", ["overfitting", "underfitting", "healthy", "diverged"])
def test_every_verdict_carries_the_seed_mitigation(verdict: str) -> None:
    """Overfitting says fewer epochs, underfitting more epochs or learning rate, diverged a
    lower learningRateMultiplier and a look at the data."""
    words = {"overfitting": "fewer|Reduce the number of epochs", "underfitting": "learning-rate",
             "healthy": "None", "diverged": "learningRateMultiplier"}[verdict]
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


@pytest.mark.parametrize(
    ("given", "checkpoints", "expected"),
    [
        (Curves.of(eval_total_loss=[(10, 2.0), (20, 1.5), (30, 0.5), (40, 0.45), (50, NAN),
                                    (60, NAN)]),
         (Checkpoint("a", 1, 10), Checkpoint("b", 2, 40), Checkpoint("c", 3, 60)),
         Checkpoint("b", 2, 40)),
        (Curves.of(eval_total_loss=[(10, 2.0), (20, 1.0), (30, NAN), (40, 0.1)]),
         (Checkpoint("a", 1, 20), Checkpoint("b", 2, 40)), Checkpoint("a", 1, 20)),
        (Curves.of(eval_total_loss=[(10, NAN), (20, 0.4), (30, 0.3)]),
         (Checkpoint("a", 1, 20), Checkpoint("b", 2, 30)), None),
        (Curves.of(train_total_loss=[(10, 2.0), (20, 1.0), (30, INF)],
                   eval_total_loss=[(10, 2.0), (30, 1.0)]),
         (Checkpoint("a", 1, 10), Checkpoint("b", 2, 30)), Checkpoint("a", 1, 10)),
        (Curves.of(eval_total_loss=[(10, 2.0), (20, 1.0), (30, NAN)]),
         (Checkpoint("a", 1, 30), Checkpoint("b", 2, 40)), None),
        (Curves.of(train_total_loss=[(10, 2.0), (20, 1.0), (30, NAN)]),
         (Checkpoint("a", 1, 20), Checkpoint("b", 2, 30)), Checkpoint("a", 1, 20)),
        (Curves.of(train_total_loss=[(10, 2.0), (20, NAN)]),
         (Checkpoint("a", 1, 20), Checkpoint("b", 2, 30)), None),
        (Curves.of(eval_total_loss=[(10, 1.0), (20, 0.1), (30, 5.0), (40, 0.05)]),
         (Checkpoint("a", 1, 20), Checkpoint("b", 2, 40)), Checkpoint("a", 1, 20)),
        (Curves.of(eval_total_loss=[(10, INF), (20, -INF)]), (Checkpoint("a", 1, 20),), None),
    ],
    ids=["the lowest finite validation before NaN", "a later finite point does not count",
         "validation never finite before the checkpoints: none",
         "training inf stops validation too",
         "a checkpoint at the NaN's step is not before it: none",
         "no validation: the last checkpoint before NaN",
         "no validation, NaN before every checkpoint: none",
         "an explosion ends the choice like a NaN", "all infinite: none"],
)
def test_no_best_checkpoint_from_a_non_finite_point(
    given: Curves, checkpoints: tuple[Checkpoint, ...], expected: Checkpoint | None
) -> None:
    """The best is chosen among the finite points before the divergence, or there is none."""
    assert best_checkpoint(given, checkpoints) == expected
    assert diagnose(given, checkpoints).best_checkpoint == expected


def test_diverged_reason_names_the_series_the_step_and_the_checkpoint_kept() -> None:
    """A NaN from step 21 of 60 is told with its step, its series and the best checkpoint kept
    before it; the final losses are absent (JSON has no NaN), never NaN."""
    given = curves(broken_from(HEALTHY_TRAIN, 1 / 3, NAN), broken_from(HEALTHY_EVAL, 1 / 3, NAN))
    result = diagnose(given, EPOCHS)
    assert result.verdict == "diverged"
    assert "training loss is NaN from step 21" in result.reason
    assert result.best_checkpoint == EPOCHS[0]
    assert "best checkpoint before it is 1 (epoch 1)" in result.reason
    assert "check the training data" in result.mitigation
    document = result.to_dict()
    assert document["finalTrainLoss"] is None and document["finalEvalLoss"] is None
    assert document["bestCheckpoint"]["step"] == 12


@pytest.mark.parametrize(
    ("given", "words"),
    [
        (curves(lambda t: INF, lambda t: INF), ("+inf from step 1", "no checkpoint before it")),
        (curves(broken_from(HEALTHY_TRAIN, 0.6, 4.5), HEALTHY_EVAL),
         ("training loss exploded to 4.5 at step 37", "11× its running minimum 0.41",
          "at least 10×")),
        (curves(negative_after(HEALTHY_TRAIN, 0.5), HEALTHY_EVAL),
         ("training loss is negative (-0.3 at step 31)", "cannot be negative")),
    ],
    ids=["all inf", "explosion", "negative"],
)
def test_broken_curves_say_what_broke(given: Curves, words: tuple[str, ...]) -> None:
    """The reason names the kind of break (±inf, the explosion's factor, a negative loss)."""
    reason = diagnose(given).reason
    assert all(word in reason for word in words), reason


def test_non_finite_values_survive_the_json_form_as_valid_json() -> None:
    """NaN and ±inf are written as "NaN"/"Infinity"/"-Infinity" (strict JSON) and read back;
    a `null` (a strict writer's NaN) reads as NaN."""
    import json

    import orjson

    given = Curves.of(train_total_loss=[(1, 1.5), (2, NAN), (3, INF), (4, -INF)])
    text = orjson.dumps(given.to_dict()).decode()
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    assert text == '{"/train_total_loss":[[1,1.5],[2,"NaN"],[3,"Infinity"],[4,"-Infinity"]]}'
    back = Curves.from_dict(orjson.loads(text)).train_loss
    assert back[0].value == 1.5 and math.isnan(back[1].value)
    assert (back[2].value, back[3].value) == (INF, -INF)
    assert math.isnan(Curves.from_dict({"/train_total_loss": [[1, None]]}).train_loss[0].value)


def test_curves_round_trip_through_their_json_form() -> None:
    """Curves and checkpoints survive the state directory's JSON form; order is by step."""
    given = Curves({tag: (Point(2, 0.5), Point(1, 1.5)) for tag in TAGS})
    assert given.get(TAGS[0])[0].step == 1
    assert Curves.from_dict(given.to_dict()) == given
    assert Checkpoint.from_dict(EPOCHS[0].to_dict()) == EPOCHS[0]
