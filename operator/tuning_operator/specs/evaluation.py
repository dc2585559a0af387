"""The job file's `evaluation` and `smokeTest` blocks: how a tuned model is judged.

Both are operator-only (they never enter the spec hash): changing the bar or the evaluation set
re-runs the evaluation, it never conflicts with the Vertex job. The one exception is
`duringTuning: true`, which is sent to Vertex with the create (`specs.during`): it and the
metrics it sends enter the hash, and only when it is true, so a file without it keeps its hash.
Shape, names and ranges are checked here; whether a relative dataset path stays inside the
jobs directory is the loader's business (it knows the directory). Every string metric is a
score in [0, 1] (BLEU too: sacrebleu's 0-100 divided by 100), so one bar reads the same for
every one of them; the model-based metrics (`specs.judges`) are the autorater's 1-5 scale
(pointwise) or a win rate in [0, 1] (pairwise), and `_bar_problem` keeps each bar on its
metric's scale.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from tuning_operator.specs.judges import SCORE_MAX, SCORE_MIN, BaselineSpec, ModelBasedMetric
from tuning_operator.specs.shapes import DEFERRED, GCS_JSONL, _Strict

METRICS = ("exactMatch", "bleu", "rougeL")
DEFAULT_MAX_EXAMPLES = 200
MAX_EXAMPLES_LIMIT = 10_000
CHECKPOINT = r"^(best|last|[A-Za-z0-9][A-Za-z0-9_.-]{0,62})$"
_GCS = re.compile(GCS_JSONL)


def unknown_metric(name: str) -> str:
    return f"unknown metric {name!r}; known metrics: {', '.join(METRICS)}"


class GenerationConfig(_Strict):
    """What every generateContent of an evaluation sends (the tuned and the base model alike)."""

    model_config = DEFERRED  # built when a file has the block (`shapes.WhenPresent`)

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
    """The gate for one metric. String metrics: a floor (0-1), a gain over the baseline.
    Pointwise model-based metrics: the same on the 1-5 scale, and `minAgreement`, the
    autorater's least agreement with people (quadratic-weighted kappa) for its score to gate.
    Pairwise: `minWinRate`, the tuned model's share of wins over the baseline (ties half)."""

    model_config = DEFERRED  # built when a file has the block (`shapes.WhenPresent`)

    min: Annotated[float, Field(ge=0, le=SCORE_MAX)] | None = Field(
        default=None, description="The tuned model's score must be at least this (0-1;"
        " 1-5 for a pointwise model-based metric).")
    min_gain_over_baseline: Annotated[float, Field(ge=-SCORE_MAX, le=SCORE_MAX)] | None = Field(
        default=None, description="tuned - the stronger baseline must be at least this.")
    min_agreement: Annotated[float, Field(ge=-1, le=1)] | None = Field(
        default=None, description="Pointwise model-based: the autorater's kappa with the"
        " human ratings must be at least this, else the metric is not trusted (failed).")
    min_win_rate: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None, description="Pairwise model-based: wins of the tuned model (ties half).")

    @model_validator(mode="after")
    def _some_bar(self) -> MetricBar:
        if (self.min is None and self.min_gain_over_baseline is None
                and self.min_win_rate is None):
            raise ValueError("a metric bar needs `min`, `minGainOverBaseline` or `minWinRate`")
        return self


DURATION = r"^[1-9][0-9]{0,6}[smhd]$"
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class EvaluationSpec(_Strict):
    """Ask the tuned model (and the base model) every example, score the answers, gate them."""

    model_config = DEFERRED  # built when a file has the block (`shapes.WhenPresent`)

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
    baseline: bool | BaselineSpec = Field(
        default=True, description="Also ask the base model (true: zero-shot), or"
        " {zeroShot, fewShot: N, fewShotFrom}; report the gain.")
    checkpoint: Annotated[str, StringConstraints(pattern=CHECKPOINT)] = Field(
        default="best", description="best | last | a checkpoint id (per-epoch checkpoints).")
    checkpoints: Literal["all"] | None = Field(
        default=None, description="all: evaluate every checkpoint endpoint and choose the one"
        " best on the first `require` metric (ties: the later); `checkpoint` then applies only"
        " when the tuned model has no per-checkpoint endpoints.")
    generation_config: GenerationConfig = Field(default_factory=GenerationConfig)
    require: dict[str, MetricBar] = Field(
        default_factory=dict,
        description="The gate, in order: per metric (one of `metrics` or a `modelBased`"
        " name), its bar.",
    )
    model_based: list[ModelBasedMetric] = Field(
        default_factory=list, description="Metrics judged by a language model (an autorater).")
    human_ratings: str | None = Field(
        default=None, description="A .jsonl path relative to the job file: one"
        ' {"example": INDEX, "metric": NAME, "score": 1-5} a line, rating the tuned model\'s'
        " answers; the autorater is trusted as far as it agrees with them.")
    during_tuning: bool = Field(
        default=False, description="Also have Vertex evaluate every checkpoint while it tunes"
        " (`metrics`, on the validation set; preview, us-central1): sent with the create, so"
        " it enters the spec hash; results in `status.evaluation.duringTuning`. Needs the"
        " operator's --artifacts (Vertex writes the results there).")
    give_up_after: Annotated[str, StringConstraints(pattern=DURATION)] = Field(
        default="24h", description="An endpoint unavailable this long (e.g. 90m, 24h, 7d) makes"
        " the verdict `error`; a shorter outage only delays the verdict.")

    @property
    def give_up_seconds(self) -> float:
        return int(self.give_up_after[:-1]) * _UNIT_SECONDS[self.give_up_after[-1]]

    @field_validator("dataset")
    @classmethod
    def _dataset_form(cls, value: str) -> str:
        problem = dataset_problem(value)
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

    @property
    def baselines(self) -> BaselineSpec:
        """`baseline` in its long form (`true` is zero-shot only)."""
        if isinstance(self.baseline, BaselineSpec):
            return self.baseline
        return BaselineSpec(zero_shot=self.baseline)

    @field_validator("baseline", mode="before")
    @classmethod
    def _baseline_form(cls, value: object) -> object:
        """A mapping is the long form: validated as that alone, so an error in it is not
        doubled by the (failed) reading as a boolean."""
        return BaselineSpec.model_validate(value) if isinstance(value, dict) else value

    @field_validator("human_ratings")
    @classmethod
    def _ratings_form(cls, value: str | None) -> str | None:
        problem = None if value is None else relative_path_problem(value)
        if problem is not None:
            raise ValueError(f"`humanRatings`: {problem}")
        return value

    @model_validator(mode="after")
    def _gate_names_measured_metrics(self) -> EvaluationSpec:
        judged = {m.name: m for m in self.model_based}
        if len(judged) != len(self.model_based):
            raise ValueError("`modelBased`: a metric name is used twice; name each once")
        for name in judged.keys() & set(METRICS):
            raise ValueError(f"`modelBased`: {name!r} is a built-in metric; choose another name")
        if self.checkpoints == "all" and not self.require:
            raise ValueError("`checkpoints: all` chooses by the first `require` metric; add a"
                             " bar to `require`")
        pairwise = [m.name for m in self.model_based if m.kind == "pairwise"]
        if pairwise and not self.baselines.asked:
            raise ValueError(f"`modelBased` {pairwise[0]!r} is pairwise: it compares the tuned"
                             " model with a baseline; set `baseline: true`")
        few = self.baselines.few_shot_from
        problem = None if few is None else dataset_problem(few)
        if problem is not None:
            raise ValueError(f"`baseline.fewShotFrom`: {problem}")
        for name, bar in self.require.items():
            problem = _bar_problem(name, bar, self, judged.get(name))
            if problem is not None:
                raise ValueError(problem if problem.startswith("`require`")
                                 else f"`require.{name}`: {problem}")
        return self


def _bar_problem(name: str, bar: MetricBar, spec: EvaluationSpec,
                 judged: ModelBasedMetric | None) -> str | None:
    """Why `bar` cannot gate `name` in `spec`, or None."""
    if judged is None and name not in METRICS:
        declared = ", ".join(m.name for m in spec.model_based) or "none"
        return (f"`require`: {unknown_metric(name)}; declared in `modelBased`: {declared}")
    if judged is None and name not in spec.metrics:
        return (f"`require` names {name!r}, which is not in `metrics`"
                f" ({', '.join(spec.metrics)}); add it there or drop its bar")
    if bar.min_gain_over_baseline is not None and not spec.baselines.asked:
        return "`minGainOverBaseline` needs `baseline: true` (or `baseline: {fewShot: N}`)"
    kind = judged.kind if judged else "string"
    if kind == "pairwise":
        if bar.min is not None or bar.min_gain_over_baseline is not None:
            return "a pairwise metric is gated by `minWinRate` only"
        if bar.min_agreement is not None:
            return "`minAgreement` applies to pointwise metrics (people rate scores, not choices)"
        return None
    if bar.min_win_rate is not None:
        return "`minWinRate` applies to pairwise metrics"
    if kind == "string":
        if bar.min is not None and bar.min > 1:
            return f"`min` {bar.min} is above 1 (string metrics score 0-1)"
        if bar.min_agreement is not None:
            return "`minAgreement` applies to model-based metrics"
        return None
    if bar.min is not None and not SCORE_MIN <= bar.min <= SCORE_MAX:
        return f"`min` {bar.min} is off the {SCORE_MIN}-{SCORE_MAX} scale of pointwise scores"
    if bar.min_agreement is not None and spec.human_ratings is None:
        return "`minAgreement` needs `humanRatings` (the people the autorater is checked against)"
    return None


class SmokeTest(_Strict):
    """One generateContent to the tuned endpoint after success (when there is no evaluation)."""

    model_config = DEFERRED  # built when a file has the block (`shapes.WhenPresent`)

    prompt: Annotated[str, StringConstraints(min_length=1, max_length=32_768)] = Field(
        description="The user turn sent to the tuned endpoint.")


def dataset_problem(value: str) -> str | None:
    """Why `value` is neither gs://BUCKET/PATH/FILE.jsonl nor a relative .jsonl path, or None."""
    if value.startswith("gs://"):
        return None if _GCS.match(value) else f"{value!r} is not gs://BUCKET/PATH/FILE.jsonl"
    return relative_path_problem(value)


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
