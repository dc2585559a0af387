"""The data a diagnosis reads: a tuning job's metric series and its checkpoints.

Vertex records six scalar series per supervised tuning job under these tag names (the
`/eval_` three only with a validation dataset); the Vertex adapter fills `Curves` from the
job's TensorBoard run and the emulator serves the same names. Plain frozen values with a JSON
form for the state directory; no Google library, no I/O.

A diverged run logs NaN and ±inf, which JSON cannot carry (a strict writer turns them into
`null`, a lax one writes invalid JSON). The JSON form spells them as the strings `"NaN"`,
`"Infinity"` and `"-Infinity"` and reads those (and a `null`) back as the float they stand for.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

TRAIN_LOSS = "/train_total_loss"
TRAIN_ACCURACY = "/train_fraction_of_correct_next_step_preds"
TRAIN_PREDICTIONS = "/train_num_predictions"
EVAL_LOSS = "/eval_total_loss"
EVAL_ACCURACY = "/eval_fraction_of_correct_next_step_preds"
EVAL_PREDICTIONS = "/eval_num_predictions"
TAGS = (TRAIN_LOSS, TRAIN_ACCURACY, TRAIN_PREDICTIONS, EVAL_LOSS, EVAL_ACCURACY, EVAL_PREDICTIONS)


@dataclass(frozen=True, slots=True)
class Point:
    """One value of one series at one training step."""

    step: int
    value: float


@dataclass(frozen=True)
class Curves:
    """The series of one job by tag name, each sorted by step; any tag may be missing."""

    series: Mapping[str, tuple[Point, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ordered = {
            tag: tuple(sorted(points, key=lambda p: p.step))
            for tag, points in self.series.items()
            if points
        }
        object.__setattr__(self, "series", ordered)

    @classmethod
    def of(cls, **by_tag: Iterable[tuple[int, float]]) -> Curves:
        """From (step, value) pairs keyed by tag without its slash (`train_total_loss=…`)."""
        return cls({
            f"/{tag}": tuple(Point(step, value) for step, value in pairs)
            for tag, pairs in by_tag.items()
        })

    def get(self, tag: str) -> tuple[Point, ...]:
        return self.series.get(tag, ())

    @property
    def train_loss(self) -> tuple[Point, ...]:
        return self.get(TRAIN_LOSS)

    @property
    def eval_loss(self) -> tuple[Point, ...]:
        return self.get(EVAL_LOSS)

    @property
    def last_step(self) -> int | None:
        steps = [points[-1].step for points in self.series.values()]
        return max(steps) if steps else None

    def to_dict(self) -> dict[str, list[list[float | str]]]:
        """`{tag: [[step, value], …]}` for the state directory; valid JSON even for NaN."""
        return {tag: [[p.step, json_number(p.value)] for p in points]
                for tag, points in self.series.items()}

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Curves:
        return cls({
            str(tag): tuple(Point(int(step), from_json_number(value)) for step, value in pairs)
            for tag, pairs in document.items()
        })


def json_number(value: float) -> float | str:
    """`value`, or its name when JSON has no number for it (NaN, Infinity, -Infinity)."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"


def from_json_number(value: Any) -> float:
    """The float `json_number` wrote; `null` (a strict writer's NaN) is NaN."""
    return math.nan if value is None else float(value)  # float("Infinity") is inf


@dataclass(frozen=True)
class Checkpoint:
    """One exported checkpoint of a tuned model (Vertex `TunedModelCheckpoint`)."""

    checkpoint_id: str
    epoch: int
    step: int
    endpoint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The user-facing form, as in `status --format json` and the events."""
        return {"id": self.checkpoint_id, "epoch": self.epoch, "step": self.step,
                "endpoint": self.endpoint}

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Checkpoint:
        endpoint = document.get("endpoint")
        return cls(str(document["id"]), int(document["epoch"]), int(document["step"]),
                   str(endpoint) if endpoint else None)
