"""Google's own google-genai SDK, in Vertex mode over REST, against the emulator's REST port.

The SDK takes a custom `HttpOptions(base_url=…)`; in Vertex mode (project and location) it
sends `Authorization: Bearer <token>` from its credentials and would refresh credentials
without a token (anonymous credentials cannot be refreshed), so the tests give it a static
fake token. Nothing leaves loopback.
"""

from __future__ import annotations

import uuid
import warnings
from typing import Any

import pytest
from google.genai import Client, errors, types
from google.oauth2.credentials import Credentials

from tests.support.emulator_process import EmulatorProcess

TRAINING = "gs://tuning-data/support/train.jsonl"


@pytest.fixture
def sdk(emulator: EmulatorProcess) -> Any:
    """A google-genai client in Vertex mode pointed at the emulator's REST endpoint."""
    project = f"genai-{uuid.uuid4().hex[:8]}"
    client = Client(
        vertexai=True, project=project, location="us-central1",
        credentials=Credentials(token="emulator"),  # static: never refreshed, never sent out
        http_options=types.HttpOptions(base_url=emulator.rest_endpoint, api_version="v1",
                                       timeout=10_000),
    )
    yield client
    client.close()


def _tune(sdk: Any, model: str) -> Any:
    with warnings.catch_warnings():  # the SDK marks tuning experimental
        warnings.simplefilter("ignore")
        return sdk.tunings.tune(base_model=model,
                                training_dataset=types.TuningDataset(gcs_uri=TRAINING))


def test_google_genai_sdk_gets_a_400_on_a_retired_model(sdk: Any,
                                                        emulator: EmulatorProcess) -> None:
    """gemini-1.5-flash-002 is retired: the SDK raises its ClientError 400 INVALID_ARGUMENT
    naming the retirement, after exactly one create call, and no job exists."""
    before = emulator.admin.calls()["CreateTuningJob"]
    with pytest.raises(errors.ClientError) as caught:
        _tune(sdk, "gemini-1.5-flash-002")
    error = caught.value
    assert error.code == 400
    assert error.status == "INVALID_ARGUMENT"
    assert "gemini-1.5-flash-002, which is retired" in (error.message or "")
    assert emulator.admin.calls()["CreateTuningJob"] == before + 1
    assert list(sdk.tunings.list()) == []


def test_google_genai_sdk_creates_and_reads_a_job_on_a_current_model(sdk: Any) -> None:
    """The same client on gemini-2.5-flash: created, then read back by name."""
    job = _tune(sdk, "gemini-2.5-flash")
    assert job.name.startswith("projects/genai-")
    assert "/locations/us-central1/tuningJobs/" in job.name
    assert job.state in (types.JobState.JOB_STATE_QUEUED, types.JobState.JOB_STATE_PENDING)
    assert sdk.tunings.get(name=job.name).base_model == "gemini-2.5-flash"
