"""Seed 004's reading of a tuning job's loss curves, as a pure function with named thresholds.

`diagnose(curves, checkpoints)` answers one verdict, in this order of precedence:
- `diverged`: a training or validation loss is NaN or ±inf, or explodes to at least 10× its
  running minimum (the lowest loss of that series before it): the run is numerically broken,
  whatever its earlier points looked like;
- `data-problem`: a loss is negative (a loss cannot be: the data or the metric is wrong), or the
  initial training loss is above 10 (predictions far from the labels; typically examples
  truncated past the model's context, which the dataset pre-flight warns of);
- `inconclusive`: too few training points, or no validation series to judge overfitting by;
- `overfitting`: validation loss rose clearly from its minimum while training loss kept falling,
  or validation loss ends far above training loss;
- `underfitting`: validation (or training) loss is still falling at the end: not converged;
- `healthy`: both losses fell and flattened.
Noise is handled with medians of windows and relative margins, never single points (except a
non-finite or exploded loss: one such point is already a broken run).
`best_checkpoint` names the checkpoint with the lowest validation loss, chosen only among the
checkpoints and points before a divergence (none when nothing before it is finite): a NaN never
takes part in a comparison. No I/O here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any, Literal

from tuning_operator.judging.curves import Checkpoint, Curves, Point

Verdict = Literal[
    "healthy", "overfitting", "underfitting", "data-problem", "diverged", "inconclusive"]
VERDICTS: tuple[Verdict, ...] = (
    "healthy", "overfitting", "underfitting", "data-problem", "diverged", "inconclusive")

# A loss at least this many times the lowest loss of its series before it has exploded ...
EXPLOSION_FACTOR = 10.0
# ... and by at least this much: a ratio of two tiny losses is noise, not a divergence.
EXPLOSION_MIN_RISE = 0.2

# Seed 004: "initial training loss very large (above 10)" means a data problem.
DATA_PROBLEM_INITIAL_LOSS = 10.0
# The initial loss is the median of the first points, so one spike is not a verdict.
INITIAL_POINTS = 3
# Fewer training points than this: too early to tell a trend from noise.
MIN_TRAIN_POINTS = 6
# Vertex evaluates less often than it trains; fewer validation points: too early.
MIN_EVAL_POINTS = 4
# "The end" of a curve is its last fifth, at least MIN_WINDOW points.
TAIL_FRACTION = 0.2
MIN_WINDOW = 2
# Still falling: the median of the last window is more than 5 % below the window before it.
STILL_FALLING = 0.05
# Overfitting: validation loss ends more than 10 % above its (smoothed) minimum.
OVERFIT_RISE = 0.10
# Overfitting too: validation loss ends above 1.5 × training loss, and by at least 0.2
# (a ratio of two tiny losses is noise).
EVAL_GAP_RATIO = 1.5
EVAL_GAP_MIN = 0.2
# A rolling median over this many points removes single-step spikes before taking a minimum.
SMOOTHING = 3

MITIGATIONS: dict[Verdict, str] = {
    "data-problem": (
        "Check the training dataset against the best practices: inputs longer than the model's"
        " context are truncated (see the dataset pre-flight's near-limit warning for this job);"
        " a negative loss means the examples or the loss metric are wrong."
    ),
    "overfitting": (
        "Reduce the number of epochs to where the validation loss was lowest, or increase the"
        " effective size and variety of the training data."
    ),
    "underfitting": (
        "Increase the number of epochs or the learning-rate multiplier; if that does not help,"
        " collect more, and more varied, training data."
    ),
    "diverged": (
        "Lower the learningRateMultiplier (halve it, say) and check the training data for bad"
        " examples (empty or malformed outputs, extreme lengths) before tuning again."
    ),
    "healthy": "None needed.",
    "inconclusive": "Wait for more steps; keep a separate validation dataset to judge overfitting.",
}


@dataclass(frozen=True)
class Diagnosis:
    """One verdict on one job's curves, with the reason a person reads and what to do."""

    verdict: Verdict
    reason: str
    mitigation: str
    best_checkpoint: Checkpoint | None = None
    final_train_loss: float | None = None
    final_eval_loss: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The camelCase form of `status --format json` and the diagnosed event."""
        best = self.best_checkpoint
        return {"verdict": self.verdict, "reason": self.reason, "mitigation": self.mitigation,
                "bestCheckpoint": best.to_dict() if best else None,
                "finalTrainLoss": self.final_train_loss, "finalEvalLoss": self.final_eval_loss}


def _window(count: int) -> int:
    return max(MIN_WINDOW, round(count * TAIL_FRACTION))


def _smoothed(points: Sequence[Point]) -> list[float]:
    half = SMOOTHING // 2
    values = [p.value for p in points]
    return [median(values[max(0, i - half): i + half + 1]) for i in range(len(values))]


def _end(points: Sequence[Point]) -> float:
    return median(p.value for p in points[-_window(len(points)):])


def _drop(points: Sequence[Point]) -> float:
    """Relative fall of the last window's median below the window before it (0: too short)."""
    size = _window(len(points))
    if len(points) < 2 * size:
        return 0.0
    last = median(p.value for p in points[-size:])
    before = median(p.value for p in points[-2 * size: -size])
    return (before - last) / before if before > 0 else 0.0


def _lowest(points: Sequence[Point]) -> tuple[int, float]:
    """Index and value of the smoothed minimum."""
    smooth = _smoothed(points)
    index = min(range(len(smooth)), key=smooth.__getitem__)
    return index, smooth[index]


def _near(points: Sequence[Point], step: int) -> float:
    index = min(range(len(points)), key=lambda i: abs(points[i].step - step))
    return _smoothed(points)[index]


@dataclass(frozen=True)
class Divergence:
    """Where a loss series first stopped being a usable number, and how."""

    series: str  # "training" or "validation"
    step: int
    value: float
    minimum: float | None = None  # the running minimum an explosion is measured against

    def describe(self) -> str:
        if math.isfinite(self.value) and self.minimum is not None:
            return (f"{self.series} loss exploded to {self.value:.3g} at step {self.step},"
                    f" {self.value / self.minimum:.0f}× its running minimum {self.minimum:.3g}"
                    f" (at least {EXPLOSION_FACTOR:g}×)")
        return f"{self.series} loss is {_word(self.value)} from step {self.step}"


def _word(value: float) -> str:
    return "NaN" if math.isnan(value) else "+inf" if value > 0 else "-inf"


def _diverges(name: str, points: Sequence[Point]) -> Divergence | None:
    minimum = math.inf
    for point in points:
        if not math.isfinite(point.value):
            return Divergence(name, point.step, point.value)
        if (0 < minimum < math.inf and point.value >= EXPLOSION_FACTOR * minimum
                and point.value - minimum >= EXPLOSION_MIN_RISE):
            return Divergence(name, point.step, point.value, minimum)
        minimum = min(minimum, point.value)
    return None


def divergence(curves: Curves) -> Divergence | None:
    """The earliest non-finite or exploded loss of either series (training first on a tie)."""
    found = [d for d in (_diverges("training", curves.train_loss),
                         _diverges("validation", curves.eval_loss)) if d is not None]
    return min(found, key=lambda d: d.step) if found else None


def _before(points: Sequence[Point], step: int | None) -> tuple[Point, ...]:
    return tuple(points) if step is None else tuple(p for p in points if p.step < step)


def best_checkpoint(curves: Curves, checkpoints: Sequence[Checkpoint]) -> Checkpoint | None:
    """The checkpoint with the lowest validation loss; without validation, the last one.

    A checkpoint's validation loss is the smoothed value at the validation step nearest to its
    own, so the choice is among the checkpoints that exist, never a step between two of them.
    After a divergence only the checkpoints and validation points before it count; when none
    of them is left (the curve was never finite), no checkpoint is the best.
    """
    diverged = divergence(curves)
    until = diverged.step if diverged else None
    candidates = [c for c in checkpoints if until is None or c.step < until]
    if not candidates:
        return None
    evals = _before(curves.eval_loss, until)
    if not evals:
        if curves.eval_loss:  # validation was never finite: nothing to choose by
            return None
        return max(candidates, key=lambda c: (c.step, c.epoch))
    return min(candidates, key=lambda c: (_near(evals, c.step), c.step))


def _negative(curves: Curves) -> tuple[str, Point] | None:
    for name, points in (("training", curves.train_loss), ("validation", curves.eval_loss)):
        for point in points:
            if point.value < 0:
                return name, point
    return None


def _verdict(curves: Curves, best: Checkpoint | None) -> tuple[Verdict, str]:
    train, evals = curves.train_loss, curves.eval_loss
    diverged = divergence(curves)
    if diverged is not None:
        kept = (f"; the best checkpoint before it is {best.checkpoint_id} (epoch {best.epoch})"
                if best else "; no checkpoint before it to choose")
        return "diverged", f"{diverged.describe()}: the run diverged{kept}"
    negative = _negative(curves)
    if negative is not None:
        name, point = negative
        return "data-problem", (
            f"{name} loss is negative ({point.value:.3g} at step {point.step}): a loss cannot"
            " be negative, so the data or the metric is wrong")
    if len(train) >= INITIAL_POINTS:
        initial = median(p.value for p in train[:INITIAL_POINTS])
        if initial > DATA_PROBLEM_INITIAL_LOSS:
            return "data-problem", (
                f"initial training loss {initial:.3g} is above {DATA_PROBLEM_INITIAL_LOSS:g}:"
                " the predictions are far from the labels, often because examples are truncated")
    if len(train) < MIN_TRAIN_POINTS:
        return "inconclusive", (
            f"too few training points ({len(train)} of at least {MIN_TRAIN_POINTS}) to judge")
    if not evals:
        trend = "still falling" if _drop(train) > STILL_FALLING else "flattened"
        return "inconclusive", (
            "no validation series (/eval_total_loss): without a validation dataset overfitting"
            f" cannot be judged; training loss {trend} at {_end(train):.3g}")
    if len(evals) < MIN_EVAL_POINTS:
        return "inconclusive", (
            f"too few validation points ({len(evals)} of at least {MIN_EVAL_POINTS}) to judge")
    train_end, eval_end = _end(train), _end(evals)
    low, minimum = _lowest(evals)
    rise = (eval_end - minimum) / minimum if minimum > 0 else 0.0
    if rise > OVERFIT_RISE and low < len(evals) - _window(len(evals)):
        step = evals[low].step
        train_then = _near(train, step)
        if train_end <= train_then:
            where = f"; checkpoint {best.checkpoint_id} (epoch {best.epoch})" if best else ""
            return "overfitting", (
                f"validation loss rose {rise:.0%} from its minimum {minimum:.3g} at step {step}"
                f"{where} while training loss kept falling ({train_then:.3g} → {train_end:.3g})")
        return "inconclusive", (
            f"validation and training loss both rose after step {step}: not a pattern of seed"
            " 004 (an unstable run; try a lower learning-rate multiplier)")
    if eval_end > EVAL_GAP_RATIO * train_end and eval_end - train_end >= EVAL_GAP_MIN:
        return "overfitting", (
            f"validation loss ends at {eval_end:.3g}, {eval_end / train_end:.1f}× the training"
            f" loss {train_end:.3g} (more than {EVAL_GAP_RATIO:g}×)")
    for name, points in (("validation", evals), ("training", train)):
        drop = _drop(points)
        if drop > STILL_FALLING:
            return "underfitting", (
                f"{name} loss is still falling at the end ({drop:.0%} over the last"
                f" {_window(len(points))} points, to {_end(points):.3g}): not converged")
    return "healthy", (
        f"both losses fell and flattened: validation {eval_end:.3g}, training {train_end:.3g}")


def diagnose(curves: Curves, checkpoints: Sequence[Checkpoint] = ()) -> Diagnosis:
    """Seed 004's verdict on `curves`, with its mitigation and the best checkpoint."""
    best = best_checkpoint(curves, checkpoints)
    verdict, reason = _verdict(curves, best)
    train, evals = curves.train_loss, curves.eval_loss
    return Diagnosis(
        verdict=verdict,
        reason=reason,
        mitigation=MITIGATIONS[verdict],
        best_checkpoint=best,
        final_train_loss=_final(train),
        final_eval_loss=_final(evals),
    )


def _final(points: Sequence[Point]) -> float | None:
    """The last value when it is a number JSON can carry; a NaN or inf is told by the reason."""
    return points[-1].value if points and math.isfinite(points[-1].value) else None
