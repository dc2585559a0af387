"""What a report shows about one job, as frozen values: no file, no network, no plotting here.

The operator's state files are written by the operator, but their strings come from people and
services it does not control (job names, Vertex errors, evaluation examples, metric names from a
job file). The parsers below therefore accept only the types they expect and turn anything else
into "absent", so a half-written or hand-edited record gives a thinner report, never a crash.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TRAIN_LOSS = "/train_total_loss"
EVAL_LOSS = "/eval_total_loss"
TRAIN_ACCURACY = "/train_fraction_of_correct_next_step_preds"
EVAL_ACCURACY = "/eval_fraction_of_correct_next_step_preds"

Points = tuple[tuple[float, float], ...]  # (step, value), ordered by step


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint Vertex kept: its id, where in the run it was taken, and its endpoint."""

    id: str
    epoch: int | None = None
    step: int | None = None
    endpoint: str | None = None


@dataclass(frozen=True)
class Diagnosis:
    """The operator's reading of the loss curves (seed 004's rules) and the checkpoint it chose."""

    verdict: str
    reason: str | None = None
    mitigation: str | None = None
    best_checkpoint: Checkpoint | None = None
    final_train_loss: float | None = None
    final_eval_loss: float | None = None


@dataclass(frozen=True)
class MetricScore:
    """One evaluation metric: the tuned model, the base model (zero-shot, few-shot), the
    difference, and for a model-based metric the autorater's agreement with people."""

    name: str
    tuned: float | None = None
    baseline: float | None = None
    gain: float | None = None
    few_shot: float | None = None
    kappa: float | None = None
    within_one: float | None = None
    rated: int | None = None


@dataclass(frozen=True)
class ExampleFailure:
    """An evaluation example that could not be scored, and why."""

    example: str
    error: str


@dataclass(frozen=True)
class CheckpointScores:
    """One checkpoint's verdict and its tuned scores, with `checkpoints: all`."""

    checkpoint: str
    step: int | None
    verdict: str
    scores: tuple[tuple[str, float | None], ...] = ()  # (metric, tuned score)


@dataclass(frozen=True)
class DuringTuningRun:
    """Vertex's evaluation of one checkpoint while it tuned (`evaluation.duringTuning`)."""

    checkpoint: str  # `default`: Vertex named none
    scores: tuple[tuple[str, float | None], ...] = ()  # (metric, average)
    error: str | None = None


@dataclass(frozen=True)
class WorstExample:
    """One of the lowest-scored answers on a model-based metric, with the autorater's why."""

    metric: str
    example: int
    score: float | None
    explanation: str


@dataclass(frozen=True)
class Evaluation:
    """The gate's verdict and the numbers it was decided on."""

    verdict: str
    examples: int | None = None
    metrics: tuple[MetricScore, ...] = ()
    checkpoint: str | None = None
    failures: tuple[ExampleFailure, ...] = ()
    reason: str | None = None
    few_shot: int = 0  # the few-shot baseline's shots (0: not asked)
    checkpoints: tuple[CheckpointScores, ...] = ()
    worst: tuple[WorstExample, ...] = ()


@dataclass(frozen=True)
class DataStats:
    """Vertex's statistics of the training data, and the pre-flight's token estimate beside it."""

    examples: int | None = None
    billable_tokens: int | None = None
    truncated_examples: int | None = None
    estimated_tokens: int | None = None


@dataclass(frozen=True)
class TrainingCurves:
    """The time series read from the job's Vertex Experiment, and the checkpoints it lists."""

    experiment: str | None
    series: Mapping[str, Points]
    checkpoints: tuple[Checkpoint, ...] = ()
    # Per series, the first step whose value was NaN or ±inf; `series` holds only the finite
    # points before it, so a chart can mark where the curve stopped instead of stopping silently.
    not_finite_from: Mapping[str, float] = field(default_factory=dict)

    def points(self, name: str) -> Points:
        return self.series.get(name, ())


@dataclass(frozen=True)
class Report:
    """Everything `tuning-operator report NAME` draws, read once from the state directory."""

    job: str
    phase: str | None = None
    team: str | None = None
    reason: str | None = None
    vertex_name: str | None = None
    vertex_state: str | None = None
    tuned_model: str | None = None
    endpoint: str | None = None
    last_error: str | None = None
    continued_from: str | None = None  # the parent a `preTunedModel` job was created from
    diagnosis: Diagnosis | None = None
    evaluation: Evaluation | None = None
    data_stats: DataStats | None = None
    dataset: str | None = None
    curves: TrainingCurves | None = None
    curves_note: str = "no metrics read yet"  # why `curves` is None, or what is missing
    during_tuning: tuple[DuringTuningRun, ...] = ()  # Vertex's, per checkpoint

    @property
    def best_checkpoint(self) -> Checkpoint | None:
        """The diagnosis' choice, completed from the Experiment's list when it lacks the step."""
        best = self.diagnosis.best_checkpoint if self.diagnosis else None
        if best is None or best.step is not None or self.curves is None:
            return best
        listed = {c.id: c for c in self.curves.checkpoints}
        return listed.get(best.id, best)


def text(value: Any) -> str | None:
    """A string as given; a number as its text; anything else is absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def number(value: Any) -> float | None:
    """A finite number, or absent (JSON's NaN and Infinity are not numbers a report can draw)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def count(value: Any) -> int | None:
    """A whole number, or absent."""
    as_float = number(value)
    return int(as_float) if as_float is not None and as_float.is_integer() else None


def _mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def parse_checkpoint(value: Any) -> Checkpoint | None:
    data = _mapping(value)
    ident = text(data.get("id", data.get("checkpointId"))) if data is not None else None
    if data is None or ident is None:
        return None
    return Checkpoint(id=ident, epoch=count(data.get("epoch")), step=count(data.get("step")),
                      endpoint=text(data.get("endpoint")))


NOT_FINITE = frozenset({"NaN", "Infinity", "-Infinity"})  # how the operator writes them


def _not_finite(value: Any) -> bool:
    """NaN or ±inf as the metrics file spells it: a name, `null`, or a lax parser's float."""
    if value is None or (isinstance(value, str) and value in NOT_FINITE):
        return True
    return isinstance(value, float) and not math.isfinite(value)


def parse_curves(value: Any) -> TrainingCurves | None:
    """The metrics file's document; None when it is not one (not a JSON object)."""
    data = _mapping(value)
    if data is None:
        return None
    series: dict[str, Points] = {}
    stops: dict[str, float] = {}
    for name, raw_points in (_mapping(data.get("series")) or {}).items():
        points, broken = [], []
        for point in _list(raw_points):
            pair = _list(point)
            step = number(pair[0]) if len(pair) >= 2 else None
            if step is None:
                continue
            if _not_finite(pair[1]):
                broken.append(step)
            elif (measured := number(pair[1])) is not None:
                points.append((step, measured))
        stop = min(broken, default=None)
        kept = sorted((p for p in points if stop is None or p[0] < stop), key=lambda p: p[0])
        if kept:
            series[str(name)] = tuple(kept)
        if stop is not None:
            stops[str(name)] = stop
    checkpoints = (parse_checkpoint(c) for c in _list(data.get("checkpoints")))
    return TrainingCurves(experiment=text(data.get("experiment")), series=series,
                          checkpoints=tuple(c for c in checkpoints if c is not None),
                          not_finite_from=stops)
