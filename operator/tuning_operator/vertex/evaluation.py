"""`VertexEvaluation`: one judgement of a model-based metric through EvaluationService.

The evaluation's autorater speaks through this adapter only:
`aiplatform_v1.EvaluationServiceClient.evaluate_instances` with a `pointwise_metric_input`
(`metric_spec.metric_prompt_template`, `instance.json_instance` → `score`, `explanation`) or a
`pairwise_metric_input` (the tuned answer as the candidate, the baseline's as the baseline →
`pairwise_choice`). The template sent starts with a line naming the metric, so a person
reading Vertex's logs (and the emulator's scripts) can tell the metrics apart. Like
`VertexPrediction`, each call spends a token of the adapter's budget and is tried once: the
caller journals what was paid for and decides whether to ask again. Nothing here scores.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import orjson
from google.cloud import aiplatform_v1

from tuning_operator.errors import PermanentError
from tuning_operator.judging.judges import Judgement
from tuning_operator.specs.judges import ModelBasedMetric
from tuning_operator.vertex.budget import RequestBudget
from tuning_operator.vertex.clients import (
    RegionalAdapter,
    RegionalClients,
    Transport,
    emulator_service_factory,
    vertex_service_factory,
)
from tuning_operator.vertex.failures import translate

CANDIDATE_FIELD, BASELINE_FIELD = "response", "baseline_response"


def metric_template(metric: ModelBasedMetric) -> str:
    """The rubric under a first line that names the metric."""
    return f"# metric: {metric.name}\n{metric.rubric}"


def evaluate_request(location: str, metric: ModelBasedMetric,
                     instance: Mapping[str, str]) -> aiplatform_v1.EvaluateInstancesRequest:
    """The request for one instance: pointwise or pairwise, as the metric's kind says."""
    json_instance = orjson.dumps(dict(instance)).decode()
    if metric.kind == "pairwise":
        return aiplatform_v1.EvaluateInstancesRequest(
            location=location,
            pairwise_metric_input=aiplatform_v1.PairwiseMetricInput(
                metric_spec=aiplatform_v1.PairwiseMetricSpec(
                    metric_prompt_template=metric_template(metric),
                    candidate_response_field_name=CANDIDATE_FIELD,
                    baseline_response_field_name=BASELINE_FIELD),
                instance=aiplatform_v1.PairwiseMetricInstance(json_instance=json_instance)))
    return aiplatform_v1.EvaluateInstancesRequest(
        location=location,
        pointwise_metric_input=aiplatform_v1.PointwiseMetricInput(
            metric_spec=aiplatform_v1.PointwiseMetricSpec(
                metric_prompt_template=metric_template(metric)),
            instance=aiplatform_v1.PointwiseMetricInstance(json_instance=json_instance)))


def judgement_of(response: aiplatform_v1.EvaluateInstancesResponse,
                 metric: ModelBasedMetric) -> Judgement:
    """The result as a `Judgement`; PermanentError when Vertex answered something else."""
    message = aiplatform_v1.EvaluateInstancesResponse.pb(response)
    if metric.kind == "pairwise":
        if not message.HasField("pairwise_metric_result"):
            raise PermanentError(f"{metric.name}: no pairwise result in the answer")
        result = message.pairwise_metric_result
        choice = aiplatform_v1.PairwiseChoice(result.pairwise_choice).name
        if choice not in ("CANDIDATE", "BASELINE", "TIE"):
            raise PermanentError(f"{metric.name}: the autorater made no choice ({choice})")
        return Judgement(choice=choice, explanation=result.explanation)
    if not message.HasField("pointwise_metric_result"):
        raise PermanentError(f"{metric.name}: no pointwise result in the answer")
    result = message.pointwise_metric_result
    if not result.HasField("score"):
        raise PermanentError(f"{metric.name}: the autorater gave no score")
    return Judgement(score=round(result.score, 4), explanation=result.explanation)


class VertexEvaluation(RegionalAdapter):
    """evaluate_instances through aiplatform_v1.EvaluationServiceClient, paced by a budget."""

    def __init__(self, *, clients: RegionalClients, budget: RequestBudget, project: str,
                 timeout: float = 120.0) -> None:
        self._clients = clients
        self._budget = budget
        self._project = project
        self._timeout = timeout
        self._lock = threading.Lock()
        self.calls = 0  # evaluate_instances requests sent (cost reports and tests)

    @classmethod
    def for_vertex(cls, *, budget: RequestBudget, project: str,
                   **options: Any) -> VertexEvaluation:
        """Real Vertex: application default credentials, regional endpoints."""
        factory = vertex_service_factory(aiplatform_v1.EvaluationServiceClient)
        return cls(clients=RegionalClients(factory), budget=budget, project=project, **options)

    @classmethod
    def for_emulator(cls, endpoint: str, *, budget: RequestBudget, project: str,
                     transport: Transport = "grpc", **options: Any) -> VertexEvaluation:
        """The emulator at HOST:PORT (gRPC) or http://HOST:PORT (REST)."""
        factory = emulator_service_factory(aiplatform_v1.EvaluationServiceClient, endpoint,
                                           transport=transport)
        return cls(clients=RegionalClients(factory), budget=budget, project=project, **options)

    def judge(self, region: str, metric: ModelBasedMetric,
              instance: Mapping[str, str]) -> Judgement:
        """The autorater's judgement of `instance` on `metric`, one attempt."""
        request = evaluate_request(f"projects/{self._project}/locations/{region}", metric,
                                   instance)
        client = self._clients.for_region(region)
        self._budget.spend(region)
        with self._lock:
            self.calls += 1
        try:
            response = client.evaluate_instances(request=request, retry=None,
                                                 timeout=self._timeout)
        except Exception as error:
            raise translate(error, action=f"evaluateInstances {metric.name}") from error
        return judgement_of(response, metric)

