"""The typed sub-records of a job's record, and their one stored (JSON) form.

A record's results (Vertex's checkpoints, the endpoint's smoke test, the curves' diagnosis, the
evaluation and its gate) are frozen values in memory; only the store turns them into JSON and
back, here, with the keys the 0.1 release wrote (`tests/operator/state/golden/`): checkpoints
and the smoke test in lower case, the diagnosis and the evaluation in camelCase (the words of
`status --format json` and of the events, which reuse these forms). Reading is lenient about
values (a report shows a NaN or a non-number as absent) but not about shape: a sub-record
without what identifies it (a verdict, a checkpoint's id) is dropped, never the whole record.
Nothing here reads a file or decides anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from tuning_operator.judging.curves import Checkpoint
from tuning_operator.judging.diagnosis import VERDICTS, Diagnosis
from tuning_operator.judging.usage import Usage
from tuning_operator.planning.alias_model import NO_LONGER_PASSING
from tuning_operator.planning.model import Lineage

__all__ = ["Lineage"]  # the planner decides it at the create; stored here like the others

SmokeVerdict = Literal["healthy", "unhealthy"]
EvaluationVerdict = Literal["passed", "failed", "error", "pending"]
EVALUATION_VERDICTS: tuple[EvaluationVerdict, ...] = ("passed", "failed", "error", "pending")


@dataclass(frozen=True)
class SmokeTestResult:
    """One generateContent to the tuned endpoint: healthy, or unhealthy and why."""

    endpoint: SmokeVerdict
    error: str | None = None  # only when unhealthy
    at: float | None = None  # when it was asked
    usage: Usage | None = None  # the prediction tokens Vertex billed for its answer

    @property
    def healthy(self) -> bool:
        return self.endpoint == "healthy"


@dataclass(frozen=True, slots=True)  # one per job created
class PreflightEstimate:
    """The dataset pre-flight's verdict when the job was created, beside what Vertex bills."""

    summary: str  # the line `plan --check-datasets` shows
    estimated_tokens: int | None = None  # billable training tokens (tokens × epochs)
    # For the spend ledger (state/ledger.py): when the create went out, the base model that
    # prices it, the evaluation's expected prediction tokens, whether the epochs were assumed.
    created_at: float | None = None
    model: str | None = None
    prediction_tokens: int | None = None
    epochs_assumed: bool = False
    estimated_cost: float | None = None  # by the policy's prices at the create (None: unpriced)
    currency: str | None = None
    # Each dataset object's generation as read at the create (URI → generation): what the job
    # was trained on, even if the object is overwritten later.
    generations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AliasRecord:
    """Where the operator put one `ModelAlias` (`team/alias`), on whose word, and any hold.

    `job` and `model_version` are None until the first promotion; `hold` is the reason the
    alias does not move now (a failed gate, a failed job), None when nothing holds it.
    """

    alias: str
    team: str
    job: str | None = None
    model_version: str | None = None  # projects/P/locations/L/models/ID@VERSION
    checkpoint: str | None = None  # None: the tuned model's final endpoint
    endpoint: str | None = None
    gate: str = "passed"  # passed | none: what let it move
    since: float | None = None  # when it was put there
    previous_job: str | None = None
    previous_model_version: str | None = None
    git_author: str | None = None  # of the alias file, at the promotion
    git_revision: str | None = None  # the jobs directory's commit the promotion applied
    path: str | None = None  # the alias file, relative to the jobs directory
    hold: str | None = None

    @property
    def no_longer_passing(self) -> bool:
        """The job it sits on no longer passes its gate (its evaluation set changed and the
        new verdict failed): the alias stays, and `aliases`, the held event and the object
        say so. The planner's hold reason says it first (`NO_LONGER_PASSING`)."""
        return self.hold is not None and self.hold.startswith(NO_LONGER_PASSING)


_ALIAS_KEYS = {"alias": "alias", "team": "team", "job": "job", "model_version": "modelVersion",
               "checkpoint": "checkpoint", "endpoint": "endpoint", "gate": "gate",
               "since": "since", "previous_job": "previousJob",
               "previous_model_version": "previousModelVersion", "git_author": "gitAuthor",
               "git_revision": "gitRevision", "path": "path", "hold": "hold"}


def alias_to_json(record: AliasRecord) -> dict[str, Any]:
    """The stored form, camelCase as in `aliases --format json` and the alias events."""
    return {**{key: getattr(record, name) for name, key in _ALIAS_KEYS.items()},
            "noLongerPassing": record.no_longer_passing}


def alias_from_json(value: Any) -> AliasRecord | None:
    """A stored alias record; None when it lacks its name or team (it is then forgotten, and
    the next pass promotes again from the file: MergeVersionAliases is idempotent)."""
    if not isinstance(value, Mapping):
        return None
    fields: dict[str, Any] = {name: value.get(key) for name, key in _ALIAS_KEYS.items()
                              if key in value}
    if not isinstance(fields.get("alias"), str) or not isinstance(fields.get("team"), str):
        return None
    if not isinstance(fields.get("gate", "passed"), str):
        return None
    return AliasRecord(**fields)


@dataclass(frozen=True)
class MetricFigures:
    """One metric's scores as recorded (rounded): tuned, base model zero-shot (None: not
    asked), gain over it, base model few-shot; for a model-based metric rated by people, the
    autorater's agreement with them (kappa, share within one step, examples rated)."""

    tuned: float
    baseline: float | None = None
    gain: float | None = None
    few_shot: float | None = None
    kappa: float | None = None
    within_one: float | None = None
    rated: int | None = None


@dataclass(frozen=True)
class ExampleFailure:
    """An evaluation example that could not be answered, and the last error."""

    example: int
    error: str


@dataclass(frozen=True)
class JudgedExample:
    """One of the tuned model's lowest-scored answers on a pointwise metric, and why."""

    metric: str
    example: int
    score: float
    explanation: str


@dataclass(frozen=True)
class CheckpointEvaluation:
    """One checkpoint's evaluation when every checkpoint is evaluated (`checkpoints: all`)."""

    checkpoint: str
    verdict: EvaluationVerdict
    metrics: Mapping[str, MetricFigures] = field(default_factory=dict)
    step: int | None = None


@dataclass(frozen=True)
class Evaluation:
    """The tuned model's evaluation and gate; `pending` while answers are still being asked."""

    verdict: EvaluationVerdict
    reason: str
    examples: int = 0  # the examples scored
    metrics: Mapping[str, MetricFigures] = field(default_factory=dict)
    checkpoint: str | None = None  # the checkpoint asked, None: the tuned endpoint
    failures: tuple[ExampleFailure, ...] = ()
    key: str | None = None  # what the evaluation was of (`planning.aftercare.evaluation_key`)
    unavailable_since: float | None = None  # paused by an outage since then (giveUpAfter)
    few_shot: int = 0  # the shots the few-shot baseline was shown (0: none asked)
    checkpoints: tuple[CheckpointEvaluation, ...] = ()  # each one's, with `checkpoints: all`
    worst: tuple[JudgedExample, ...] = ()  # per pointwise metric, the lowest-scored answers
    # The prediction tokens Vertex billed for every answer held under this evaluation's
    # generation config (all checkpoints and baselines; None: a response reported none)
    usage: Usage | None = None

    @property
    def final(self) -> bool:
        return self.verdict != "pending"


# -- the stored forms ------------------------------------------------------------------------


def checkpoints_to_json(checkpoints: tuple[Checkpoint, ...]) -> list[dict[str, Any]]:
    return [c.to_dict() for c in checkpoints]


def checkpoints_from_json(value: Any) -> tuple[Checkpoint, ...]:
    """Each readable checkpoint; a damaged one is left out (Vertex lists them every pass)."""
    if isinstance(value, tuple) and all(isinstance(c, Checkpoint) for c in value):
        return value
    if not isinstance(value, list):
        return ()
    return tuple(c for c in map(_checkpoint, value) if c is not None)


def _checkpoint(value: Any) -> Checkpoint | None:
    if isinstance(value, Checkpoint):
        return value
    if not isinstance(value, Mapping):
        return None
    try:
        return Checkpoint.from_dict(value)
    except (KeyError, TypeError, ValueError):
        return None


def _best_checkpoint(value: Any) -> Checkpoint | None:
    """The diagnosis' choice: its id is what counts (a report completes the step from the
    metrics file), so a stored one without epoch or step is kept as it is."""
    if not isinstance(value, Mapping) or value.get("id") is None:
        return _checkpoint(value)
    endpoint = value.get("endpoint")
    return Checkpoint(str(value["id"]), epoch=cast(int, value.get("epoch")),
                      step=cast(int, value.get("step")),
                      endpoint=None if endpoint is None else str(endpoint))


def smoke_test_to_json(result: SmokeTestResult) -> dict[str, Any]:
    error = {} if result.error is None else {"error": result.error}
    usage = {} if result.usage is None else {"predictionTokens": result.usage.to_json()}
    return {"endpoint": result.endpoint, **error, "at": result.at, **usage}


def smoke_test_from_json(value: Any) -> SmokeTestResult | None:
    if isinstance(value, SmokeTestResult):
        return value
    if not isinstance(value, Mapping) or value.get("endpoint") not in ("healthy", "unhealthy"):
        return None
    error = value.get("error")
    return SmokeTestResult(endpoint=value["endpoint"],
                           error=None if error is None else str(error), at=value.get("at"),
                           usage=Usage.from_json(value.get("predictionTokens")))


def diagnosis_to_json(diagnosis: Diagnosis) -> dict[str, Any]:
    return diagnosis.to_dict()


def diagnosis_from_json(value: Any) -> Diagnosis | None:
    """A stored diagnosis; without a known verdict it is dropped (the curves are read again)."""
    if isinstance(value, Diagnosis):
        return value
    if not isinstance(value, Mapping) or value.get("verdict") not in VERDICTS:
        return None
    return Diagnosis(verdict=value["verdict"], reason=_text(value.get("reason")),
                     mitigation=_text(value.get("mitigation")),
                     best_checkpoint=_best_checkpoint(value.get("bestCheckpoint")),
                     final_train_loss=value.get("finalTrainLoss"),
                     final_eval_loss=value.get("finalEvalLoss"))


def evaluation_to_json(evaluation: Evaluation) -> dict[str, Any]:
    """The `evaluation` block; the evaluated event carries it without `key` and `reason`."""
    return {"verdict": evaluation.verdict, "examples": evaluation.examples,
            "metrics": {name: _metric_to_json(m) for name, m in evaluation.metrics.items()},
            "checkpoint": evaluation.checkpoint,
            "failures": [{"example": f.example, "error": f.error} for f in evaluation.failures],
            "reason": evaluation.reason, "key": evaluation.key,
            **({"unavailableSince": evaluation.unavailable_since}
               if evaluation.unavailable_since is not None else {}),
            **({"fewShot": evaluation.few_shot} if evaluation.few_shot else {}),
            **({"checkpoints": [
                {"checkpoint": c.checkpoint, "step": c.step, "verdict": c.verdict,
                 "metrics": {name: _metric_to_json(m) for name, m in c.metrics.items()}}
                for c in evaluation.checkpoints]} if evaluation.checkpoints else {}),
            **({"worst": [{"metric": w.metric, "example": w.example, "score": w.score,
                           "explanation": w.explanation} for w in evaluation.worst]}
               if evaluation.worst else {}),
            **({"predictionTokens": evaluation.usage.to_json()} if evaluation.usage else {})}


_OPTIONAL_FIGURES = (("few_shot", "fewShot"), ("kappa", "kappa"), ("within_one", "withinOne"),
                     ("rated", "rated"))


def _metric_to_json(m: MetricFigures) -> dict[str, Any]:
    """tuned, baseline and gain always (the 0.1 form); the newer figures when measured."""
    return {"tuned": m.tuned, "baseline": m.baseline, "gain": m.gain,
            **{key: getattr(m, name) for name, key in _OPTIONAL_FIGURES
               if getattr(m, name) is not None}}


def _metric_from_json(m: Mapping[str, Any]) -> MetricFigures:
    return MetricFigures(tuned=cast(float, m.get("tuned")), baseline=m.get("baseline"),
                         gain=m.get("gain"),
                         **{name: m.get(key) for name, key in _OPTIONAL_FIGURES})


def evaluation_from_json(value: Any) -> Evaluation | None:
    """A stored evaluation; without a known verdict it is dropped (and is asked again: every
    answer paid for is in the job's journal). Odd figures are kept for the report to judge."""
    if isinstance(value, Evaluation):
        return value
    if not isinstance(value, Mapping) or value.get("verdict") not in EVALUATION_VERDICTS:
        return None
    metrics = value.get("metrics")
    failures = value.get("failures")
    checkpoint = value.get("checkpoint")
    if isinstance(checkpoint, Mapping):  # a checkpoint object: its id
        checkpoint = checkpoint.get("id")
    key = value.get("key")
    since = value.get("unavailableSince")
    return Evaluation(
        verdict=cast(EvaluationVerdict, value["verdict"]),
        reason=_text(value.get("reason")),
        examples=value.get("examples", 0),
        metrics={str(name): _metric_from_json(m)
                 for name, m in (metrics.items() if isinstance(metrics, Mapping) else ())
                 if isinstance(m, Mapping)},
        checkpoint=None if checkpoint is None else str(checkpoint),
        failures=tuple(ExampleFailure(example=cast(int, f.get("example")),
                                      error=_text(f.get("error")))
                       for f in (failures if isinstance(failures, list) else ())
                       if isinstance(f, Mapping)),
        key=None if key is None else str(key),
        unavailable_since=float(since) if isinstance(since, (int, float)) else None,
        few_shot=shots if isinstance(shots := value.get("fewShot"), int) else 0,
        checkpoints=_checkpoint_evaluations(value.get("checkpoints")),
        worst=_worst(value.get("worst")),
        usage=Usage.from_json(value.get("predictionTokens")))


def _worst(value: Any) -> tuple[JudgedExample, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(JudgedExample(metric=str(w["metric"]), example=int(w["example"]),
                               score=float(w["score"]), explanation=_text(w.get("explanation")))
                 for w in value if isinstance(w, Mapping) and isinstance(w.get("example"), int)
                 and isinstance(w.get("score"), (int, float)) and w.get("metric") is not None)


def _checkpoint_evaluations(value: Any) -> tuple[CheckpointEvaluation, ...]:
    """Each readable checkpoint's evaluation; one without an id or a verdict is left out."""
    if not isinstance(value, list):
        return ()
    return tuple(
        CheckpointEvaluation(
            checkpoint=str(c["checkpoint"]), verdict=c["verdict"],
            step=c.get("step") if isinstance(c.get("step"), int) else None,
            metrics={str(n): _metric_from_json(m) for n, m in (
                c.get("metrics") or {}).items() if isinstance(m, Mapping)})
        for c in value if isinstance(c, Mapping) and c.get("checkpoint") is not None
        and c.get("verdict") in EVALUATION_VERDICTS)


_LINEAGE_KEYS = (("tuned_model", "tunedModel"), ("checkpoint_id", "checkpointId"),
                 ("base_model", "baseModel"), ("job", "job"), ("checkpoint", "checkpoint"))


def lineage_to_json(lineage: Lineage) -> dict[str, Any]:
    """The `continuedFrom` block of `status`, the events and the store (camelCase)."""
    return {key: getattr(lineage, name) for name, key in _LINEAGE_KEYS
            if getattr(lineage, name) is not None}


def lineage_from_json(value: Any) -> Lineage | None:
    """A stored lineage; without its tuned model it is dropped (nothing else identifies it)."""
    if isinstance(value, Lineage):
        return value
    if not isinstance(value, Mapping) or not isinstance(value.get("tunedModel"), str):
        return None
    found = {name: None if value.get(key) is None else str(value[key])
             for name, key in _LINEAGE_KEYS}
    return Lineage(tuned_model=value["tunedModel"], checkpoint_id=found["checkpoint_id"],
                   base_model=found["base_model"], job=found["job"],
                   checkpoint=found["checkpoint"])


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)
