"""PredictionService.GenerateContent over the wire: scripted answers, NOT_FOUND, faults, counts."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions as api
from google.cloud import aiplatform_v1

from tests.support.emulator_process import EmulatorAdmin, EmulatorProcess, sample_job
from tuning_operator.emulator import DURATION_LABEL
from tuning_operator.errors import NotFound, PermanentError, TemporaryError
from tuning_operator.specs.evaluation import GenerationConfig
from tuning_operator.specs.tokens import estimate_tokens
from tuning_operator.vertex.budget import RequestBudget
from tuning_operator.vertex.clients import emulator_factory
from tuning_operator.vertex.prediction import VertexPrediction, emulator_prediction_factory


def ask(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "parts": [{"text": text}]}]


@pytest.fixture(params=["grpc", "rest"])
def prediction(request: pytest.FixtureRequest,
               emulator: EmulatorProcess) -> Iterator[VertexPrediction]:
    """The prediction adapter against the emulator process, once per client transport."""
    transport = request.param
    endpoint = emulator.grpc_endpoint if transport == "grpc" else emulator.rest_endpoint
    budget = RequestBudget(crud_per_minute=60_000)
    with VertexPrediction.for_emulator(endpoint, budget=budget, transport=transport) as adapter:
        yield adapter


def tuned_endpoint(emulator: EmulatorProcess, parent: str, display_name: str) -> str:
    """Create a job that succeeds at once and return its tuned endpoint."""
    client = emulator_factory(emulator.grpc_endpoint)("us-central1")
    job = sample_job(labels={DURATION_LABEL: "0"})
    job.tuned_model_display_name = display_name
    created = client.create_tuning_job(parent=parent, tuning_job=job)
    endpoint: str = client.get_tuning_job(name=created.name).tuned_model.endpoint
    client.transport.close()
    assert endpoint
    return endpoint


def test_scripted_answers_for_tuned_and_base_models(
    prediction: VertexPrediction, emulator: EmulatorProcess, admin: EmulatorAdmin, parent: str
) -> None:
    """The tuned endpoint and the publisher model answer from their own scripts by prompt."""
    name = f"tuned-{uuid.uuid4().hex[:8]}"
    endpoint = tuned_endpoint(emulator, parent, name)
    admin.set_answers([
        {"model": "tuned:" + name, "answers": {"2+2?": "4"}, "default": "tuned default"},
        {"model": "gemini-2.5-flash", "answers": {"2+2?": "four"}},
    ])
    base = f"{parent}/publishers/google/models/gemini-2.5-flash"
    config = GenerationConfig(temperature=0, top_k=1, max_output_tokens=16, thinking_budget=0)
    before = admin.calls().get("GenerateContent", 0)
    conversation = [*ask("earlier"), {"role": "model", "parts": [{"text": "ok"}]}, *ask("2+2?")]
    assert prediction.generate(endpoint, conversation, config) == "4"
    assert prediction.generate(endpoint, ask("other"), config) == "tuned default"
    assert prediction.generate(base, ask("2+2?"), config) == "four"
    assert prediction.generate(base, ask("unscripted"), config,
                               system_instruction={"parts": [{"text": "be brief"}]}
                               ) == "emulated answer of gemini-2.5-flash"
    assert admin.calls()["GenerateContent"] - before == 4
    assert prediction.calls == 4


UNKNOWN = [
    ("unknown-base-model", "{parent}/publishers/google/models/gemini-9-ultra"),
    ("other-publisher", "{parent}/publishers/acme/models/gemini-2.5-flash"),
    ("unknown-endpoint", "{parent}/endpoints/123"),
]


@pytest.mark.parametrize(("case", "model"), UNKNOWN, ids=[c[0] for c in UNKNOWN])
def test_unknown_models_are_not_found(
    prediction: VertexPrediction, parent: str, case: str, model: str
) -> None:
    """A model the emulator does not serve is NOT_FOUND (a permanent error for the adapter)."""
    del case
    with pytest.raises(NotFound, match="not found"):
        prediction.generate(model.format(parent=parent), ask("x"), GenerationConfig())


def test_endpoint_of_a_running_job_is_not_found(
    prediction: VertexPrediction, emulator: EmulatorProcess, parent: str
) -> None:
    """A job that has not succeeded has no endpoint to ask."""
    client = emulator_factory(emulator.grpc_endpoint)("us-central1")
    job = client.create_tuning_job(parent=parent, tuning_job=sample_job())
    client.transport.close()
    endpoint = f"{parent}/endpoints/{job.name.rsplit('/', 1)[1]}"
    with pytest.raises(NotFound):
        prediction.generate(endpoint, ask("x"), GenerationConfig())


def test_faults_apply_to_generate_content(
    prediction: VertexPrediction, admin: EmulatorAdmin, parent: str
) -> None:
    """failNext on GenerateContent answers the fault once; the adapter says it is temporary."""
    base = f"{parent}/publishers/google/models/gemini-2.5-flash"
    admin.fail_next("GenerateContent", "UNAVAILABLE")
    with pytest.raises(TemporaryError):
        prediction.generate(base, ask("x"), GenerationConfig())
    assert prediction.generate(base, ask("x"), GenerationConfig()).startswith("emulated answer")


def test_request_without_a_user_turn_is_invalid(
    prediction: VertexPrediction, parent: str
) -> None:
    """Contents with no user turn are INVALID_ARGUMENT: a permanent error."""
    base = f"{parent}/publishers/google/models/gemini-2.5-flash"
    with pytest.raises(PermanentError, match="user"):
        prediction.generate(base, [{"role": "model", "parts": [{"text": "x"}]}],
                            GenerationConfig())


@pytest.mark.parametrize("transport", ["grpc", "rest"])
def test_raw_client_sees_real_response_messages(
    emulator: EmulatorProcess, parent: str, transport: str
) -> None:
    """The plain GAPIC client gets a GenerateContentResponse with a STOP candidate and usage."""
    endpoint = emulator.grpc_endpoint if transport == "grpc" else emulator.rest_endpoint
    factory = emulator_prediction_factory(endpoint, transport=transport)  # type: ignore[arg-type]
    client = factory("us-central1")
    response = client.generate_content(
        model=f"{parent}/publishers/google/models/gemini-2.5-pro",
        contents=[aiplatform_v1.Content(role="user", parts=[aiplatform_v1.Part(text="hi there")])],
    )
    client.transport.close()
    candidate = response.candidates[0]
    assert candidate.finish_reason == aiplatform_v1.Candidate.FinishReason.STOP
    assert candidate.content.role == "model"
    assert response.usage_metadata.prompt_token_count == 2  # "hi there": 8 bytes / 4
    answer = candidate.content.parts[0].text.encode("utf-8")
    assert response.usage_metadata.candidates_token_count == estimate_tokens(len(answer))


def test_bad_answer_scripts_are_rejected(admin: EmulatorAdmin) -> None:
    """A malformed answers document is INVALID_ARGUMENT and leaves the scripts unchanged."""
    admin.set_answers([{"model": "gemini-2.5-flash", "default": "kept"}])
    with pytest.raises(RuntimeError, match="model"):
        admin.set_answers([{"answers": {}}])
    with pytest.raises(RuntimeError, match="unknown keys"):
        admin.set_answers([{"model": "m", "answer": {}}])
    assert admin.set_answers([{"model": "gemini-2.5-flash", "default": "kept"}])[0]["default"]


def test_answers_file_scripts_the_emulator(tmp_path: Path) -> None:
    """`--answers FILE` loads the scripts at start; a broken file stops the emulator."""
    scripts = tmp_path / "answers.json"
    scripts.write_text(json.dumps([{"model": "gemini-2.5-flash", "answers": {"q": "a"}}]))
    with EmulatorProcess(extra_args=(f"--answers={scripts}",)) as process:
        client = emulator_prediction_factory(process.grpc_endpoint)("us-central1")
        response = client.generate_content(
            model="projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash",
            contents=[aiplatform_v1.Content(role="user", parts=[aiplatform_v1.Part(text="q")])],
        )
        client.transport.close()
        assert response.candidates[0].content.parts[0].text == "a"
    scripts.write_text("[{")
    with pytest.raises(Exception, match="not JSON"):
        EmulatorProcess(extra_args=(f"--answers={scripts}",)).start()


def test_not_found_is_the_api_error_family(emulator: EmulatorProcess, parent: str) -> None:
    """Over gRPC the raw client raises google.api_core NotFound for an unknown endpoint."""
    client = emulator_prediction_factory(emulator.grpc_endpoint)("us-central1")
    with pytest.raises(api.NotFound):
        client.generate_content(model=f"{parent}/endpoints/1", contents=[
            aiplatform_v1.Content(role="user", parts=[aiplatform_v1.Part(text="x")])])
    client.transport.close()
