"""The emulated GenAiTuningService through the real client, over gRPC and REST, in a process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.api_core import exceptions as api
from google.cloud import aiplatform_v1

from tests.support.emulator_process import EmulatorAdmin, EmulatorProcess, sample_job
from tuning_operator.emulator import DURATION_LABEL, OUTCOME_LABEL

ACTIVE = {"JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING"}


def expect_error(
    client: Any,
    family: type[api.GoogleAPICallError],
    code: grpc.StatusCode,
    call: Callable[[], Any],
) -> api.GoogleAPICallError:
    """Run `call`, which must fail with `code` (checked on the wire form of each transport)."""
    with pytest.raises(family) as caught:
        call()
    error = caught.value
    if client.transport.kind == "grpc":
        assert error.grpc_status_code == code
    else:
        assert error.response.json()["error"]["status"] == code.name
    return error


def wait_for_state(client: Any, name: str, state: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get_tuning_job(name=name)
        if job.state.name == state or time.monotonic() > deadline:
            assert job.state.name == state
            return job
        time.sleep(0.05)


def test_create_returns_a_server_named_active_job(client: Any, parent: str) -> None:
    """Create answers a numeric server-chosen id under the parent, times, and what was sent."""
    before = time.time()
    job = client.create_tuning_job(parent=parent, tuning_job=sample_job(labels={"team": "cx"}))
    prefix, job_id = job.name.rsplit("/", 1)
    assert prefix == f"{parent}/tuningJobs"
    assert job_id.isdigit() and len(job_id) >= 18
    assert job.state.name in ACTIVE
    assert before - 1 <= job.create_time.timestamp() <= time.time() + 1
    assert job.update_time.timestamp() >= job.create_time.timestamp()
    assert dict(job.labels) == {"team": "cx"}
    assert job.supervised_tuning_spec.hyper_parameters.adapter_size.name == "ADAPTER_SIZE_FOUR"
    assert job.base_model == "gemini-2.5-flash"


def test_get_returns_the_created_job(client: Any, parent: str) -> None:
    """Get by full resource name answers the same job as create did."""
    created = client.create_tuning_job(parent=parent, tuning_job=sample_job())
    fetched = client.get_tuning_job(name=created.name)
    assert fetched.name == created.name
    assert fetched.create_time == created.create_time
    assert fetched.supervised_tuning_spec.training_dataset_uri == (
        created.supervised_tuning_spec.training_dataset_uri
    )


def test_list_filters_on_labels_and_pages_in_create_order(client: Any, parent: str) -> None:
    """A label filter with AND selects, page_size pages, and the order is create order."""
    client.create_tuning_job(parent=parent, tuning_job=sample_job(labels={DURATION_LABEL: "0"}))
    names = [
        client.create_tuning_job(
            parent=parent,
            tuning_job=sample_job(labels={"batch": "b1", "kind": "odd" if i % 2 else "even"}),
        ).name
        for i in range(3)
    ]
    request = aiplatform_v1.ListTuningJobsRequest(
        parent=parent, filter='labels.batch = "b1"', page_size=2
    )
    pager = client.list_tuning_jobs(request=request)
    pages = [[job.name for job in page.tuning_jobs] for page in pager.pages]
    assert pages == [names[:2], names[2:]]
    both = 'labels.batch = "b1" AND labels.kind = "even"'
    even = client.list_tuning_jobs(request={"parent": parent, "filter": both})
    assert [job.name for job in even] == names[0::2]


def test_list_filters_on_state_with_or(client: Any, parent: str) -> None:
    """`state = …` terms joined by OR select jobs by their current state."""
    done = client.create_tuning_job(
        parent=parent, tuning_job=sample_job(labels={DURATION_LABEL: "0"})
    )
    running = client.create_tuning_job(parent=parent, tuning_job=sample_job())
    active_filter = " OR ".join(f"state = {state}" for state in sorted(ACTIVE))
    listed = client.list_tuning_jobs(request={"parent": parent, "filter": active_filter})
    assert [job.name for job in listed] == [running.name]
    finished = client.list_tuning_jobs(
        request={"parent": parent, "filter": 'state = "JOB_STATE_SUCCEEDED"'}
    )
    assert [job.name for job in finished] == [done.name]


def test_a_job_succeeds_with_a_tuned_model(client: Any, parent: str) -> None:
    """After its duration a job is SUCCEEDED with start/end times and tuned_model set."""
    job = client.create_tuning_job(
        parent=parent, tuning_job=sample_job(labels={DURATION_LABEL: "300"})
    )
    done = wait_for_state(client, job.name, "JOB_STATE_SUCCEEDED")
    job_id = job.name.rsplit("/", 1)[1]
    assert done.tuned_model.model.startswith(f"{parent}/models/{job_id}")
    assert done.tuned_model.endpoint == f"{parent}/endpoints/{job_id}"
    assert done.create_time < done.start_time < done.end_time
    assert not done.error.code


def test_continuing_from_a_checkpoint_the_parent_lacks_is_invalid_argument(
    client: Any, parent: str
) -> None:
    """Over the wire: a pre_tuned_model.checkpoint_id the tuned model does not have is refused
    naming it and the checkpoints that exist; an existing one is accepted."""
    job = client.create_tuning_job(
        parent=parent, tuning_job=sample_job(labels={DURATION_LABEL: "200"})
    )
    model = wait_for_state(client, job.name, "JOB_STATE_SUCCEEDED").tuned_model.model
    continued = sample_job()
    continued.pre_tuned_model = aiplatform_v1.PreTunedModel(tuned_model_name=model,
                                                            checkpoint_id="9")
    error = expect_error(client, api.BadRequest, grpc.StatusCode.INVALID_ARGUMENT,
                         lambda: client.create_tuning_job(parent=parent, tuning_job=continued))
    assert "checkpoint_id '9' does not exist" in error.message
    assert "its checkpoints are 1, 2, 3" in error.message
    continued.pre_tuned_model.checkpoint_id = "2"
    assert client.create_tuning_job(parent=parent, tuning_job=continued).pre_tuned_model.base_model


def test_the_outcome_label_scripts_a_failure(client: Any, parent: str) -> None:
    """A job labelled emulator-outcome=fail ends FAILED with an error and no tuned model."""
    labels = {OUTCOME_LABEL: "fail", DURATION_LABEL: "200"}
    job = client.create_tuning_job(parent=parent, tuning_job=sample_job(labels=labels))
    failed = wait_for_state(client, job.name, "JOB_STATE_FAILED")
    assert failed.error.code != 0 and failed.error.message
    assert not failed.tuned_model.model


def test_cancel_moves_an_active_job_through_cancelling_to_cancelled(
    client: Any, parent: str
) -> None:
    """Cancel: CANCELLING at once, then CANCELLED with error.code = 1 (google.rpc CANCELLED)."""
    job = client.create_tuning_job(parent=parent, tuning_job=sample_job())
    client.cancel_tuning_job(name=job.name)
    assert client.get_tuning_job(name=job.name).state.name == "JOB_STATE_CANCELLING"
    client.cancel_tuning_job(name=job.name)  # cancelling twice is harmless
    cancelled = wait_for_state(client, job.name, "JOB_STATE_CANCELLED")
    assert cancelled.error.code == 1
    assert cancelled.end_time.timestamp() > 0


def test_cancelling_a_finished_job_is_failed_precondition(client: Any, parent: str) -> None:
    """A finished job cannot be cancelled: FAILED_PRECONDITION."""
    job = client.create_tuning_job(
        parent=parent, tuning_job=sample_job(labels={DURATION_LABEL: "0"})
    )
    expect_error(
        client,
        api.BadRequest,
        grpc.StatusCode.FAILED_PRECONDITION,
        lambda: client.cancel_tuning_job(name=job.name),
    )


@pytest.mark.parametrize(
    ("case", "job"),
    [
        ("unknown base model", sample_job(base_model="gemini-9-ultra")),
        ("training file not on gs://", sample_job(training="https://example.com/train.jsonl")),
        ("training file not JSONL", sample_job(training="gs://tuning-data/train.csv")),
        (
            "adapter size the model does not allow",
            sample_job(base_model="gemini-2.5-pro", adapter_size="ADAPTER_SIZE_SIXTEEN"),
        ),
        ("label key with capitals", sample_job(labels={"Team": "cx"})),
        ("label value too long", sample_job(labels={"team": "x" * 64})),
    ],
)
def test_create_rejects_what_vertex_rejects(client: Any, parent: str, case: str, job: Any) -> None:
    """Each invalid create is INVALID_ARGUMENT and nothing is created."""
    expect_error(
        client,
        api.BadRequest,
        grpc.StatusCode.INVALID_ARGUMENT,
        lambda: client.create_tuning_job(parent=parent, tuning_job=job),
    )
    assert list(client.list_tuning_jobs(parent=parent)) == [], case


def test_adapter_size_error_reads_like_vertex(client: Any, parent: str) -> None:
    """The adapter-size rejection names the size, the model and the sizes it allows."""
    job = sample_job(base_model="gemini-2.5-pro", adapter_size="ADAPTER_SIZE_SIXTEEN")
    error = expect_error(
        client,
        api.BadRequest,
        grpc.StatusCode.INVALID_ARGUMENT,
        lambda: client.create_tuning_job(parent=parent, tuning_job=job),
    )
    assert "Adapter size 16 is not supported for base model gemini-2.5-pro" in error.message
    assert "1, 2, 4, 8" in error.message


@pytest.mark.parametrize(
    ("family", "code", "name_suffix"),
    [
        (api.NotFound, grpc.StatusCode.NOT_FOUND, "tuningJobs/1234567890123456789"),
        (api.BadRequest, grpc.StatusCode.INVALID_ARGUMENT, "tuningJobs/not-a-number"),
    ],
)
def test_get_and_cancel_of_a_bad_name(
    client: Any,
    parent: str,
    family: type[api.GoogleAPICallError],
    code: grpc.StatusCode,
    name_suffix: str,
) -> None:
    """An unknown job is NOT_FOUND; a malformed name is INVALID_ARGUMENT, for get and cancel."""
    name = f"{parent}/{name_suffix}"
    expect_error(client, family, code, lambda: client.get_tuning_job(name=name))
    expect_error(client, family, code, lambda: client.cancel_tuning_job(name=name))


def test_malformed_parent_is_invalid_argument(client: Any) -> None:
    """A parent whose location is no region is INVALID_ARGUMENT for list and create."""
    parent = "projects/p/locations/global"
    expect_error(
        client,
        api.BadRequest,
        grpc.StatusCode.INVALID_ARGUMENT,
        lambda: list(client.list_tuning_jobs(parent=parent)),
    )
    expect_error(
        client,
        api.BadRequest,
        grpc.StatusCode.INVALID_ARGUMENT,
        lambda: client.create_tuning_job(parent=parent, tuning_job=sample_job()),
    )


def test_unsupported_filter_is_invalid_argument(client: Any, parent: str) -> None:
    """A filter outside the supported subset is rejected, never read as match-all."""
    expect_error(
        client,
        api.BadRequest,
        grpc.StatusCode.INVALID_ARGUMENT,
        lambda: list(
            client.list_tuning_jobs(request={"parent": parent, "filter": "display_name:x*"})
        ),
    )


def test_quota_allows_max_active_jobs_across_regions(
    client: Any, parent: str, emulator: EmulatorProcess
) -> None:
    """Beyond --max-active active jobs a create is RESOURCE_EXHAUSTED in every region (the
    default scope is global, as Vertex's quota); a cancel frees a slot."""
    assert emulator.max_active is not None
    client.create_tuning_job(parent=parent, tuning_job=sample_job(labels={DURATION_LABEL: "0"}))
    jobs = [
        client.create_tuning_job(parent=parent, tuning_job=sample_job())
        for _ in range(emulator.max_active)
    ]
    expect_error(
        client,
        api.TooManyRequests,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        lambda: client.create_tuning_job(parent=parent, tuning_job=sample_job()),
    )
    other_region = parent.replace("us-central1", "europe-west4")
    expect_error(
        client,
        api.TooManyRequests,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        lambda: client.create_tuning_job(parent=other_region, tuning_job=sample_job()),
    )
    client.cancel_tuning_job(name=jobs[0].name)
    wait_for_state(client, jobs[0].name, "JOB_STATE_CANCELLED")
    client.create_tuning_job(parent=parent, tuning_job=sample_job())


def test_ghost_create_commits_then_times_out(
    client: Any, parent: str, admin: EmulatorAdmin
) -> None:
    """A ghost create answers DEADLINE_EXCEEDED, yet List shows the job was created."""
    admin.ghost_next_creates(1)
    job = sample_job(labels={"attempt": "one"})
    expect_error(
        client,
        api.GatewayTimeout,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        lambda: client.create_tuning_job(parent=parent, tuning_job=job),
    )
    listed = list(
        client.list_tuning_jobs(request={"parent": parent, "filter": 'labels.attempt = "one"'})
    )
    assert len(listed) == 1


@pytest.mark.parametrize(
    ("code", "family"),
    [
        ("UNAVAILABLE", api.ServiceUnavailable),
        ("RESOURCE_EXHAUSTED", api.TooManyRequests),
        ("DEADLINE_EXCEEDED", api.GatewayTimeout),
        ("INTERNAL", api.InternalServerError),
    ],
)
def test_scripted_faults_fail_the_next_call_only(
    client: Any, parent: str, admin: EmulatorAdmin, code: str, family: type[api.GoogleAPICallError]
) -> None:
    """failNext makes exactly the next call of that method fail with that code."""
    admin.fail_next("ListTuningJobs", code)
    expect_error(
        client, family, grpc.StatusCode[code], lambda: list(client.list_tuning_jobs(parent=parent))
    )
    assert list(client.list_tuning_jobs(parent=parent)) == []


def test_fault_rate_one_fails_every_call_until_reset(
    client: Any, parent: str, admin: EmulatorAdmin
) -> None:
    """With faultRate 1 each call fails with one of the three transient codes; 0 heals."""
    admin.configure_faults(fault_rate=1.0)
    for _ in range(6):
        with pytest.raises((api.ServiceUnavailable, api.TooManyRequests, api.GatewayTimeout)):
            list(client.list_tuning_jobs(parent=parent))
    admin.configure_faults(fault_rate=0.0)
    assert list(client.list_tuning_jobs(parent=parent)) == []


def test_latency_is_added_to_each_call(client: Any, parent: str, admin: EmulatorAdmin) -> None:
    """latencyMs delays every call by at least that much."""
    admin.configure_faults(latency_ms=250)
    started = time.monotonic()
    list(client.list_tuning_jobs(parent=parent))
    assert time.monotonic() - started >= 0.25


def test_call_counter_counts_each_method_on_both_transports(
    client: Any, parent: str, admin: EmulatorAdmin
) -> None:
    """The admin call counter counts every call that reached the emulator, faulted or not."""
    admin.reset_calls()
    job = client.create_tuning_job(parent=parent, tuning_job=sample_job())
    client.get_tuning_job(name=job.name)
    admin.fail_next("GetTuningJob", "UNAVAILABLE")
    with pytest.raises(api.ServiceUnavailable):
        client.get_tuning_job(name=job.name)
    list(client.list_tuning_jobs(parent=parent))
    client.cancel_tuning_job(name=job.name)
    assert admin.calls() == {
        "CreateTuningJob": 1,
        "GetTuningJob": 2,
        "ListTuningJobs": 1,
        "CancelTuningJob": 1,
    }
