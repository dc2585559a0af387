"""The job file's judges beyond exact match: the few-shot baseline and the model-based metrics.

Seed 004 asks whether tuning is worth it over a prompt (a few-shot baseline beside the
zero-shot one) and for a language model as the judge of what string metrics cannot see
(`modelBased`: a rubric scored 1-5, or a choice between the tuned and the base model's
answers). Both are operator-only: they steer the evaluation, never the Vertex job. The rubric
is a metric prompt template; its placeholders are checked here, so a typo fails `validate`
instead of reaching the autorater as literal text. The judging model is Vertex's own: the v1
`evaluate_instances` request has no autorater choice (`AutoraterConfig` rides on the v1beta1
request only), so the job file names none.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from tuning_operator.specs.shapes import DEFERRED, _Strict

MAX_FEW_SHOT = 32
POINTWISE_PLACEHOLDERS = ("prompt", "response", "reference")
PAIRWISE_PLACEHOLDERS = ("prompt", "response", "baseline_response")
SCORE_MIN, SCORE_MAX = 1, 5  # the pointwise scale the autorater answers on
METRIC_NAME = r"^[a-z][A-Za-z0-9]{0,62}$"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class BaselineSpec(_Strict):
    """Which base-model baselines to ask: zero-shot, and N training examples as prior turns."""

    model_config = DEFERRED  # built when a file has an evaluation (`shapes.WhenPresent`)

    zero_shot: bool = Field(default=True, description="Ask the base model each example alone.")
    few_shot: Annotated[int, Field(ge=0, le=MAX_FEW_SHOT)] = Field(
        default=0, description="Also ask it with N examples of the training set (or"
        " `fewShotFrom`) as prior turns, chosen the same way every run; 0: no few-shot.")
    few_shot_from: str | None = Field(
        default=None, description="Where the shots come from instead of the training set:"
        " gs://…jsonl or a .jsonl path relative to the job file.")

    @property
    def asked(self) -> bool:
        return self.zero_shot or self.few_shot > 0

    @model_validator(mode="after")
    def _shots_wanted(self) -> BaselineSpec:
        if self.few_shot_from is not None and not self.few_shot:
            raise ValueError("`fewShotFrom` without `fewShot: N` shows no example; set how many")
        return self


class ModelBasedMetric(_Strict):
    """A language model as the judge: a rubric scored 1-5 (pointwise) or a preference
    between the tuned model and the zero-shot baseline (pairwise)."""

    model_config = DEFERRED  # built when a file has an evaluation (`shapes.WhenPresent`)

    name: Annotated[str, StringConstraints(pattern=METRIC_NAME)] = Field(
        description="The metric's name in `require`, status and the report (camelCase).")
    kind: Literal["pointwise", "pairwise"] = Field(
        description="pointwise: a score 1-5 per answer; pairwise: CANDIDATE | BASELINE | TIE.")
    rubric: Annotated[str, StringConstraints(min_length=1, max_length=16_384)] = Field(
        description="The metric prompt template. Pointwise: {prompt} {response} {reference};"
        " pairwise: {prompt} {response} {baseline_response}.")
    @model_validator(mode="after")
    def _known_placeholders(self) -> ModelBasedMetric:
        problem = rubric_problem(self)
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def placeholders(self) -> tuple[str, ...]:
        return PAIRWISE_PLACEHOLDERS if self.kind == "pairwise" else POINTWISE_PLACEHOLDERS


def rubric_problem(metric: ModelBasedMetric) -> str | None:
    """What is wrong with a rubric's placeholders, or None."""
    used = _PLACEHOLDER.findall(metric.rubric)
    unknown = sorted({name for name in used if name not in metric.placeholders})
    if unknown:
        return (f"`modelBased` {metric.name!r}: unknown placeholder"
                f"{'s' if len(unknown) > 1 else ''} {', '.join('{' + u + '}' for u in unknown)}"
                f" in the rubric; a {metric.kind} rubric may use"
                f" {' '.join('{' + p + '}' for p in metric.placeholders)}")
    if "response" not in used:
        return f"`modelBased` {metric.name!r}: the rubric never shows the {{response}} it judges"
    return None

