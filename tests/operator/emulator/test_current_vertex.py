"""The emulator as Vertex is today: global quota, model rules, pre-tuned models, data stats."""

from __future__ import annotations

import random
from pathlib import Path

import grpc
import pytest
from google.cloud import aiplatform_v1

from tests.support.emulator_process import sample_job
from tuning_operator.emulator.datastats import (
    BILLABLE_TOKENS_LABEL,
    EXAMPLES_LABEL,
    TRUNCATED_LABEL,
)
from tuning_operator.emulator.status import ApiError
from tuning_operator.emulator.store import JobStore, StoreSettings
from tuning_operator.specs.catalog import default_catalog

US = "projects/p/locations/us-central1"
EU = "projects/p/locations/europe-west4"
ASIA = "projects/p/locations/asia-northeast1"
OTHER_PROJECT = "projects/q/locations/us-central1"
KEY = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def make_store(clock: FakeClock, *, max_active: int | None = None,
               quota_scope: str = "global") -> JobStore:
    return JobStore(
        StoreSettings(job_seconds=100.0, cancel_seconds=1.0, max_active=max_active,
                      quota_scope=quota_scope),
        catalog=default_catalog(), clock=clock, rng=random.Random(3))


def create_error(store: JobStore, parent: str, job: aiplatform_v1.TuningJob) -> ApiError:
    with pytest.raises(ApiError) as caught:
        store.create(parent, job)
    return caught.value


@pytest.mark.parametrize(("scope", "second_region_ok"), [("global", False), ("region", True)])
def test_quota_scope_global_counts_every_region(scope: str, second_region_ok: bool) -> None:
    """global (the default): one count per project across regions; region: one per region.
    Another project never shares the count."""
    store = make_store(FakeClock(), max_active=2, quota_scope=scope)
    store.create(US, sample_job())
    store.create(US, sample_job())
    if second_region_ok:
        store.create(EU, sample_job())
    else:
        error = create_error(store, EU, sample_job())
        assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "global: all regions" in error.message
    store.create(OTHER_PROJECT, sample_job())


def test_the_default_quota_scope_is_global() -> None:
    """Vertex's concurrent tuning job quota is global (seed 003), so is the emulator's."""
    assert StoreSettings().quota_scope == "global"
    with pytest.raises(ValueError, match="quota_scope"):
        StoreSettings(quota_scope="zone")


def test_active_summary_reports_now_and_the_peak() -> None:
    """The admin summary: active jobs per region now, and the most ever active at once."""
    clock = FakeClock()
    store = make_store(clock)
    store.create(US, sample_job())
    store.create(EU, sample_job())
    clock.now += 200  # both finished
    store.create(US, sample_job())
    summary = store.active_summary()["p"]
    assert (summary["active"], summary["regions"], summary["peak"]) == (
        1, {"us-central1": 1}, 2)


@pytest.mark.parametrize("model", ["gemini-3.5-flash", "gemini-3.5-flash-lite",
                                   "gemini-3.1-flash-lite"])
@pytest.mark.parametrize(("parent", "ok"), [(US, True), (EU, True), (ASIA, False)])
def test_3x_models_tune_only_in_two_regions(model: str, parent: str, ok: bool) -> None:
    """A 3.x job in asia-northeast1 is INVALID_ARGUMENT naming the region rule."""
    store = make_store(FakeClock())
    if ok:
        store.create(parent, sample_job(base_model=model))
        return
    error = create_error(store, parent, sample_job(base_model=model))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "allowed regions" in error.message and "asia-northeast1" in error.message


@pytest.mark.parametrize(("model", "ok"), [
    ("gemini-3.5-flash", False), ("gemini-3.5-flash-lite", False),
    ("gemini-3.1-flash-lite", False), ("gemini-2.5-flash", True), ("gemini-2.5-pro", True),
])
def test_cmek_is_refused_for_3x_models(model: str, ok: bool) -> None:
    """encryption_spec.kms_key_name on a 3.x job is INVALID_ARGUMENT naming the CMEK rule."""
    job = sample_job(base_model=model, adapter_size="ADAPTER_SIZE_FOUR")
    job.encryption_spec = aiplatform_v1.EncryptionSpec(kms_key_name=KEY)
    store = make_store(FakeClock())
    if ok:
        store.create(US, job)
        return
    error = create_error(store, US, job)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "CMEK not supported" in error.message


def continuing(model: str, checkpoint: str = "") -> aiplatform_v1.TuningJob:
    job = sample_job()
    job.pre_tuned_model = aiplatform_v1.PreTunedModel(tuned_model_name=model,
                                                      checkpoint_id=checkpoint)
    assert not job.base_model  # a oneof: setting pre_tuned_model clears base_model
    return job


def test_pre_tuned_model_continues_a_succeeded_jobs_model() -> None:
    """The tuned model of a succeeded job may be continued (with or without @version); Vertex
    fills pre_tuned_model.base_model in."""
    clock = FakeClock()
    store = make_store(clock)
    first = store.create(US, sample_job(base_model="gemini-3.5-flash"))
    early = create_error(store, US, continuing(f"{US}/models/{first.name.rsplit('/', 1)[1]}"))
    assert early.code == grpc.StatusCode.NOT_FOUND
    clock.now += 100
    model = store.get(first.name).tuned_model.model
    created = store.create(US, continuing(model, "2"))
    assert created.pre_tuned_model.tuned_model_name == model
    assert created.pre_tuned_model.checkpoint_id == "2"
    assert created.pre_tuned_model.base_model == "gemini-3.5-flash"
    clock.now += 100
    again = store.get(created.name).tuned_model.model
    third = store.create(US, continuing(again.split("@")[0]))
    assert third.pre_tuned_model.base_model == "gemini-3.5-flash"


@pytest.mark.parametrize(("last_only", "checkpoint", "existing"), [
    (False, "7", "1, 2, 3"), (False, "0", "1, 2, 3"), (True, "2", "3"), (True, "best", "3"),
])
def test_a_checkpoint_the_parent_does_not_have_is_refused(last_only: bool, checkpoint: str,
                                                          existing: str) -> None:
    """pre_tuned_model.checkpoint_id must be one of the parent's tuned_model.checkpoints:
    INVALID_ARGUMENT naming the checkpoint and the ones that exist; nothing is created."""
    clock = FakeClock()
    store = make_store(clock)
    parent_job = sample_job(base_model="gemini-2.5-flash")
    parent_job.supervised_tuning_spec.export_last_checkpoint_only = last_only
    first = store.create(US, parent_job)
    clock.now += 100
    tuned = store.get(first.name).tuned_model
    assert [c.checkpoint_id for c in tuned.checkpoints] == existing.split(", ")
    error = create_error(store, US, continuing(tuned.model, checkpoint))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert (f"pre_tuned_model.checkpoint_id {checkpoint!r} does not exist on {tuned.model}:"
            f" its checkpoints are {existing}.") == error.message
    assert len(store.list(aiplatform_v1.ListTuningJobsRequest(parent=US)).tuning_jobs) == 1
    last = existing.rpartition(", ")[2]
    ok = store.create(US, continuing(tuned.model, last))
    assert ok.pre_tuned_model.checkpoint_id == last


@pytest.mark.parametrize(("name", "code"), [
    (f"{US}/models/424242@1", grpc.StatusCode.NOT_FOUND),
    ("models/424242", grpc.StatusCode.INVALID_ARGUMENT),
])
def test_an_unknown_or_malformed_pre_tuned_model_is_refused(
        name: str, code: grpc.StatusCode) -> None:
    """Only tuned models of this emulator's succeeded jobs exist."""
    assert create_error(make_store(FakeClock()), US, continuing(name)).code == code


def test_a_pre_tuned_model_keeps_its_region_and_its_rules() -> None:
    """Continuing a 3.5 Flash model applies 3.5 Flash's rules (CMEK), in the model's region."""
    clock = FakeClock()
    store = make_store(clock)
    first = store.create(EU, sample_job(base_model="gemini-3.5-flash"))
    clock.now += 100
    model = store.get(first.name).tuned_model.model
    elsewhere = create_error(store, US, continuing(model))
    assert elsewhere.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "europe-west4" in elsewhere.message
    keyed = continuing(model)
    keyed.encryption_spec = aiplatform_v1.EncryptionSpec(kms_key_name=KEY)
    assert "CMEK not supported" in create_error(store, EU, keyed).message


def test_data_stats_appear_once_the_job_runs() -> None:
    """tuning_data_stats is empty while queued, then Vertex-like figures (scripted by labels)."""
    clock = FakeClock()
    store = make_store(clock)
    default = store.create(US, sample_job())
    scripted = store.create(US, sample_job(labels={
        EXAMPLES_LABEL: "1200", BILLABLE_TOKENS_LABEL: "987654", TRUNCATED_LABEL: "7"}))
    assert "tuning_data_stats" not in store.get(default.name)
    clock.now += 30  # RUNNING from 20 % of 100 s
    stats = store.get(default.name).tuning_data_stats.supervised_tuning_data_stats
    # 100 examples × 500 tokens × 3 epochs (sample_job's epoch_count).
    assert (stats.tuning_dataset_example_count, stats.total_billable_token_count,
            stats.total_truncated_example_count) == (100, 150_000, 0)
    stats = store.get(scripted.name).tuning_data_stats.supervised_tuning_data_stats
    assert (stats.tuning_dataset_example_count, stats.total_billable_token_count,
            stats.total_truncated_example_count) == (1200, 987_654, 7)


def test_a_job_cancelled_before_running_has_no_data_stats() -> None:
    """Vertex never read the dataset of a job cancelled while queued."""
    clock = FakeClock()
    store = make_store(clock)
    job = store.create(US, sample_job())
    store.cancel(job.name)
    clock.now += 200
    assert "tuning_data_stats" not in store.get(job.name)


def test_pre_tuned_models_survive_a_restart(tmp_path: Path) -> None:
    """With a state file, a restarted emulator still knows a continued model's base model."""
    clock = FakeClock()
    state = tmp_path / "state.json"

    def store() -> JobStore:
        return JobStore(StoreSettings(job_seconds=100.0), catalog=default_catalog(),
                        clock=clock, rng=random.Random(5), state_file=state)

    first = store()
    base = first.create(EU, sample_job(base_model="gemini-3.1-flash-lite"))
    clock.now += 100
    second = first.create(EU, continuing(first.get(base.name).tuned_model.model))
    clock.now += 100
    restarted = store()
    third = restarted.create(EU, continuing(restarted.get(second.name).tuned_model.model))
    assert third.pre_tuned_model.base_model == "gemini-3.1-flash-lite"
