"""Job files → Vertex messages and Vertex messages → ObservedJob, enums by name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from google.cloud import aiplatform_v1
from google.rpc import status_pb2

from tuning_operator.emulator.filtering import JobFacts, compile_filter
from tuning_operator.errors import PermanentError
from tuning_operator.judging import Checkpoint
from tuning_operator.planning.model import TERMINAL_STATES
from tuning_operator.specs.model import TuningJob
from tuning_operator.vertex.mapping import (
    managed_or_active_filter,
    non_terminal_states,
    observed_job,
    region_of,
    state_name,
    vertex_job,
)


def job_file(hyper: dict[str, Any] | None = None, **spec: Any) -> TuningJob:
    document: dict[str, Any] = {
        "apiVersion": "tuning-operator/v1",
        "kind": "TuningJob",
        "metadata": {"name": "support-v3", "labels": {"cost-center": "cx-42"}},
        "spec": {"baseModel": "gemini-2.5-flash", "trainingDataset": "gs://data/s/train.jsonl"},
    }
    if hyper is not None:
        document["spec"]["hyperParameters"] = hyper
    document["spec"].update(spec)
    return TuningJob.model_validate(document)


@pytest.mark.parametrize(
    ("size", "name", "number"),
    [
        (1, "ADAPTER_SIZE_ONE", 1),
        (2, "ADAPTER_SIZE_TWO", 6),
        (4, "ADAPTER_SIZE_FOUR", 2),
        (8, "ADAPTER_SIZE_EIGHT", 3),
        (16, "ADAPTER_SIZE_SIXTEEN", 4),
        (32, "ADAPTER_SIZE_THIRTY_TWO", 5),
    ],
)
def test_adapter_sizes_map_by_name_not_number(size: int, name: str, number: int) -> None:
    """adapterSize 2 is ADAPTER_SIZE_TWO (enum number 6), never enum number 2 (FOUR)."""
    message = vertex_job(job_file({"adapterSize": size}), team="t")
    sent = message.supervised_tuning_spec.hyper_parameters.adapter_size
    assert (sent.name, int(sent)) == (name, number)


@pytest.mark.parametrize("hyper", [None, {"preset": "recommended"}])
def test_no_hyperparameters_without_explicit_values(hyper: dict[str, Any] | None) -> None:
    """No block, or `preset: recommended`, sends no hyperparameters (Vertex defaults apply)."""
    message = vertex_job(job_file(hyper), team="t")
    assert "hyper_parameters" not in message.supervised_tuning_spec


def test_explicit_values_and_optional_fields_are_sent() -> None:
    """Every field of the job file that Vertex takes lands in the create message."""
    job = job_file(
        {"epochCount": 5, "learningRateMultiplier": 2.5},
        validationDataset="gs://data/s/val.jsonl",
        description="support tickets",
        serviceAccount="tuning-sa@p.iam.gserviceaccount.com",
        encryptionKey="projects/p/locations/us/keyRings/r/cryptoKeys/k",
        tunedModelDisplayName="support classifier",
    )
    message = vertex_job(job, team="support")
    hyper = message.supervised_tuning_spec.hyper_parameters
    assert (hyper.epoch_count, hyper.learning_rate_multiplier) == (5, 2.5)
    assert hyper.adapter_size.name == "ADAPTER_SIZE_UNSPECIFIED"
    assert message.supervised_tuning_spec.validation_dataset_uri == "gs://data/s/val.jsonl"
    assert message.description == "support tickets"
    assert message.service_account == "tuning-sa@p.iam.gserviceaccount.com"
    assert message.encryption_spec.kms_key_name.endswith("/cryptoKeys/k")
    assert message.tuned_model_display_name == "support classifier"


def test_labels_are_user_labels_plus_ownership() -> None:
    """The create carries the user's labels and the four ownership labels."""
    job = job_file()
    labels = dict(vertex_job(job, team="support").labels)
    assert labels == {
        "cost-center": "cx-42",
        "managed-by": "tuning-operator",
        "tuning-operator-job": "support-v3",
        "tuning-operator-spec": job.spec_hash()[:16],
        "tuning-operator-team": "support",
    }
    assert vertex_job(job, team="support").tuned_model_display_name == "support-v3"


def test_a_reserved_user_label_is_refused() -> None:
    """A user label that would forge ownership never reaches Vertex."""
    job = job_file()
    forged = job.model_copy(
        update={"metadata": job.metadata.model_copy(update={"labels": {"managed-by": "me"}})}
    )
    with pytest.raises(PermanentError, match="reserved"):
        vertex_job(forged, team="t")


def test_observed_job_reads_state_times_model_and_error() -> None:
    """An answer becomes an ObservedJob with the state name, tuned model and error text."""
    created = datetime(2025, 5, 1, tzinfo=UTC)
    message = aiplatform_v1.TuningJob(
        name="projects/p/locations/us-central1/tuningJobs/7",
        state=aiplatform_v1.JobState.JOB_STATE_SUCCEEDED,
        labels={"managed-by": "tuning-operator", "tuning-operator-job": "x"},
        create_time=created,
        tuned_model=aiplatform_v1.TunedModel(model="m@1", endpoint="e"),
    )
    observed = observed_job(message)
    assert (observed.state, observed.region, observed.job_name) == (
        "JOB_STATE_SUCCEEDED",
        "us-central1",
        "x",
    )
    assert observed.create_time == created
    assert (observed.tuned_model, observed.tuned_endpoint, observed.error) == ("m@1", "e", None)
    message.error = status_pb2.Status(code=1, message="CANCELLED")
    assert observed_job(message).error == "code 1: CANCELLED"


def test_observed_job_reads_experiment_and_checkpoints_by_step() -> None:
    """The experiment and the checkpoints are read; checkpoints come sorted by step."""
    ckpt = aiplatform_v1.TunedModelCheckpoint
    message = aiplatform_v1.TuningJob(
        name="projects/p/locations/us-central1/tuningJobs/7",
        state=aiplatform_v1.JobState.JOB_STATE_SUCCEEDED,
        experiment="projects/p/locations/us-central1/metadataStores/default/contexts/x",
        tuned_model=aiplatform_v1.TunedModel(model="m@1", endpoint="e", checkpoints=[
            ckpt(checkpoint_id="2", epoch=2, step=40, endpoint="e2"),
            ckpt(checkpoint_id="1", epoch=1, step=20),
        ]),
    )
    observed = observed_job(message)
    assert observed.experiment == message.experiment
    assert observed.checkpoints == (Checkpoint("1", 1, 20, None), Checkpoint("2", 2, 40, "e2"))
    running = observed_job(aiplatform_v1.TuningJob(name=message.name, state="JOB_STATE_RUNNING"))
    assert (running.experiment, running.checkpoints) == (None, ())


def test_an_unknown_state_number_is_unspecified() -> None:
    """A state number newer than this client maps to UNSPECIFIED, never to a neighbour."""
    assert state_name(99) == "JOB_STATE_UNSPECIFIED"
    assert state_name(aiplatform_v1.JobState.JOB_STATE_RUNNING) == "JOB_STATE_RUNNING"


def test_the_cycle_filter_selects_owned_or_active_jobs() -> None:
    """The default List filter matches owned jobs in any state and every active job."""
    assert TERMINAL_STATES.isdisjoint(non_terminal_states())
    matches = compile_filter(managed_or_active_filter())
    owned = {"managed-by": "tuning-operator"}
    assert matches(JobFacts(labels=owned, state="JOB_STATE_SUCCEEDED"))
    assert matches(JobFacts(labels={}, state="JOB_STATE_PAUSED"))
    assert matches(JobFacts(labels={}, state="JOB_STATE_CANCELLING"))
    assert not matches(JobFacts(labels={}, state="JOB_STATE_FAILED"))


@pytest.mark.parametrize(
    ("name", "region"),
    [
        ("projects/p/locations/europe-west4/tuningJobs/1", "europe-west4"),
        ("projects/p/locations/us-central1/customJobs/1", None),
        ("tuningJobs/1", None),
    ],
)
def test_region_of_a_job_name(name: str, region: str | None) -> None:
    """The region comes from a well-formed name; anything else is PermanentError."""
    if region is None:
        with pytest.raises(PermanentError):
            region_of(name)
    else:
        assert region_of(name) == region


MODEL = "projects/p/locations/us-central1/models/77@2"


@pytest.mark.parametrize(("pre_tuned", "resolved", "sent"), [
    ({"tunedModel": MODEL}, None, (MODEL, "")),
    ({"tunedModel": MODEL, "checkpointId": "3"}, None, (MODEL, "3")),
    ({"job": "base-v1", "checkpoint": "best"}, (MODEL, "5"), (MODEL, "5")),
    ({"job": "base-v1"}, (MODEL, None), (MODEL, "")),
])
def test_pre_tuned_model_is_sent_instead_of_base_model(
        pre_tuned: dict[str, str], resolved: tuple[str, str | None] | None,
        sent: tuple[str, str]) -> None:
    """Continuous tuning sends pre_tuned_model {tuned_model_name, checkpoint_id}, no base_model."""
    job = job_file(baseModel=None, preTunedModel=pre_tuned)
    message = vertex_job(job, team="t", pre_tuned_model=resolved)
    assert "base_model" not in message and message.base_model == ""
    ptm = message.pre_tuned_model
    assert (ptm.tuned_model_name, ptm.checkpoint_id) == sent


def test_an_unresolved_job_dependency_cannot_be_sent() -> None:
    """`preTunedModel: {job: X}` needs the planner's resolved model name before a create."""
    job = job_file(baseModel=None, preTunedModel={"job": "base-v1"})
    with pytest.raises(PermanentError, match="continues job base-v1"):
        vertex_job(job, team="t")


def test_a_resolved_model_is_ignored_for_a_base_model_job() -> None:
    """A job with its own baseModel sends it, whatever the caller passes."""
    message = vertex_job(job_file(), team="t", pre_tuned_model=(MODEL, None))
    assert message.base_model == "gemini-2.5-flash" and "pre_tuned_model" not in message


@pytest.mark.parametrize("value", [True, False, None])
def test_export_last_checkpoint_only_is_sent_when_set(value: bool | None) -> None:
    """exportLastCheckpointOnly goes to supervised_tuning_spec; unset is Vertex's default,
    false (a proto3 bool without presence: every epoch's checkpoint is kept)."""
    extra = {} if value is None else {"exportLastCheckpointOnly": value}
    tuning = vertex_job(job_file(**extra), team="t").supervised_tuning_spec
    assert ("export_last_checkpoint_only" in tuning) == bool(value)
    assert tuning.export_last_checkpoint_only is bool(value)


def test_observed_job_reads_vertex_data_stats() -> None:
    """tuning_data_stats → DataStats(examples, billable tokens, truncated examples)."""
    message = aiplatform_v1.TuningJob(
        name="projects/p/locations/us-central1/tuningJobs/1", state="JOB_STATE_RUNNING",
        tuning_data_stats=aiplatform_v1.TuningDataStats(
            supervised_tuning_data_stats=aiplatform_v1.SupervisedTuningDataStats(
                tuning_dataset_example_count=120, total_billable_token_count=45_000,
                total_truncated_example_count=2)))
    stats = observed_job(message).data_stats
    assert stats is not None
    assert (stats.examples, stats.billable_tokens, stats.truncated_examples) == (120, 45_000, 2)
    bare = aiplatform_v1.TuningJob(name="projects/p/locations/us-central1/tuningJobs/1")
    assert observed_job(bare).data_stats is None


@pytest.mark.parametrize(("fields", "root"), [
    ({"base_model": "gemini-2.5-flash"}, "gemini-2.5-flash"),
    ({"pre_tuned_model": {"tuned_model_name": "projects/p/locations/l/models/1",
                          "base_model": "gemini-2.5-pro"}}, "gemini-2.5-pro"),
    ({"pre_tuned_model": {"tuned_model_name": "projects/p/locations/l/models/1"}}, None),
])
def test_observed_job_reads_the_root_base_model(fields: dict[str, Any], root: str | None) -> None:
    """The root: `base_model`, or for a continuation the `pre_tuned_model.base_model` Vertex
    fills in (what policy and baselines of a `tunedModel` continuation go by)."""
    message = aiplatform_v1.TuningJob(
        name="projects/p/locations/us-central1/tuningJobs/1", state="JOB_STATE_RUNNING", **fields)
    assert observed_job(message).base_model == root


def test_observed_job_reads_what_a_continuation_was_sent_with() -> None:
    """`pre_tuned_model` as sent (tuned model, checkpoint id) is read back from the List."""
    name = "projects/p/locations/us-central1/tuningJobs/1"
    message = aiplatform_v1.TuningJob(name=name, state="JOB_STATE_RUNNING", pre_tuned_model={
        "tuned_model_name": "projects/p/locations/us-central1/models/1@2", "checkpoint_id": "3"})
    assert observed_job(message).continued_from == (
        "projects/p/locations/us-central1/models/1@2", "3")
    assert observed_job(aiplatform_v1.TuningJob(
        name=name, state="JOB_STATE_RUNNING", base_model="gemini-2.5-flash")).continued_from is None
