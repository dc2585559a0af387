"""The emulated EvaluationService.EvaluateInstances: a scripted autorater.

The operator's model-based metrics must be tested over the wire against judgements a test
chooses. Scripts are a list of `{"metric": NAME, "scores": {RESPONSE_TEXT: SCORE},
"default": SCORE}`; set them with `--autorater FILE` or `POST /emulator/autorater`. An entry
applies to requests whose metric prompt template contains NAME (the operator's templates start
with a line naming the metric); an entry without `metric` applies to all. A pointwise score is
the scripted score of the response text; a pairwise choice compares the scripted scores of the
candidate and the baseline response (equal: TIE). With no entry for a response, the score is
1 + 4 × the token overlap (F1) of the response with the instance's `reference` (or with the
other response when there is none): deterministic, and better answers score higher.
Calls are counted and faulted like every method. Transport-free: the gRPC and REST fronts call
`evaluate_instances` with the real aiplatform_v1 types.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from google.cloud import aiplatform_v1

from tuning_operator.emulator.faults import CallLedger, FaultInjector
from tuning_operator.emulator.status import invalid_argument

METHOD = "EvaluateInstances"


@dataclass(frozen=True)
class ScoreScript:
    """Scores of response texts for one metric (None: every metric)."""

    metric: str | None
    scores: Mapping[str, float] = field(default_factory=dict)
    default: float | None = None


def parse_autorater(document: Any) -> list[ScoreScript]:
    """Scripts from their JSON form; ValueError names what is wrong."""
    if not isinstance(document, list):
        raise ValueError("autorater scripts must be a JSON list of {metric, scores, default}")
    scripts = []
    for index, entry in enumerate(document):
        if not isinstance(entry, dict) or set(entry) - {"metric", "scores", "default"}:
            raise ValueError(f"autorater[{index}]: an object with metric, scores, default")
        metric, scores, default = entry.get("metric"), entry.get("scores") or {}, entry.get(
            "default")
        if metric is not None and not isinstance(metric, str):
            raise ValueError(f"autorater[{index}].metric must be a string")
        if not isinstance(scores, dict) or not all(
                isinstance(k, str) and _number(v) for k, v in scores.items()):
            raise ValueError(f"autorater[{index}].scores must map response texts to numbers")
        if default is not None and not _number(default):
            raise ValueError(f"autorater[{index}].default must be a number")
        scripts.append(ScoreScript(metric, {k: float(v) for k, v in scores.items()},
                                   None if default is None else float(default)))
    return scripts


def load_autorater(path: Path) -> list[ScoreScript]:
    """Scripts from a JSON file (the `--autorater FILE` option)."""
    try:
        return parse_autorater(orjson.loads(path.read_bytes()))
    except orjson.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON: {error}") from None
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


class ScriptedAutorater:
    """The current scripts; replaced whole (admin route), read by every call. Thread-safe."""

    def __init__(self, scripts: list[ScoreScript] | None = None) -> None:
        self._lock = threading.Lock()
        self._scripts = list(scripts or [])

    def replace(self, scripts: list[ScoreScript]) -> None:
        with self._lock:
            self._scripts = list(scripts)

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"metric": s.metric, "scores": dict(s.scores), "default": s.default}
                    for s in self._scripts]

    def score(self, template: str, response: str, reference: str) -> float:
        """The scripted score of `response` under the first entry for the template's metric
        that scores it, else the overlap score."""
        with self._lock:
            scripts = [s for s in self._scripts if s.metric is None or s.metric in template]
        named = sorted(scripts, key=lambda s: s.metric is None)  # a named entry first
        for script in named:
            if response in script.scores:
                return script.scores[response]
        for script in named:
            if script.default is not None:
                return script.default
        return round(1.0 + 4.0 * overlap(response, reference), 3)


def overlap(response: str, reference: str) -> float:
    """Token F1 of two texts (case-folded words)."""
    said, wanted = Counter(response.casefold().split()), Counter(reference.casefold().split())
    common = sum((said & wanted).values())
    if not common:
        return 0.0
    precision, recall = common / sum(said.values()), common / sum(wanted.values())
    return 2 * precision * recall / (precision + recall)


class EvaluationService:
    """EvaluateInstances for pointwise and pairwise metric inputs, by the scripted autorater."""

    def __init__(self, *, autorater: ScriptedAutorater, faults: FaultInjector,
                 ledger: CallLedger) -> None:
        self.autorater = autorater
        self.faults = faults
        self.ledger = ledger

    def evaluate_instances(
        self, request: aiplatform_v1.EvaluateInstancesRequest
    ) -> aiplatform_v1.EvaluateInstancesResponse:
        self.ledger.count(METHOD)
        self.faults.before(METHOD)
        if not request.location:
            raise invalid_argument("location is not specified.")
        kind = aiplatform_v1.EvaluateInstancesRequest.pb(request).WhichOneof("metric_inputs")
        if kind == "pointwise_metric_input":
            return self._pointwise(request.pointwise_metric_input)
        if kind == "pairwise_metric_input":
            return self._pairwise(request.pairwise_metric_input)
        raise invalid_argument(f"the emulator judges pointwise and pairwise metric inputs, not"
                               f" {kind or 'an empty request'}.")

    def _pointwise(
        self, given: aiplatform_v1.PointwiseMetricInput
    ) -> aiplatform_v1.EvaluateInstancesResponse:
        template = given.metric_spec.metric_prompt_template
        instance = _instance(given.instance.json_instance)
        response = instance.get("response", "")
        score = self.autorater.score(template, response, instance.get("reference", ""))
        return aiplatform_v1.EvaluateInstancesResponse(
            pointwise_metric_result=aiplatform_v1.PointwiseMetricResult(
                score=score, explanation=f"scripted score {score:g} for {response[:60]!r}"))

    def _pairwise(
        self, given: aiplatform_v1.PairwiseMetricInput
    ) -> aiplatform_v1.EvaluateInstancesResponse:
        spec = given.metric_spec
        template = spec.metric_prompt_template
        instance = _instance(given.instance.json_instance)
        candidate = instance.get(spec.candidate_response_field_name or "response", "")
        baseline = instance.get(spec.baseline_response_field_name or "baseline_response", "")
        reference = instance.get("reference")
        first = self.autorater.score(template, candidate, reference or baseline)
        second = self.autorater.score(template, baseline, reference or candidate)
        choice = ("CANDIDATE" if first > second else "BASELINE" if second > first else "TIE")
        return aiplatform_v1.EvaluateInstancesResponse(
            pairwise_metric_result=aiplatform_v1.PairwiseMetricResult(
                pairwise_choice=getattr(aiplatform_v1.PairwiseChoice, choice),
                explanation=f"scripted {first:g} vs {second:g}"))


def _instance(text: str) -> dict[str, str]:
    try:
        document = orjson.loads(text or "{}")
    except orjson.JSONDecodeError as error:
        raise invalid_argument(f"instance.json_instance is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise invalid_argument("instance.json_instance must be a JSON object")
    return {str(k): v if isinstance(v, str) else str(v) for k, v in document.items()}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
