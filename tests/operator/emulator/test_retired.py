"""Retired models: new jobs are refused as Vertex refuses them, existing ones are still served."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.api_core import exceptions as api
from google.cloud import aiplatform_v1

from tests.operator.emulator.test_service import expect_error
from tests.support.emulator_process import sample_job
from tuning_operator.emulator import VertexEmulator
from tuning_operator.planning.model import Phase
from tuning_operator.specs.model import TuningJob
from tuning_operator.vertex import RequestBudget, VertexTuningJobs
from tuning_operator.vertex.clients import emulator_factory

REGION = "us-central1"
RETIRED = "gemini-1.5-flash-002"


@pytest.mark.parametrize(
    "model",
    ["gemini-1.0-pro-002", "gemini-1.5-flash-002", "gemini-1.5-pro-002", "gemini-2.0-flash-001",
     "publishers/google/models/gemini-1.5-flash-002"],
)
def test_a_create_on_a_retired_model_is_invalid_argument(client: Any, parent: str,
                                                         model: str) -> None:
    """On both transports (400 over REST): the message names the model and its retirement,
    and lists the models a new job can use; nothing is created."""
    job = sample_job(base_model=model, adapter_size="ADAPTER_SIZE_UNSPECIFIED")
    error = expect_error(client, api.BadRequest, grpc.StatusCode.INVALID_ARGUMENT,
                         lambda: client.create_tuning_job(parent=parent, tuning_job=job))
    name = model.removeprefix("publishers/google/models/")
    assert f"Base model {name}, which is retired" in error.message
    assert "no longer supported for new supervised tuning jobs" in error.message
    offered = error.message.split("Supported base models:", 1)[1]
    assert "gemini-2.5-flash" in offered and "gemini-1.0-pro-002" not in offered
    if client.transport.kind == "rest":
        assert error.code == 400
    assert list(client.list_tuning_jobs(parent=parent)) == []


def _operator_job(name: str) -> TuningJob:
    return TuningJob.model_validate({
        "apiVersion": "tuning-operator/v1", "kind": "TuningJob", "metadata": {"name": name},
        "spec": {"baseModel": "gemini-2.5-flash",
                 "trainingDataset": "gs://tuning-data/support/train.jsonl",
                 "hyperParameters": {"epochCount": 3, "adapterSize": 8}},
    })


def _retire_in_state_file(state: Path, finished: str) -> None:
    """What Vertex's retirement looks like from the outside: jobs made on a model that is no
    longer offered. The stored jobs' base model becomes the retired one; `finished` was
    created an hour ago (it has succeeded)."""
    document = json.loads(state.read_text())
    for job in document["jobs"]:
        job["submitted"]["baseModel"] = RETIRED
        if job["name"] == finished:
            job["createdAt"] -= 3600
    state.write_text(json.dumps(document))


@pytest.mark.parametrize("transport", ["grpc", "rest"])
def test_existing_jobs_on_a_retired_model_are_still_observed(tmp_path: Path,
                                                             transport: str) -> None:
    """A job created before its model retired: Get, List and Cancel still answer, the operator's
    adapter still lists it as its own with its phase, and a continuation of its tuned model (a
    new job) is refused naming the retirement."""
    state = tmp_path / "emulator.json"
    budget = RequestBudget(crud_per_minute=60_000, submissions_per_minute=60_000)
    with VertexEmulator(state_file=state, job_seconds=600) as emulator:
        endpoint = emulator.grpc_endpoint if transport == "grpc" else emulator.rest_endpoint
        with VertexTuningJobs.for_emulator(endpoint, project="p", budget=budget,
                                           transport=transport) as vertex:
            done = vertex.create(_operator_job("done"), team="t", region=REGION)
            running = vertex.create(_operator_job("running"), team="t", region=REGION)
    _retire_in_state_file(state, finished=done.name)
    with VertexEmulator(state_file=state, job_seconds=600) as emulator:
        endpoint = emulator.grpc_endpoint if transport == "grpc" else emulator.rest_endpoint
        with VertexTuningJobs.for_emulator(endpoint, project="p", budget=budget,
                                           transport=transport) as vertex:
            listed = vertex.list_managed(REGION)
            assert {j.name: j.phase for j in listed.jobs} == {
                done.name: Phase.SUCCEEDED, running.name: running.phase}
            assert running.active
            observed = vertex.get(done.name)
            assert observed.phase == Phase.SUCCEEDED and observed.tuned_model
            vertex.cancel(running.name)  # a job on a retired model can still be cancelled
            assert vertex.get(running.name).phase in (Phase.CANCELLING, Phase.CANCELLED)
        client = emulator_factory(endpoint, transport=transport)(REGION)
        assert client.get_tuning_job(name=done.name).base_model == RETIRED
        assert observed.tuned_model is not None
        continued = aiplatform_v1.TuningJob(
            pre_tuned_model=aiplatform_v1.PreTunedModel(tuned_model_name=observed.tuned_model),
            supervised_tuning_spec=sample_job().supervised_tuning_spec,
        )
        with pytest.raises(api.BadRequest, match=f"is tuned from {RETIRED}, which is retired"):
            client.create_tuning_job(parent=f"projects/p/locations/{REGION}",
                                     tuning_job=continued)
        client.transport.close()
