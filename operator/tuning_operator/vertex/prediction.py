"""`VertexPrediction`: one generateContent to a tuned endpoint or a publisher model, as text.

The evaluation and the smoke test ask models questions through this adapter only. A model is
addressed by its resource name: a tuned model's endpoint
(`projects/P/locations/L/endpoints/E`) or a base model
(`projects/P/locations/L/publishers/google/models/M`); the region of the name picks the
regional endpoint. Each call spends a token of the adapter's own RequestBudget (prediction
quota is not the tuning CRUD quota) and is tried once: a failure leaves as an error of
`tuning_operator.errors` and the caller decides whether to ask again (a retry costs an answer).
This class never scores and never stores.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from google.cloud import aiplatform_v1
from google.protobuf import json_format

from tuning_operator.errors import PermanentError
from tuning_operator.judging.usage import Answer, Usage
from tuning_operator.specs.evaluation import GenerationConfig
from tuning_operator.vertex.budget import RequestBudget
from tuning_operator.vertex.clients import (
    ClientFactory,
    RegionalAdapter,
    RegionalClients,
    Transport,
    emulator_service_factory,
)
from tuning_operator.vertex.failures import translate

_LOCATION = re.compile(r"^projects/[^/]+/locations/(?P<location>[^/]+)/")
# Base models on the global endpoint (and tuned 3.x models on multi-regions) answer there.
_GLOBAL_HOSTS = {"global": "aiplatform.googleapis.com"}


def location_of(model: str) -> str:
    """The location segment of a model or endpoint resource name."""
    match = _LOCATION.match(model)
    if match is None:
        raise PermanentError(f"{model!r} is not a projects/P/locations/L/… resource name")
    return match["location"]


def vertex_prediction_client(location: str) -> Any:
    """A PredictionServiceClient for real Vertex at `location` (application default creds)."""
    host = _GLOBAL_HOSTS.get(location, f"{location}-aiplatform.googleapis.com")
    return aiplatform_v1.PredictionServiceClient(client_options={"api_endpoint": host})


def emulator_prediction_factory(endpoint: str, *, transport: Transport = "grpc") -> ClientFactory:
    """A factory that hands every location the same client of the emulator at `endpoint`."""
    return emulator_service_factory(aiplatform_v1.PredictionServiceClient, endpoint,
                                    transport=transport)


def generation_config_message(config: GenerationConfig) -> aiplatform_v1.GenerationConfig:
    """The aiplatform_v1 form; a thinking budget is sent only when there is one."""
    message = aiplatform_v1.GenerationConfig(temperature=config.temperature)
    if config.top_p is not None:
        message.top_p = config.top_p
    if config.top_k is not None:
        message.top_k = float(config.top_k)
    if config.max_output_tokens is not None:
        message.max_output_tokens = config.max_output_tokens
    if config.thinking_budget is not None:
        message.thinking_config = aiplatform_v1.GenerationConfig.ThinkingConfig(
            thinking_budget=config.thinking_budget
        )
    return message


def generate_request(model: str, contents: Sequence[Mapping[str, Any]],
                     config: GenerationConfig,
                     system_instruction: Mapping[str, Any] | None = None) -> Any:
    """The request, parsed once from its JSON form (proto-plus field by field costs twice the
    CPU, which an evaluation's 20,000 requests take from the machine's answers)."""
    document: dict[str, Any] = {"model": model, "contents": list(contents)}
    if system_instruction is not None:
        document["systemInstruction"] = system_instruction
    message = aiplatform_v1.GenerateContentRequest.pb()()
    json_format.ParseDict(document, message, ignore_unknown_fields=True)
    message.generation_config.CopyFrom(
        aiplatform_v1.GenerationConfig.pb(generation_config_message(config)))
    return aiplatform_v1.GenerateContentRequest.wrap(message)


def answer_text(response: aiplatform_v1.GenerateContentResponse, *, model: str) -> Answer:
    """The first candidate's text, thoughts left out, with the tokens billed for it;
    PermanentError when nothing answered."""
    message = aiplatform_v1.GenerateContentResponse.pb(response)  # plain protobuf: cheap reads
    if not message.candidates:
        blocked = message.prompt_feedback.block_reason
        name = aiplatform_v1.GenerateContentResponse.PromptFeedback.BlockedReason(blocked).name
        why = f"prompt blocked ({name})" if blocked else "no candidate"
        raise PermanentError(f"{model}: no answer: {why}")
    parts = message.candidates[0].content.parts
    return Answer("".join(part.text for part in parts if not part.thought),
                  billed_usage(message))


def billed_usage(message: Any) -> Usage | None:
    """`usage_metadata` as billed: the prompt's tokens in, the rest of the total out (the
    answer's and the thoughts'); None when the response reported no usage."""
    if not message.HasField("usage_metadata"):
        return None
    usage = message.usage_metadata
    total = usage.total_token_count or (
        usage.prompt_token_count + usage.candidates_token_count + usage.thoughts_token_count)
    if total <= 0:
        return None
    return Usage(input=usage.prompt_token_count,
                 output=max(0, total - usage.prompt_token_count))


class VertexPrediction(RegionalAdapter):
    """generateContent through aiplatform_v1.PredictionServiceClient, paced by a budget."""

    def __init__(self, *, clients: RegionalClients, budget: RequestBudget,
                 timeout: float = 120.0) -> None:
        self._clients = clients
        self._budget = budget
        self._timeout = timeout
        self._lock = threading.Lock()
        self.calls = 0  # generateContent requests sent (for cost reports and tests)

    @classmethod
    def for_vertex(cls, *, budget: RequestBudget, **options: Any) -> VertexPrediction:
        """Real Vertex: application default credentials, regional endpoints."""
        return cls(clients=RegionalClients(vertex_prediction_client), budget=budget, **options)

    @classmethod
    def for_emulator(cls, endpoint: str, *, budget: RequestBudget, transport: Transport = "grpc",
                     **options: Any) -> VertexPrediction:
        """The emulator at HOST:PORT (gRPC) or http://HOST:PORT (REST)."""
        clients = RegionalClients(emulator_prediction_factory(endpoint, transport=transport))
        return cls(clients=clients, budget=budget, **options)

    def generate(
        self,
        model: str,
        contents: Sequence[Mapping[str, Any]],
        generation_config: GenerationConfig,
        *,
        system_instruction: Mapping[str, Any] | None = None,
    ) -> Answer:
        """The model's answer to `contents` (turns in the dataset's JSON form), one attempt,
        with the tokens Vertex billed for it."""
        location = location_of(model)
        request = generate_request(model, contents, generation_config, system_instruction)
        client = self._clients.for_region(location)
        self._budget.spend(location)
        with self._lock:
            self.calls += 1
        try:
            response = client.generate_content(request=request, retry=None,
                                               timeout=self._timeout)
        except Exception as error:
            raise translate(error, action=f"generateContent {model}") from error
        return answer_text(response, model=model)

