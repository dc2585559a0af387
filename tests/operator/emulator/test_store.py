"""The store's semantics on a fake clock: paging, quota, cancel, ids and the state file."""

from __future__ import annotations

import random
from pathlib import Path

import grpc
import pytest
from google.cloud import aiplatform_v1

from tests.support.emulator_process import sample_job
from tuning_operator.emulator.status import ApiError
from tuning_operator.emulator.store import (
    DURATION_LABEL,
    MAX_PAGE_SIZE,
    JobStore,
    StoreSettings,
)
from tuning_operator.specs.catalog import default_catalog

PARENT = "projects/p/locations/us-central1"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def make_store(
    clock: FakeClock, *, state_file: Path | None = None, max_active: int | None = None,
    quota_scope: str = "global",
) -> JobStore:
    return JobStore(
        StoreSettings(job_seconds=100.0, cancel_seconds=1.0, max_active=max_active,
                      quota_scope=quota_scope),
        catalog=default_catalog(),
        clock=clock,
        rng=random.Random(7),
        state_file=state_file,
    )


def names(response: aiplatform_v1.ListTuningJobsResponse) -> list[str]:
    return [job.name for job in response.tuning_jobs]


def list_request(**fields: object) -> aiplatform_v1.ListTuningJobsRequest:
    return aiplatform_v1.ListTuningJobsRequest(parent=PARENT, **fields)


def test_page_tokens_survive_state_changes_between_pages() -> None:
    """A state-filtered list keeps its place when jobs change state between two pages."""
    clock = FakeClock()
    store = make_store(clock)
    created = [store.create(PARENT, sample_job()).name for _ in range(4)]
    request = list_request(filter="state = JOB_STATE_QUEUED", page_size=2)
    first = store.list(request)
    assert names(first) == created[:2]
    store.cancel(created[0])
    second = store.list(
        list_request(filter=request.filter, page_size=2, page_token=first.next_page_token)
    )
    assert names(second) == created[2:]
    assert not second.next_page_token


def test_page_size_is_coerced_to_the_maximum() -> None:
    """page_size above the maximum returns MAX_PAGE_SIZE jobs and a next page token."""
    store = make_store(FakeClock())
    for _ in range(MAX_PAGE_SIZE + 1):
        store.create(PARENT, sample_job())
    page = store.list(list_request(page_size=10_000))
    assert len(page.tuning_jobs) == MAX_PAGE_SIZE and page.next_page_token
    rest = store.list(list_request(page_token=page.next_page_token))
    assert len(rest.tuning_jobs) == 1 and not rest.next_page_token


@pytest.mark.parametrize(
    "bad",
    [
        {"page_size": -1},
        {"page_token": "garbage"},
    ],
)
def test_bad_list_arguments_are_invalid(bad: dict[str, object]) -> None:
    """A negative page size or an unreadable token is INVALID_ARGUMENT."""
    with pytest.raises(ApiError) as caught:
        make_store(FakeClock()).list(list_request(**bad))
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_a_page_token_is_bound_to_its_filter() -> None:
    """Reusing a page token with another filter is INVALID_ARGUMENT (AIP-158)."""
    store = make_store(FakeClock())
    for _ in range(3):
        store.create(PARENT, sample_job())
    token = store.list(list_request(page_size=1)).next_page_token
    with pytest.raises(ApiError) as caught:
        store.list(list_request(page_size=1, page_token=token, filter="labels.a:*"))
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_list_is_scoped_to_its_parent() -> None:
    """Jobs of another region or project never appear in a list."""
    store = make_store(FakeClock())
    store.create("projects/p/locations/europe-west4", sample_job())
    store.create("projects/q/locations/us-central1", sample_job())
    mine = store.create(PARENT, sample_job())
    assert names(store.list(list_request())) == [mine.name]


def test_quota_counts_active_jobs_only() -> None:
    """A finished job frees its slot: quota counts QUEUED/PENDING/RUNNING/CANCELLING."""
    clock = FakeClock()
    store = make_store(clock, max_active=1)
    store.create(PARENT, sample_job())
    with pytest.raises(ApiError) as caught:
        store.create(PARENT, sample_job())
    assert caught.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    clock.now += 100
    store.create(PARENT, sample_job())
    assert store.active_count(PARENT) == 1


def test_output_only_fields_sent_by_a_client_are_ignored() -> None:
    """A create that sends name, state or tuned_model gets server values instead."""
    store = make_store(FakeClock())
    job = sample_job()
    job.name = f"{PARENT}/tuningJobs/1"
    job.state = aiplatform_v1.JobState.JOB_STATE_SUCCEEDED
    job.tuned_model = aiplatform_v1.TunedModel(model="forged")
    created = store.create(PARENT, job)
    assert created.name != job.name
    assert created.state.name == "JOB_STATE_QUEUED"
    assert not created.tuned_model.model


def test_state_file_restores_jobs_ids_order_and_cancels(tmp_path: Path) -> None:
    """A new store on the same state file sees the same jobs, in order, cancels included."""
    clock = FakeClock()
    path = tmp_path / "vertex.json"
    first = make_store(clock, state_file=path)
    created = [first.create(PARENT, sample_job(labels={"n": str(i)})).name for i in range(3)]
    first.cancel(created[1])
    clock.now += 50
    second = make_store(clock, state_file=path)
    listed = second.list(list_request())
    assert names(listed) == created
    assert [job.state.name for job in listed.tuning_jobs] == [
        "JOB_STATE_RUNNING",
        "JOB_STATE_CANCELLED",
        "JOB_STATE_RUNNING",
    ]
    assert dict(listed.tuning_jobs[2].labels) == {"n": "2"}
    assert second.create(PARENT, sample_job()).name not in created


def test_state_file_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    """Each write replaces the file by rename; no temporary file is left behind."""
    store = make_store(FakeClock(), state_file=tmp_path / "vertex.json")
    for _ in range(3):
        store.create(PARENT, sample_job())
    assert [p.name for p in tmp_path.iterdir()] == ["vertex.json"]


def test_a_foreign_state_file_is_refused(tmp_path: Path) -> None:
    """A file that is not an emulator state file stops the emulator with a clear message."""
    path = tmp_path / "other.json"
    path.write_text('{"something": "else"}')
    with pytest.raises(ValueError, match="not an emulator state file"):
        make_store(FakeClock(), state_file=path)


def test_active_counts_match_a_scan_through_creates_cancels_and_time(tmp_path: Path) -> None:
    """The quota's running counts equal a scan of every job, across regions, cancels (before
    and after a job's natural end), time passing and a restart from the state file."""
    clock, rng = FakeClock(), random.Random(11)
    path = tmp_path / "vertex.json"
    store = make_store(clock, state_file=path)
    parents = [PARENT, "projects/p/locations/europe-west4"]
    created: list[str] = []
    peak = 0
    for step in range(300):
        roll = rng.random()
        if roll < 0.5:
            labels = {DURATION_LABEL: str(rng.choice([0, 500, 5000, 30000]))}
            created.append(store.create(rng.choice(parents), sample_job(labels=labels)).name)
            peak = max(peak, store.active_summary()["p"]["active"])
        elif roll < 0.7 and created:
            name = rng.choice(created)
            if store.get(name).state.name in ("JOB_STATE_QUEUED", "JOB_STATE_PENDING",
                                              "JOB_STATE_RUNNING"):
                store.cancel(name)
        else:
            clock.now += rng.choice([0.0, 0.3, 1.0, 4.0])
        if step == 150:  # the peak is per emulator process
            store, peak = make_store(clock, state_file=path), 0
        scanned = store.active_summary()["p"]
        assert [store.active_count(p) for p in parents] == [
            scanned["regions"].get(p.rsplit("/", 1)[1], 0) for p in parents]
    assert store.active_summary()["p"]["peak"] == peak > 0
