"""What an emulated tuning job has recorded: its experiment, its metric curves, its checkpoints.

Derived from the stored job and the clock alone, like the job's state (`timeline`): a job gets
its Vertex AI Experiment when it starts running; each training step then writes one point to
each of the six series Vertex records (`/eval_` ones only with a validation dataset), so while
RUNNING only the steps up to the elapsed share of the running phase exist. The shape of the
curves is scripted by the job label `emulator-curve` (`healthy`, `overfit`, `underfit`,
`data-problem`, `nan`), noise is seeded by the job id. `nan` is a run that diverges: its losses
are finite for the first third of the steps (the steps before `total / 3`) and NaN from there
on, as a real run's TensorBoard logs them (a double field carries NaN on the wire; JSON spells
it "NaN"). On success the tuned model has one checkpoint per epoch (ten spread evenly above ten
epochs; only the last with `export_last_checkpoint_only`), at the steps the series use.
Names follow the Vertex SDK's conventions: experiment context `tuning-experiment-{job}`, run
context `{experiment}-{run}`, TensorBoard experiment = the experiment id, TensorBoard run = the
run id. This module stores nothing and knows no transport.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from google.cloud import aiplatform_v1

from tuning_operator.emulator.timeline import JobRecord, Observation
from tuning_operator.judging.curves import (
    EVAL_ACCURACY,
    EVAL_LOSS,
    EVAL_PREDICTIONS,
    TAGS,
    TRAIN_ACCURACY,
    TRAIN_LOSS,
    TRAIN_PREDICTIONS,
)

CURVE_LABEL = "emulator-curve"  # healthy (default) | overfit | underfit | data-problem | nan
STEPS_PER_EPOCH = 20
DEFAULT_EPOCHS = 3  # what the emulator applies when the job sets no epoch_count
MAX_CHECKPOINTS = 10  # Vertex docs: one per epoch below 10 epochs, else about 10 spread evenly
NOISE = 0.02  # each point is the shape times (1 ± 2 %)
METADATA_STORE = "metadataStores/default"
TENSORBOARD_ID = "1000000000000000000"  # one TensorBoard per project and region backs them all
EXPERIMENT_PREFIX = "tuning-experiment-"
RUN_ID = "tuning-run"
SYSTEM_EXPERIMENT = "system.Experiment"
SYSTEM_EXPERIMENT_RUN = "system.ExperimentRun"
BACKING_TENSORBOARD_KEY = "backing_tensorboard_resource"

Shape = Callable[[float], float]  # share of training done (0..1) → loss


def _decay(start: float, floor: float, scale: float) -> Shape:
    return lambda t: floor + (start - floor) * math.exp(-t / scale)


def _falls_then_rises(t: float) -> float:
    return 0.6 + 1.8 * math.exp(-t / 0.12) + 1.2 * float(max(0.0, t - 0.4) ** 1.5)


# (training loss, validation loss) per curve label.
SHAPES: dict[str, tuple[Shape, Shape]] = {
    "healthy": (_decay(2.4, 0.4, 0.12), _decay(2.4, 0.5, 0.12)),
    "overfit": (_decay(2.4, 0.2, 0.12), _falls_then_rises),
    "underfit": (lambda t: 3.0 - 1.6 * t, lambda t: 3.2 - 1.5 * t),
    "data-problem": (_decay(14.5, 1.5, 0.3), _decay(13.0, 1.8, 0.3)),
    "nan": (_decay(2.4, 0.4, 0.12), _decay(2.4, 0.5, 0.12)),  # until a third of the steps
}
NAN_CURVES = frozenset({"nan"})
NAN_AFTER = 3  # a `nan` curve is NaN from step total_steps / NAN_AFTER on


def _spec(record: JobRecord) -> Mapping[str, Any]:
    spec = record.submitted.get("supervisedTuningSpec")
    return spec if isinstance(spec, Mapping) else {}


@dataclass(frozen=True)
class RunPlan:
    """How one job trains: epochs, steps, whether it validates, its curve shape."""

    epochs: int
    has_validation: bool
    last_checkpoint_only: bool
    curve: str

    @classmethod
    def of(cls, record: JobRecord) -> RunPlan:
        spec = _spec(record)
        hyper = spec.get("hyperParameters") or {}
        epochs = int(hyper.get("epochCount") or DEFAULT_EPOCHS)  # int64: a string in JSON
        curve = record.labels.get(CURVE_LABEL, "healthy")
        return cls(
            epochs=max(1, epochs),
            has_validation=bool(spec.get("validationDatasetUri")),
            last_checkpoint_only=bool(spec.get("exportLastCheckpointOnly")),
            curve=curve if curve in SHAPES else "healthy",
        )

    @property
    def total_steps(self) -> int:
        return self.epochs * STEPS_PER_EPOCH

    @property
    def tags(self) -> tuple[str, ...]:
        return TAGS if self.has_validation else TAGS[:3]


def location_of(record: JobRecord) -> str:
    return record.parent  # projects/{p}/locations/{l}


def experiment_id(record: JobRecord) -> str:
    return f"{EXPERIMENT_PREFIX}{record.job_id}"


def experiment_name(record: JobRecord) -> str:
    return f"{location_of(record)}/{METADATA_STORE}/contexts/{experiment_id(record)}"


def run_context_name(record: JobRecord) -> str:
    return f"{experiment_name(record)}-{RUN_ID}"


def tensorboard_name(location: str) -> str:
    return f"{location}/tensorboards/{TENSORBOARD_ID}"


def tensorboard_run_name(record: JobRecord) -> str:
    tensorboard = tensorboard_name(location_of(record))
    return f"{tensorboard}/experiments/{experiment_id(record)}/runs/{RUN_ID}"


def time_series_name(record: JobRecord, tag: str) -> str:
    return f"{tensorboard_run_name(record)}/timeSeries/{TAGS.index(tag) + 1}"


def visible_steps(record: JobRecord, seen: Observation, now: float) -> int:
    """How many training steps have run at `now` (all of them once the job has ended)."""
    if seen.start_time is None:
        return 0
    plan = RunPlan.of(record)
    finish = record.created_at + record.duration
    until = min(now, seen.end_time if seen.end_time is not None else now)
    if finish <= seen.start_time:
        return plan.total_steps if until >= finish else 0
    share = (until - seen.start_time) / (finish - seen.start_time)
    return max(0, min(plan.total_steps, math.floor(share * plan.total_steps)))


def _value(tag: str, loss: float, rng: random.Random) -> float:
    noisy = loss * (1 + rng.uniform(-NOISE, NOISE))
    if tag in (TRAIN_LOSS, EVAL_LOSS) or (tag in (TRAIN_ACCURACY, EVAL_ACCURACY)
                                          and not math.isfinite(noisy)):
        return noisy
    if tag in (TRAIN_ACCURACY, EVAL_ACCURACY):
        return min(0.99, max(0.01, 0.95 - 0.25 * noisy))
    tokens = 4096 if tag == TRAIN_PREDICTIONS else 1024
    return float(round(tokens * (1 + rng.uniform(-0.05, 0.05))))


def points(record: JobRecord, tag: str, steps: int) -> list[tuple[int, float]]:
    """(step, value) of `tag` for steps 1..`steps`; the same values on every call."""
    plan = RunPlan.of(record)
    train, evals = SHAPES[plan.curve]
    shape = evals if tag in (EVAL_LOSS, EVAL_ACCURACY, EVAL_PREDICTIONS) else train
    rng = random.Random(f"{record.job_id}{tag}")
    last = max(1, plan.total_steps - 1)
    broken = plan.total_steps / NAN_AFTER if plan.curve in NAN_CURVES else math.inf
    return [(s, _value(tag, math.nan if s >= broken else shape((s - 1) / last), rng))
            for s in range(1, steps + 1)]


def checkpoints(record: JobRecord) -> list[aiplatform_v1.TunedModelCheckpoint]:
    """The tuned model's checkpoints: one per epoch, or only the last one."""
    plan = RunPlan.of(record)
    if plan.last_checkpoint_only:
        epochs = [plan.epochs]
    elif plan.epochs <= MAX_CHECKPOINTS:
        epochs = list(range(1, plan.epochs + 1))
    else:  # Vertex: about ten, evenly spread, the last after the final epoch
        epochs = sorted({round(i * plan.epochs / MAX_CHECKPOINTS) for i in range(1, 11)})
    endpoints = f"{location_of(record)}/endpoints"
    return [
        aiplatform_v1.TunedModelCheckpoint(
            checkpoint_id=str(epoch),
            epoch=epoch,
            step=epoch * STEPS_PER_EPOCH,
            endpoint=(f"{endpoints}/{record.job_id}" if epoch == plan.epochs
                      else f"{endpoints}/{record.job_id}{epoch:02d}"),
        )
        for epoch in epochs
    ]
