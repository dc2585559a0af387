"""The emulated evaluation during tuning: the create's evaluation_config checked like Vertex,
and one run per checkpoint once the job has succeeded."""

from __future__ import annotations

import random
import time
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import aiplatform_v1

from tests.support.emulator_process import sample_job
from tuning_operator.emulator.experiments import CURVE_LABEL
from tuning_operator.emulator.status import ApiError
from tuning_operator.emulator.store import JobStore, StoreSettings
from tuning_operator.emulator.tuning_evaluation import ERROR_LABEL, scores
from tuning_operator.specs.catalog import default_catalog
from tuning_operator.vertex.mapping import observed_job

PARENT = "projects/p/locations/us-central1"
OUTPUT = "gs://bucket/ops/evaluations/bot/during-tuning/"


def config(*, metrics: list[str] | None = None,
           output: str = OUTPUT) -> aiplatform_v1.EvaluationConfig:
    specs = {"exact_match_spec": aiplatform_v1.ExactMatchSpec(),
             "bleu_spec": aiplatform_v1.BleuSpec(),
             "rouge_spec": aiplatform_v1.RougeSpec(rouge_type="rougeL")}
    chosen = ["exact_match_spec", "rouge_spec"] if metrics is None else metrics
    return aiplatform_v1.EvaluationConfig(
        metrics=[aiplatform_v1.Metric(aggregation_metrics=["AVERAGE"], **{m: specs[m]})
                 for m in chosen],
        output_config=aiplatform_v1.OutputConfig(
            gcs_destination=aiplatform_v1.GcsDestination(output_uri_prefix=output)))


def evaluated_job(labels: dict[str, str] | None = None,
                  evaluation: aiplatform_v1.EvaluationConfig | None = None,
                  ) -> aiplatform_v1.TuningJob:
    job = sample_job(labels=labels)
    job.supervised_tuning_spec.validation_dataset_uri = "gs://tuning-data/support/val.jsonl"
    job.supervised_tuning_spec.evaluation_config = evaluation or config()
    return job


class Clock:
    now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def store(clock: Clock) -> JobStore:
    return JobStore(StoreSettings(job_seconds=100.0), catalog=default_catalog(), clock=clock,
                    rng=random.Random(3))


@pytest.mark.parametrize(("evaluation", "message"), [
    (config(metrics=[]), "metrics is required"),
    (aiplatform_v1.EvaluationConfig(metrics=[aiplatform_v1.Metric()],
                                    output_config=config().output_config), "no metric spec"),
    (config(output=""), "output_uri_prefix is required"),
])
def test_a_config_vertex_would_refuse_is_invalid(evaluation: aiplatform_v1.EvaluationConfig,
                                                 message: str) -> None:
    """Required metrics (each with a spec) and a gs:// output location, as the API marks them."""
    with pytest.raises(ApiError, match=message) as caught:
        store(Clock()).create(PARENT, evaluated_job(evaluation=evaluation))
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_only_us_central1_evaluates_during_tuning() -> None:
    """The preview's one region: elsewhere a create with evaluation_config is refused."""
    with pytest.raises(ApiError, match="not supported in europe-west4"):
        store(Clock()).create("projects/p/locations/europe-west4", evaluated_job())


def test_runs_appear_per_checkpoint_once_the_job_succeeded() -> None:
    """No runs while the job runs; then one per checkpoint, each metric's average as scripted."""
    clock = Clock()
    emulated = store(clock)
    created = emulated.create(PARENT, evaluated_job(labels={CURVE_LABEL: "overfit"}))
    assert list(created.evaluate_dataset_runs) == []
    clock.now += 101
    done = emulated.get(created.name)
    assert [r.checkpoint_id for r in done.evaluate_dataset_runs] == ["1", "2", "3"]
    runs = observed_job(done).evaluation_runs
    record, _, _ = emulated.observe_job(created.name)
    for run, checkpoint in zip(runs, done.tuned_model.checkpoints, strict=True):
        expected = scores(record, int(checkpoint.step))
        assert run.metrics == {"exactMatch": pytest.approx(expected, abs=1e-4),
                               "rougeL": pytest.approx(min(0.99, expected * 1.05), abs=1e-4)}
    # An overfit run is best in the middle: the validation loss rises at the end.
    assert runs[1].metrics["exactMatch"] > runs[2].metrics["exactMatch"]
    prefix = done.evaluate_dataset_runs[0].evaluate_dataset_response.output_info
    assert prefix.gcs_output_directory == OUTPUT + "checkpoint-1/"


def test_a_scripted_error_fails_one_checkpoints_run() -> None:
    """`emulator-eval-error=2`: checkpoint 2's run carries an error and no results."""
    clock = Clock()
    emulated = store(clock)
    created = emulated.create(PARENT, evaluated_job(labels={ERROR_LABEL: "2"}))
    clock.now += 101
    runs = observed_job(emulated.get(created.name)).evaluation_runs
    assert [r.error is not None for r in runs] == [False, True, False]
    assert runs[1].metrics == {} and "scripted" in (runs[1].error or "")


def test_a_job_without_config_has_no_runs() -> None:
    """Only a create that asked gets evaluate_dataset_runs."""
    clock = Clock()
    emulated = store(clock)
    created = emulated.create(PARENT, sample_job())
    clock.now += 101
    assert list(emulated.get(created.name).evaluate_dataset_runs) == []


def test_the_config_travels_both_transports(client: Any, parent: str) -> None:
    """Over gRPC and REST the real client's evaluation_config is accepted and kept; an invalid
    one is refused with INVALID_ARGUMENT."""
    created = client.create_tuning_job(parent=parent, tuning_job=evaluated_job())
    assert created.supervised_tuning_spec.evaluation_config == config()
    with pytest.raises(exceptions.BadRequest):  # InvalidArgument over gRPC, 400 over REST
        client.create_tuning_job(parent=parent, tuning_job=evaluated_job(
            evaluation=config(output="")))


def test_runs_travel_the_rest_transport() -> None:
    """A succeeded job's runs reach the real client over REST (JSON) as over gRPC."""
    from tuning_operator.emulator import VertexEmulator
    from tuning_operator.vertex.clients import emulator_factory

    with VertexEmulator(job_seconds=0.3) as emulated:
        client = emulator_factory(emulated.rest_endpoint.removeprefix("http://"),
                                  transport="rest")("us-central1")
        try:
            created = client.create_tuning_job(parent=PARENT, tuning_job=evaluated_job())
            deadline = time.monotonic() + 10
            while (job := client.get_tuning_job(name=created.name)).state.name != (
                    "JOB_STATE_SUCCEEDED") and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            client.transport.close()
    runs = observed_job(job).evaluation_runs
    assert [r.checkpoint_id for r in runs] == ["1", "2", "3"]
    assert all(set(r.metrics) == {"exactMatch", "rougeL"} for r in runs)
