"""The prediction adapter's pure parts: the config it sends, the text it reads, the location."""

from __future__ import annotations

import pytest
from google.cloud import aiplatform_v1

from tuning_operator.errors import PermanentError
from tuning_operator.judging.usage import Usage
from tuning_operator.specs.evaluation import GenerationConfig
from tuning_operator.vertex.prediction import answer_text, generation_config_message, location_of


def test_generation_config_sends_only_what_is_set() -> None:
    """Unset fields stay unset; a thinking budget (0 included) goes into thinking_config."""
    full = generation_config_message(GenerationConfig(
        temperature=0, top_p=1, top_k=1, max_output_tokens=256, thinking_budget=0))
    assert (full.temperature, full.top_p, full.top_k, full.max_output_tokens) == (0, 1, 1, 256)
    assert "thinking_config" in full and full.thinking_config.thinking_budget == 0
    bare = generation_config_message(GenerationConfig())
    assert "thinking_config" not in bare and "max_output_tokens" not in bare
    assert "top_k" not in bare


def test_answer_text_leaves_thoughts_out() -> None:
    """The answer is the first candidate's text parts that are not thoughts."""
    response = aiplatform_v1.GenerateContentResponse(candidates=[aiplatform_v1.Candidate(
        content=aiplatform_v1.Content(role="model", parts=[
            aiplatform_v1.Part(text="thinking…", thought=True),
            aiplatform_v1.Part(text="billing"), aiplatform_v1.Part(text=" queue")]))])
    assert answer_text(response, model="m") == "billing queue"


def test_the_answer_carries_what_usage_metadata_billed() -> None:
    """Input: the prompt's tokens; output: the rest of the total (answer and thoughts); a
    response without usage_metadata has none (the ledger then keeps its estimate)."""
    candidate = aiplatform_v1.Candidate(content=aiplatform_v1.Content(
        role="model", parts=[aiplatform_v1.Part(text="ok")]))
    metadata = aiplatform_v1.GenerateContentResponse.UsageMetadata
    billed = aiplatform_v1.GenerateContentResponse(candidates=[candidate], usage_metadata=metadata(
        prompt_token_count=12, candidates_token_count=3, thoughts_token_count=40,
        total_token_count=55))
    assert answer_text(billed, model="m").usage == Usage(12, 43)
    no_total = aiplatform_v1.GenerateContentResponse(
        candidates=[candidate], usage_metadata=metadata(prompt_token_count=5,
                                                        candidates_token_count=2))
    assert answer_text(no_total, model="m").usage == Usage(5, 2)
    unreported = aiplatform_v1.GenerateContentResponse(candidates=[candidate])
    assert answer_text(unreported, model="m") == "ok"
    assert answer_text(unreported, model="m").usage is None


def test_no_candidate_is_a_permanent_error_naming_the_block() -> None:
    """A blocked prompt yields no candidate: a permanent error with the block reason."""
    response = aiplatform_v1.GenerateContentResponse(
        prompt_feedback=aiplatform_v1.GenerateContentResponse.PromptFeedback(block_reason=1))
    with pytest.raises(PermanentError, match="SAFETY"):
        answer_text(response, model="m")


@pytest.mark.parametrize(("name", "location"), [
    ("projects/p/locations/us-central1/endpoints/1", "us-central1"),
    ("projects/p/locations/global/publishers/google/models/gemini-2.5-flash", "global"),
])
def test_location_of(name: str, location: str) -> None:
    """The location of a resource name picks the regional endpoint."""
    assert location_of(name) == location


def test_location_of_a_bare_model_id_is_an_error() -> None:
    """A model id without project and location cannot be routed."""
    with pytest.raises(PermanentError):
        location_of("gemini-2.5-flash")


def test_checkpoints_of_a_tuning_job() -> None:
    """Exported checkpoints map to judging's Checkpoint; a job without a model has none."""
    from tuning_operator.judging.asking import Checkpoint
    from tuning_operator.vertex.mapping import checkpoints_of

    job = aiplatform_v1.TuningJob(tuned_model=aiplatform_v1.TunedModel(
        endpoint="e", checkpoints=[aiplatform_v1.TunedModelCheckpoint(
            checkpoint_id="2", epoch=2, step=40, endpoint="e2")]))
    assert checkpoints_of(job) == (Checkpoint("2", 2, 40, "e2"),)
    assert checkpoints_of(aiplatform_v1.TuningJob()) == ()
