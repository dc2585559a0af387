"""VertexMetrics against the emulator process with the real client: curves → seed 004 verdicts."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.emulator_process import EmulatorAdmin, EmulatorProcess, sample_job
from tuning_operator.emulator import DURATION_LABEL
from tuning_operator.emulator.experiments import CURVE_LABEL
from tuning_operator.errors import NotFound, PermanentError, TemporaryError
from tuning_operator.judging import TAGS, diagnose
from tuning_operator.planning.model import ObservedJob, Phase
from tuning_operator.vertex import RequestBudget, default_retry
from tuning_operator.vertex.mapping import observed_job
from tuning_operator.vertex.metrics import VertexMetrics

REGION = "us-central1"
READ_METHODS = ("GetContext", "ListContexts", "ListTensorboardRuns",
                "ListTensorboardTimeSeries", "BatchReadTensorboardTimeSeriesData")


@pytest.fixture(params=["grpc", "rest"])
def metrics(request: pytest.FixtureRequest, emulator: EmulatorProcess) -> Iterator[VertexMetrics]:
    """The adapter against the emulator process, once per client transport, fast retries."""
    transport = request.param
    endpoint = emulator.grpc_endpoint if transport == "grpc" else emulator.rest_endpoint
    budget = RequestBudget(crud_per_minute=60_000, submissions_per_minute=60_000)
    with VertexMetrics.for_emulator(
        endpoint, budget=budget, transport=transport,
        retry=default_retry(initial=0.01, maximum=0.05, timeout=0.5),
    ) as adapter:
        yield adapter


def finished_job(raw_client: Any, project: str, curve: str, *, epochs: int = 5,
                 validation: bool = True) -> ObservedJob:
    """A job with the `curve` shape that has already succeeded, as the List maps it."""
    job = sample_job(labels={CURVE_LABEL: curve, DURATION_LABEL: "0"})
    job.supervised_tuning_spec.hyper_parameters.epoch_count = epochs
    if validation:
        job.supervised_tuning_spec.validation_dataset_uri = "gs://tuning-data/support/val.jsonl"
    created = raw_client.create_tuning_job(parent=f"projects/{project}/locations/{REGION}",
                                           tuning_job=job)
    observed = observed_job(raw_client.get_tuning_job(name=created.name))
    assert observed.phase == Phase.SUCCEEDED and observed.experiment
    return observed


def read_calls(admin: EmulatorAdmin) -> dict[str, int]:
    calls = admin.calls()
    return {method: calls.get(method, 0) for method in READ_METHODS}


def test_four_curve_shapes_get_four_verdicts(
    metrics: VertexMetrics, raw_client: Any, project: str, admin: EmulatorAdmin
) -> None:
    """Healthy, overfit, underfit and data-problem jobs read back and diagnose as labelled."""
    expected = {"healthy": "healthy", "overfit": "overfitting", "underfit": "underfitting",
                "data-problem": "data-problem"}
    jobs = {curve: finished_job(raw_client, project, curve) for curve in expected}
    admin.reset_calls()
    verdicts = {}
    for curve, job in jobs.items():
        assert job.experiment is not None
        curves = metrics.read_curves(job.experiment)
        assert set(curves.series) == set(TAGS)
        assert {len(points) for points in curves.series.values()} == {100}
        verdicts[curve] = diagnose(curves, job.checkpoints).verdict
    assert verdicts == expected
    assert read_calls(admin) == dict.fromkeys(READ_METHODS, 4)
    assert metrics.calls == 20


def test_a_nan_curve_reads_back_as_nan_and_diverges_without_a_best_checkpoint(
    metrics: VertexMetrics, raw_client: Any, project: str
) -> None:
    """NaN crosses the wire (gRPC and REST's JSON "NaN") as NaN: 3 epochs of 20 steps are finite
    to step 19, NaN from step 20 (the first checkpoint's), so the run diverged with no best."""
    job = finished_job(raw_client, project, "nan", epochs=3)
    assert job.experiment is not None
    curves = metrics.read_curves(job.experiment)
    for points in (curves.train_loss, curves.eval_loss):
        assert len(points) == 60
        assert all(math.isfinite(p.value) for p in points[:19])
        assert all(math.isnan(p.value) for p in points[19:])
    result = diagnose(curves, job.checkpoints)
    assert result.verdict == "diverged" and "NaN from step 20" in result.reason
    assert result.best_checkpoint is None


def test_the_overfit_job_names_the_checkpoint_at_the_validation_minimum(
    metrics: VertexMetrics, raw_client: Any, project: str
) -> None:
    """Of five per-epoch checkpoints, the best is the one where validation loss is lowest."""
    job = finished_job(raw_client, project, "overfit")
    assert job.experiment is not None
    curves = metrics.read_curves(job.experiment)
    at_step = {p.step: p.value for p in curves.eval_loss}
    lowest = min(job.checkpoints, key=lambda c: at_step[c.step])
    result = diagnose(curves, job.checkpoints)
    assert [c.epoch for c in job.checkpoints] == [1, 2, 3, 4, 5]
    assert result.best_checkpoint == lowest
    assert (lowest.epoch, lowest.step) == (2, 40)
    assert result.best_checkpoint.endpoint and result.to_dict()["bestCheckpoint"]["id"] == "2"


def test_a_second_read_costs_two_requests(
    metrics: VertexMetrics, raw_client: Any, project: str, admin: EmulatorAdmin
) -> None:
    """Experiment, run and TensorBoard run are resolved once; later reads list and read only."""
    job = finished_job(raw_client, project, "healthy")
    assert job.experiment is not None
    first = metrics.read_curves(job.experiment)
    admin.reset_calls()
    assert metrics.read_curves(job.experiment) == first
    assert read_calls(admin) == {**dict.fromkeys(READ_METHODS, 0),
                                 "ListTensorboardTimeSeries": 1,
                                 "BatchReadTensorboardTimeSeriesData": 1}


def test_without_validation_only_training_series_and_inconclusive(
    metrics: VertexMetrics, raw_client: Any, project: str
) -> None:
    """No validation dataset: three series, and the diagnosis says it cannot judge overfitting."""
    job = finished_job(raw_client, project, "overfit", validation=False)
    assert job.experiment is not None
    curves = metrics.read_curves(job.experiment)
    assert set(curves.series) == set(TAGS[:3])
    result = diagnose(curves, job.checkpoints)
    assert result.verdict == "inconclusive"
    assert result.best_checkpoint == job.checkpoints[-1]


def test_transient_faults_are_retried_and_counted(
    metrics: VertexMetrics, raw_client: Any, project: str, admin: EmulatorAdmin
) -> None:
    """An UNAVAILABLE read is retried; both attempts reach the emulator's call counter."""
    job = finished_job(raw_client, project, "healthy")
    assert job.experiment is not None
    admin.reset_calls()
    admin.fail_next("BatchReadTensorboardTimeSeriesData", "UNAVAILABLE")
    admin.fail_next("GetContext", "DEADLINE_EXCEEDED")
    assert metrics.read_curves(job.experiment).train_loss
    calls = read_calls(admin)
    assert (calls["GetContext"], calls["BatchReadTensorboardTimeSeriesData"]) == (2, 2)


def test_failures_become_operator_errors(
    metrics: VertexMetrics, raw_client: Any, project: str, admin: EmulatorAdmin
) -> None:
    """Unknown experiment: NotFound; malformed name: PermanentError; an outage: TemporaryError."""
    store = f"projects/{project}/locations/{REGION}/metadataStores/default"
    with pytest.raises(NotFound):
        metrics.read_curves(f"{store}/contexts/tuning-experiment-1")
    with pytest.raises(PermanentError, match="not an experiment"):
        metrics.read_curves("projects/p/experiments/x")
    job = finished_job(raw_client, project, "healthy")
    assert job.experiment is not None
    admin.fail_next("GetContext", "UNAVAILABLE", times=100)
    with pytest.raises(TemporaryError):
        metrics.read_curves(job.experiment)


def test_a_vanished_run_is_resolved_again(
    metrics: VertexMetrics, raw_client: Any, project: str, admin: EmulatorAdmin
) -> None:
    """NOT_FOUND on the cached TensorBoard run drops the cache; the next read resolves anew."""
    job = finished_job(raw_client, project, "healthy")
    assert job.experiment is not None
    metrics.read_curves(job.experiment)
    admin.fail_next("ListTensorboardTimeSeries", "NOT_FOUND")
    with pytest.raises(NotFound):
        metrics.read_curves(job.experiment)
    admin.reset_calls()
    assert metrics.read_curves(job.experiment).eval_loss
    assert read_calls(admin) == dict.fromkeys(READ_METHODS, 1)
