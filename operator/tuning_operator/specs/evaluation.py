"""The job file's `evaluation` and `smokeTest` blocks: how a tuned model is judged.

Both are operator-only (they never enter the spec hash): changing the bar or the evaluation set
re-runs the evaluation, it never conflicts with the Vertex job. Shape, names and ranges are
checked here; whether a relative dataset path stays inside the jobs directory is the loader's
business (it knows the directory). Every metric is a score in [0, 1] (BLEU too: sacrebleu's
0-100 divided by 100), so one bar reads the same for every metric.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from tuning_operator.specs.shapes import GCS_JSONL, _Strict

METRICS = ("exactMatch", "bleu", "rougeL")
DEFAULT_MAX_EXAMPLES = 200
MAX_EXAMPLES_LIMIT = 10_000
CHECKPOINT = r"^(best|last|[A-Za-z0-9][A-Za-z0-9_.-]{0,62})$"
_GCS = re.compile(GCS_JSONL)


def unknown_metric(name: str) -> str:
    return f"unknown metric {name!r}; known metrics: {', '.join(METRICS)}"


class GenerationConfig(_Strict):
    """What every generateContent of an evaluation sends (the tuned and the base model alike)."""

    temperature: Annotated[float, Field(ge=0, le=2)] = Field(
        default=0.0, description="0 (the default) makes answers repeatable, so runs compare.")
    top_p: Annotated[float, Field(gt=0, le=1)] | None = None
    top_k: Annotated[int, Field(ge=1, le=100)] | None = None
    max_output_tokens: Annotated[int, Field(ge=1, le=65_536)] | None = Field(
        default=None, description="Bounds the cost of each answer; default: the model's.")
    thinking_budget: Annotated[int, Field(ge=-1, le=32_768)] | None = Field(
        default=None,
        description="Thinking tokens for models that think; default: the model's lowest"
        " (the advice for tuned models). -1: the model decides.",
    )


class MetricBar(_Strict):
    """The gate for one metric: an absolute floor, a gain over the base model, or both."""

    min: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None, description="The tuned model's score must be at least this (0-1).")
    min_gain_over_baseline: Annotated[float, Field(ge=-1, le=1)] | None = Field(
        default=None, description="tuned - baseline must be at least this (needs baseline).")

    @model_validator(mode="after")
    def _some_bar(self) -> MetricBar:
        if self.min is None and self.min_gain_over_baseline is None:
            raise ValueError("a metric bar needs `min`, `minGainOverBaseline` or both")
        return self


DURATION = r"^[1-9][0-9]{0,6}[smhd]$"
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class EvaluationSpec(_Strict):
    """Ask the tuned model (and the base model) every example, score the answers, gate them."""

    dataset: str = Field(
        description="gs://BUCKET/PATH.jsonl, or a .jsonl path relative to the job file inside"
        " the jobs directory; the training format (the last `model` turn is the reference).")
    max_examples: Annotated[int, Field(ge=1, le=MAX_EXAMPLES_LIMIT)] = Field(
        default=DEFAULT_MAX_EXAMPLES, description="Examples asked at most: bounds the cost.")
    metrics: Annotated[list[str], Field(min_length=1)] = Field(
        default_factory=lambda: list(METRICS),
        description=f"Any of {', '.join(METRICS)}; scores in [0, 1].",
        json_schema_extra={"items": {"enum": list(METRICS)}},
    )
    baseline: bool = Field(default=True, description="Also ask the base model; report the gain.")
    checkpoint: Annotated[str, StringConstraints(pattern=CHECKPOINT)] = Field(
        default="best", description="best | last | a checkpoint id (per-epoch checkpoints).")
    generation_config: GenerationConfig = Field(default_factory=GenerationConfig)
    require: dict[str, MetricBar] = Field(
        default_factory=dict, description="The gate: per metric (one of `metrics`), its bar.",
        json_schema_extra={"propertyNames": {"enum": list(METRICS)}},
    )
    give_up_after: Annotated[str, StringConstraints(pattern=DURATION)] = Field(
        default="24h", description="An endpoint unavailable this long (e.g. 90m, 24h, 7d) makes"
        " the verdict `error`; a shorter outage only delays the verdict.")

    @property
    def give_up_seconds(self) -> float:
        return int(self.give_up_after[:-1]) * _UNIT_SECONDS[self.give_up_after[-1]]

    @field_validator("dataset")
    @classmethod
    def _dataset_form(cls, value: str) -> str:
        if value.startswith("gs://"):
            if not _GCS.match(value):
                raise ValueError(f"{value!r} is not gs://BUCKET/PATH/FILE.jsonl")
            return value
        problem = relative_path_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in METRICS:
                raise ValueError(unknown_metric(name))
        if len(set(value)) != len(value):
            raise ValueError("a metric is listed twice; list each once")
        return value

    @model_validator(mode="after")
    def _gate_names_measured_metrics(self) -> EvaluationSpec:
        for name, bar in self.require.items():
            if name not in METRICS:
                raise ValueError(f"`require`: {unknown_metric(name)}")
            if name not in self.metrics:
                raise ValueError(f"`require` names {name!r}, which is not in `metrics`"
                                 f" ({', '.join(self.metrics)}); add it there or drop its bar")
            if bar.min_gain_over_baseline is not None and not self.baseline:
                raise ValueError(f"`require.{name}.minGainOverBaseline` needs `baseline: true`")
        return self


class SmokeTest(_Strict):
    """One generateContent to the tuned endpoint after success (when there is no evaluation)."""

    prompt: Annotated[str, StringConstraints(min_length=1, max_length=32_768)] = Field(
        description="The user turn sent to the tuned endpoint.")


def relative_path_problem(path: str) -> str | None:
    """Why `path` is not a relative .jsonl path that stays below its directory, or None."""
    if "\\" in path or path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return (f"{path!r} is absolute; write a path relative to the job file (e.g."
                " evals/tickets.jsonl) or a gs:// URI")
    if "://" in path:
        return f"{path!r}: only gs:// URIs or relative paths are supported"
    if any(part == ".." for part in path.split("/")):
        return (f"{path!r} leaves the job's directory ('..'); keep the evaluation set inside"
                " the jobs directory, beside or below the job file")
    if not path.endswith(".jsonl"):
        return f"{path!r} must be a .jsonl file"
    return None
