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

SmokeVerdict = Literal["healthy", "unhealthy"]
EvaluationVerdict = Literal["passed", "failed", "error", "pending"]
EVALUATION_VERDICTS: tuple[EvaluationVerdict, ...] = ("passed", "failed", "error", "pending")


@dataclass(frozen=True)
class SmokeTestResult:
    """One generateContent to the tuned endpoint: healthy, or unhealthy and why."""

    endpoint: SmokeVerdict
    error: str | None = None  # only when unhealthy
    at: float | None = None  # when it was asked

    @property
    def healthy(self) -> bool:
        return self.endpoint == "healthy"


@dataclass(frozen=True)
class PreflightEstimate:
    """The dataset pre-flight's verdict when the job was created, beside what Vertex bills."""

    summary: str  # the line `plan --check-datasets` shows
    estimated_tokens: int | None = None  # billable training tokens (tokens × epochs)


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


_ALIAS_KEYS = {"alias": "alias", "team": "team", "job": "job", "model_version": "modelVersion",
               "checkpoint": "checkpoint", "endpoint": "endpoint", "gate": "gate",
               "since": "since", "previous_job": "previousJob",
               "previous_model_version": "previousModelVersion", "git_author": "gitAuthor",
               "git_revision": "gitRevision", "path": "path", "hold": "hold"}


def alias_to_json(record: AliasRecord) -> dict[str, Any]:
    """The stored form, camelCase as in `aliases --format json` and the alias events."""
    return {key: getattr(record, name) for name, key in _ALIAS_KEYS.items()}


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
    """One metric's scores as recorded (rounded): tuned, base model (None: not asked), gain."""

    tuned: float
    baseline: float | None = None
    gain: float | None = None


@dataclass(frozen=True)
class ExampleFailure:
    """An evaluation example that could not be answered, and the last error."""

    example: int
    error: str


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
    return {"endpoint": result.endpoint, **error, "at": result.at}


def smoke_test_from_json(value: Any) -> SmokeTestResult | None:
    if isinstance(value, SmokeTestResult):
        return value
    if not isinstance(value, Mapping) or value.get("endpoint") not in ("healthy", "unhealthy"):
        return None
    error = value.get("error")
    return SmokeTestResult(endpoint=value["endpoint"],
                           error=None if error is None else str(error), at=value.get("at"))


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
            "metrics": {name: {"tuned": m.tuned, "baseline": m.baseline, "gain": m.gain}
                        for name, m in evaluation.metrics.items()},
            "checkpoint": evaluation.checkpoint,
            "failures": [{"example": f.example, "error": f.error} for f in evaluation.failures],
            "reason": evaluation.reason, "key": evaluation.key,
            **({"unavailableSince": evaluation.unavailable_since}
               if evaluation.unavailable_since is not None else {})}


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
        metrics={str(name): MetricFigures(tuned=cast(float, m.get("tuned")),
                                          baseline=m.get("baseline"), gain=m.get("gain"))
                 for name, m in (metrics.items() if isinstance(metrics, Mapping) else ())
                 if isinstance(m, Mapping)},
        checkpoint=None if checkpoint is None else str(checkpoint),
        failures=tuple(ExampleFailure(example=cast(int, f.get("example")),
                                      error=_text(f.get("error")))
                       for f in (failures if isinstance(failures, list) else ())
                       if isinstance(f, Mapping)),
        key=None if key is None else str(key),
        unavailable_since=float(since) if isinstance(since, (int, float)) else None)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)
