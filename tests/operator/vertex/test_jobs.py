"""VertexTuningJobs against the emulator process, through the real client on both transports."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.emulator_process import EmulatorAdmin, EmulatorProcess, sample_job
from tuning_operator.emulator import DURATION_LABEL, VertexEmulator
from tuning_operator.errors import (
    NotFound,
    OutcomeUnknown,
    PermanentError,
    QuotaExhausted,
    TemporaryError,
)
from tuning_operator.planning.model import Phase
from tuning_operator.specs.model import TuningJob
from tuning_operator.vertex import RequestBudget, VertexTuningJobs

REGION = "us-central1"


def job_file(name: str = "support-classifier-v3", **spec: Any) -> TuningJob:
    return TuningJob.model_validate(
        {
            "apiVersion": "tuning-operator/v1",
            "kind": "TuningJob",
            "metadata": {"name": name, "labels": {"cost-center": "cx-42"}},
            "spec": {
                "baseModel": "gemini-2.5-flash",
                "trainingDataset": "gs://tuning-data/support/train.jsonl",
                "hyperParameters": {"epochCount": 3, "adapterSize": 8},
                **spec,
            },
        }
    )


def wait_for_phase(vertex: VertexTuningJobs, name: str, phase: Phase) -> None:
    deadline = time.monotonic() + 10
    while vertex.get(name).phase != phase:
        assert time.monotonic() < deadline, f"{name} never reached {phase}"
        time.sleep(0.05)


def test_create_labels_the_job_as_the_operators(vertex: VertexTuningJobs) -> None:
    """create sends the ownership labels and user labels, and answers an ObservedJob."""
    job = job_file()
    created = vertex.create(job, team="support", region=REGION)
    assert created.name.startswith(f"projects/{vertex.project}/locations/{REGION}/tuningJobs/")
    assert created.managed and created.job_name == job.name
    assert created.spec_hash == job.spec_hash()[:16]
    assert created.labels["tuning-operator-team"] == "support"
    assert created.labels["cost-center"] == "cx-42"
    assert created.phase == Phase.SUBMITTED
    assert vertex.get(created.name) == created


def test_list_managed_splits_owned_jobs_from_active_foreign_ones(
    vertex: VertexTuningJobs, raw_client: Any
) -> None:
    """Owned jobs are returned in any state; foreign ones only count, and only while active."""
    parent = vertex.parent(REGION)
    raw_client.create_tuning_job(parent=parent, tuning_job=sample_job())
    raw_client.create_tuning_job(parent=parent, tuning_job=sample_job(labels={DURATION_LABEL: "0"}))
    finished = vertex.create(job_file("done", description="x"), team="t", region=REGION)
    vertex.cancel(finished.name)
    running = vertex.create(job_file("running"), team="t", region=REGION)
    wait_for_phase(vertex, finished.name, Phase.CANCELLED)
    listed = vertex.list_managed(REGION)
    assert [job.name for job in listed.jobs] == [finished.name, running.name]
    assert [job.phase for job in listed.jobs] == [Phase.CANCELLED, Phase.SUBMITTED]
    assert listed.active_unmanaged == 1
    assert vertex.list_managed("europe-west4").jobs == ()


def test_one_list_cycle_costs_one_call_per_page(
    vertex: VertexTuningJobs, admin: EmulatorAdmin, raw_client: Any
) -> None:
    """Seven owned jobs at page size 3 cost exactly three List calls (and nothing else)."""
    parent = vertex.parent(REGION)
    for i in range(7):
        labels = {"managed-by": "tuning-operator", "tuning-operator-job": f"j{i}"}
        labels[DURATION_LABEL] = "0"
        raw_client.create_tuning_job(parent=parent, tuning_job=sample_job(labels=labels))
    admin.reset_calls()
    listed = vertex.list_managed(REGION)
    assert len(listed.jobs) == 7 and listed.list_calls == 3
    assert admin.calls() == {
        "CreateTuningJob": 0,
        "GetTuningJob": 0,
        "ListTuningJobs": 3,
        "CancelTuningJob": 0,
    }


def test_transient_list_failures_are_retried_and_counted(
    vertex: VertexTuningJobs, admin: EmulatorAdmin
) -> None:
    """Two UNAVAILABLE answers are retried away; the cycle reports the three calls it made."""
    admin.fail_next("ListTuningJobs", "UNAVAILABLE", times=2)
    listed = vertex.list_managed(REGION)
    assert listed.list_calls == 3 and listed.jobs == ()


def test_a_list_that_keeps_failing_is_a_temporary_error(
    vertex: VertexTuningJobs, admin: EmulatorAdmin
) -> None:
    """When retries run out the cycle fails as a whole (no partial list) with TemporaryError."""
    admin.configure_faults(fault_rate=1.0)
    with pytest.raises(TemporaryError):
        vertex.list_managed(REGION)


def test_ghost_create_is_outcome_unknown_and_the_next_list_finds_the_job(
    vertex: VertexTuningJobs, admin: EmulatorAdmin
) -> None:
    """A committed create that times out raises OutcomeUnknown; List shows the job exists."""
    admin.ghost_next_creates(1)
    job = job_file("ghost")
    with pytest.raises(OutcomeUnknown):
        vertex.create(job, team="t", region=REGION)
    assert [found.job_name for found in vertex.list_managed(REGION).jobs] == ["ghost"]


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("UNAVAILABLE", TemporaryError),
        ("DEADLINE_EXCEEDED", OutcomeUnknown),
        ("INTERNAL", OutcomeUnknown),
        ("RESOURCE_EXHAUSTED", QuotaExhausted),
        ("PERMISSION_DENIED", PermanentError),
    ],
)
def test_create_is_tried_once_and_its_failure_is_typed(
    vertex: VertexTuningJobs, admin: EmulatorAdmin, code: str, error: type[Exception]
) -> None:
    """A failed create is never retried by the adapter; the error says what the caller does."""
    admin.fail_next("CreateTuningJob", code)
    admin.reset_calls()
    with pytest.raises(error):
        vertex.create(job_file(), team="t", region=REGION)
    assert admin.calls()["CreateTuningJob"] == 1


def test_create_beyond_the_quota_is_quota_exhausted(
    vertex: VertexTuningJobs, emulator: EmulatorProcess
) -> None:
    """The emulator's concurrent-job quota surfaces as QuotaExhausted with a retry-after."""
    assert emulator.max_active is not None
    for i in range(emulator.max_active):
        vertex.create(job_file(f"j{i}"), team="t", region=REGION)
    with pytest.raises(QuotaExhausted) as caught:
        vertex.create(job_file("one-too-many"), team="t", region=REGION)
    assert caught.value.retry_after > 0


def test_a_job_vertex_rejects_is_a_permanent_error(vertex: VertexTuningJobs) -> None:
    """An adapter size the base model does not allow is PermanentError with Vertex's reason."""
    job = job_file(baseModel="gemini-2.5-pro", hyperParameters={"epochCount": 3, "adapterSize": 16})
    with pytest.raises(PermanentError, match="Adapter size 16 is not supported"):
        vertex.create(job, team="t", region=REGION)


def test_cancel_of_unknown_and_finished_jobs(vertex: VertexTuningJobs) -> None:
    """Cancel of a missing job is NotFound; of a finished job PermanentError."""
    missing = f"{vertex.parent(REGION)}/tuningJobs/1234567890123456789"
    with pytest.raises(NotFound):
        vertex.cancel(missing)
    job = vertex.create(job_file("short"), team="t", region=REGION)
    vertex.cancel(job.name)
    wait_for_phase(vertex, job.name, Phase.CANCELLED)
    with pytest.raises(PermanentError):
        vertex.cancel(job.name)


def test_a_cancel_is_retried_after_a_transient_failure(
    vertex: VertexTuningJobs, admin: EmulatorAdmin
) -> None:
    """Cancel is idempotent, so an UNAVAILABLE answer is retried and the cancel lands."""
    job = vertex.create(job_file(), team="t", region=REGION)
    admin.fail_next("CancelTuningJob", "UNAVAILABLE")
    vertex.cancel(job.name)
    assert vertex.get(job.name).phase in {Phase.CANCELLING, Phase.CANCELLED}


def test_create_refuses_a_region_other_than_the_specs(vertex: VertexTuningJobs) -> None:
    """A job pinned to a region is never created elsewhere."""
    with pytest.raises(PermanentError, match="europe-west4"):
        vertex.create(job_file(region="europe-west4"), team="t", region=REGION)


def test_a_list_cycle_over_a_thousand_jobs_costs_ten_calls() -> None:
    """1,000 owned jobs at the default page size (100) cost 10 List calls per cycle."""
    with VertexEmulator(job_seconds=3600) as emulator:
        parent = f"projects/bench/locations/{REGION}"
        for i in range(1000):
            labels = {"managed-by": "tuning-operator", "tuning-operator-job": f"job-{i}"}
            emulator.store.create(parent, sample_job(labels=labels))
        with VertexTuningJobs.for_emulator(
            emulator.grpc_endpoint, project="bench", budget=RequestBudget()
        ) as vertex:
            listed = vertex.list_managed(REGION)
        assert len(listed.jobs) == 1000 and listed.list_calls == 10
        assert emulator.calls()["ListTuningJobs"] == 10


def test_continuous_tuning_sends_the_resolved_pre_tuned_model(
    vertex: VertexTuningJobs,
) -> None:
    """A `preTunedModel: {job: X}` job is created from the model the caller resolved from X's
    tuned model; an unresolved one is refused before any call, an unknown model is NOT_FOUND.
    Vertex's data stats are observed once X runs."""
    data = job_file("base-v1").model_dump(by_alias=True, exclude_none=True)
    data["metadata"]["labels"][DURATION_LABEL] = "1000"
    base = vertex.create(TuningJob.model_validate(data), team="support", region=REGION)
    wait_for_phase(vertex, base.name, Phase.SUCCEEDED)
    finished = vertex.get(base.name)
    assert finished.tuned_model is not None and finished.data_stats is not None
    assert finished.data_stats.examples == 100
    continuing = job_file("next-v1", baseModel=None,
                          preTunedModel={"job": "base-v1", "checkpoint": "last"})
    with pytest.raises(PermanentError, match="continues job base-v1"):
        vertex.create(continuing, team="support", region=REGION)
    unknown = f"projects/{vertex.project}/locations/{REGION}/models/424242@1"
    with pytest.raises(NotFound):
        vertex.create(continuing, team="support", region=REGION,
                      pre_tuned_model=(unknown, None))
    created = vertex.create(continuing, team="support", region=REGION,
                            pre_tuned_model=(finished.tuned_model, None))
    assert created.job_name == "next-v1" and created.phase == Phase.SUBMITTED


def test_a_3x_job_outside_its_regions_is_refused_with_the_rule(vertex: VertexTuningJobs) -> None:
    """The emulator's INVALID_ARGUMENT naming the rule reaches the caller as a permanent error."""
    job = job_file(baseModel="gemini-3.5-flash", region="asia-northeast1")
    with pytest.raises(PermanentError, match="allowed regions"):
        vertex.create(job, team="support", region="asia-northeast1")
