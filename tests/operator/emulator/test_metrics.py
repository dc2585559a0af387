"""The emulated experiment of a job over gRPC: its run, six series one point per step, faults."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions as api
from google.cloud import aiplatform_v1

from tests.support.emulator_process import sample_job
from tuning_operator.emulator import VertexEmulator
from tuning_operator.emulator.experiments import CURVE_LABEL, STEPS_PER_EPOCH
from tuning_operator.judging import TAGS
from tuning_operator.vertex.clients import emulator_factory, emulator_service_factory

PARENT = "projects/p/locations/us-central1"
VALIDATION = "gs://tuning-data/support/val.jsonl"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class Clients:
    """The real tuning, metadata and TensorBoard clients of one in-process emulator."""

    def __init__(self, emulator: VertexEmulator) -> None:
        endpoint = emulator.grpc_endpoint
        self.tuning = emulator_factory(endpoint)("us-central1")
        self.metadata = emulator_service_factory(
            aiplatform_v1.MetadataServiceClient, endpoint)("us-central1")
        self.tensorboard = emulator_service_factory(
            aiplatform_v1.TensorboardServiceClient, endpoint)("us-central1")

    def create(self, *, epochs: int = 3, validation: bool = True, last_only: bool = False,
               curve: str = "healthy") -> Any:
        job = sample_job(labels={CURVE_LABEL: curve})
        spec = job.supervised_tuning_spec
        spec.hyper_parameters.epoch_count = epochs
        spec.export_last_checkpoint_only = last_only
        if validation:
            spec.validation_dataset_uri = VALIDATION
        return self.tuning.create_tuning_job(parent=PARENT, tuning_job=job)

    def series(self, experiment: str) -> dict[str, list[tuple[int, float]]]:
        """Walk experiment → run → TensorBoard run → series, as the Vertex adapter does."""
        context = self.metadata.get_context(name=experiment)
        tensorboard = context.metadata["backing_tensorboard_resource"]
        store = experiment.split("/contexts/", maxsplit=1)[0]
        runs = list(self.metadata.list_contexts(request={"parent": store, "filter": (
            f'schema_title="system.ExperimentRun" AND parent_contexts:"{experiment}"')}))
        assert [run.parent_contexts[0] for run in runs] == [experiment]
        exp_id = experiment.rsplit("/", 1)[1]
        (tb_run,) = self.tensorboard.list_tensorboard_runs(
            parent=f"{tensorboard}/experiments/{exp_id}")
        listed = {ts.name: ts.display_name for ts in
                  self.tensorboard.list_tensorboard_time_series(parent=tb_run.name)}
        read = self.tensorboard.batch_read_tensorboard_time_series_data(
            request={"tensorboard": tensorboard, "time_series": list(listed)})
        by_id = {name.rsplit("/", 1)[1]: tag for name, tag in listed.items()}
        return {by_id[d.tensorboard_time_series_id]: [(p.step, p.scalar.value) for p in d.values]
                for d in read.time_series_data}

    def close(self) -> None:
        for client in (self.tuning, self.metadata, self.tensorboard):
            client.transport.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> Iterator[VertexEmulator]:
    with VertexEmulator(job_seconds=100, clock=clock) as emulator:
        yield emulator


@pytest.fixture
def clients(emulator: VertexEmulator) -> Iterator[Clients]:
    made = Clients(emulator)
    yield made
    made.close()


def test_a_job_gets_its_experiment_when_it_starts_running(
    clients: Clients, clock: FakeClock
) -> None:
    """Queued: no experiment (and its context is NOT_FOUND); running: the experiment is set."""
    job = clients.create()
    assert job.experiment == ""
    name = f"{PARENT}/metadataStores/default/contexts/tuning-experiment-{job.name.rsplit('/')[-1]}"
    with pytest.raises(api.NotFound):
        clients.metadata.get_context(name=name)
    clock.now += 20  # RUNNING from 20 % of the job's time
    running = clients.tuning.get_tuning_job(name=job.name)
    assert running.experiment == name
    assert clients.metadata.get_context(name=name).schema_title == "system.Experiment"


def test_while_running_only_the_elapsed_steps_exist(clients: Clients, clock: FakeClock) -> None:
    """Halfway through the running phase, half of the 60 steps have a point in every series."""
    job = clients.create(epochs=3)
    clock.now += 60  # running phase is [20, 100): 50 % done
    experiment = clients.tuning.get_tuning_job(name=job.name).experiment
    series = clients.series(experiment)
    assert set(series) == set(TAGS)
    assert {len(points) for points in series.values()} == {30}
    assert [step for step, _ in series["/train_total_loss"]] == list(range(1, 31))
    clock.now += 40
    assert {len(points) for points in clients.series(experiment).values()} == {60}
    assert clients.series(experiment)["/eval_total_loss"][:30] == series["/eval_total_loss"]


def test_no_validation_dataset_no_eval_series(clients: Clients, clock: FakeClock) -> None:
    """Without a validation dataset only the three /train_ series exist."""
    job = clients.create(validation=False)
    clock.now += 100
    series = clients.series(clients.tuning.get_tuning_job(name=job.name).experiment)
    assert set(series) == set(TAGS[:3])


@pytest.mark.parametrize(
    ("count", "last_only", "epochs"),
    [(4, False, [1, 2, 3, 4]), (4, True, [4]), (20, False, list(range(2, 21, 2)))],
    ids=["per epoch", "last only", "ten spread over 20 epochs"],
)
def test_checkpoints_per_epoch_or_only_the_last(
    clients: Clients, clock: FakeClock, count: int, last_only: bool, epochs: list[int]
) -> None:
    """A checkpoint per epoch (ten spread evenly above ten epochs), or only the last one."""
    job = clients.create(epochs=count, last_only=last_only)
    clock.now += 100
    done = clients.tuning.get_tuning_job(name=job.name)
    checkpoints = done.tuned_model.checkpoints
    assert [c.epoch for c in checkpoints] == epochs
    assert [c.step for c in checkpoints] == [e * STEPS_PER_EPOCH for e in epochs]
    assert checkpoints[-1].endpoint == done.tuned_model.endpoint
    assert len({c.endpoint for c in checkpoints}) == len(epochs)


@pytest.mark.parametrize(
    ("curve", "first_train_above_10"), [("data-problem", True), ("healthy", False)])
def test_the_curve_label_shapes_the_series(
    clients: Clients, clock: FakeClock, curve: str, first_train_above_10: bool
) -> None:
    """`emulator-curve: data-problem` starts the training loss above 10; healthy does not."""
    job = clients.create(curve=curve)
    clock.now += 100
    series = clients.series(clients.tuning.get_tuning_job(name=job.name).experiment)
    assert (series["/train_total_loss"][0][1] > 10) is first_train_above_10


@pytest.mark.parametrize(("epochs", "finite"), [(3, 19), (1, 6), (6, 39)])
def test_the_nan_curve_is_finite_for_a_third_of_the_steps_then_nan(
    clients: Clients, clock: FakeClock, epochs: int, finite: int
) -> None:
    """`emulator-curve: nan`: losses and accuracies are finite before step total/3, then NaN;
    the prediction counts stay numbers."""
    job = clients.create(curve="nan", epochs=epochs)
    clock.now += 100
    series = clients.series(clients.tuning.get_tuning_job(name=job.name).experiment)
    for tag in ("/train_total_loss", "/eval_total_loss",
                "/train_fraction_of_correct_next_step_preds"):
        values = [value for _, value in series[tag]]
        assert len(values) == epochs * 20
        assert all(math.isfinite(v) for v in values[:finite]), tag
        assert all(math.isnan(v) for v in values[finite:]), tag
    assert all(math.isfinite(v) for _, v in series["/train_num_predictions"])


def test_metrics_calls_are_counted_and_faulted(
    clients: Clients, clock: FakeClock, emulator: VertexEmulator
) -> None:
    """The call ledger counts each metrics method; a scripted fault reaches it once."""
    job = clients.create()
    clock.now += 100
    experiment = clients.tuning.get_tuning_job(name=job.name).experiment
    emulator.reset_calls()
    emulator.faults.fail_next("GetContext", "UNAVAILABLE")
    with pytest.raises(api.ServiceUnavailable):
        clients.metadata.get_context(name=experiment)
    clients.series(experiment)
    calls = emulator.calls()
    assert {method: calls[method] for method in (
        "GetContext", "ListContexts", "ListTensorboardRuns", "ListTensorboardTimeSeries",
        "BatchReadTensorboardTimeSeriesData")} == {
        "GetContext": 2, "ListContexts": 1, "ListTensorboardRuns": 1,
        "ListTensorboardTimeSeries": 1, "BatchReadTensorboardTimeSeriesData": 1}
    assert calls["ListTuningJobs"] == 0


def test_list_contexts_answers_only_the_run_lookup(clients: Clients, clock: FakeClock) -> None:
    """A filter the emulator does not implement is INVALID_ARGUMENT, never a wrong answer."""
    with pytest.raises(api.InvalidArgument):
        list(clients.metadata.list_contexts(request={
            "parent": f"{PARENT}/metadataStores/default", "filter": 'display_name = "x"'}))


@pytest.mark.parametrize(("asked", "count"), [(0, 1000), (-1, 1200), (10, 10)])
def test_reads_cap_points_like_vertex(
    clients: Clients, clock: FakeClock, asked: int, count: int
) -> None:
    """1000 points per series by default, all with -1; a sample always keeps the last step."""
    job = clients.create(epochs=60)  # 1200 steps
    clock.now += 100
    experiment = clients.tuning.get_tuning_job(name=job.name).experiment
    run = f"{experiment.split('/metadataStores/')[0]}/tensorboards/1000000000000000000"
    exp_id = experiment.rsplit("/", 1)[1]
    name = f"{run}/experiments/{exp_id}/runs/tuning-run/timeSeries/1"
    data = clients.tensorboard.read_tensorboard_time_series_data(
        request={"tensorboard_time_series": name, "max_data_points": asked}).time_series_data
    steps = [p.step for p in data.values]
    assert len(steps) == count and steps[-1] == 1200 and steps == sorted(steps)
    with pytest.raises(api.InvalidArgument):
        clients.tensorboard.read_tensorboard_time_series_data(
            request={"tensorboard_time_series": name, "max_data_points": 20_000})


def test_a_restarted_emulator_serves_the_same_curves(tmp_path: Path, clock: FakeClock) -> None:
    """Curves and checkpoints derive from the stored job, so the state file keeps them."""
    state = tmp_path / "emulator-state.json"
    seen = []
    for _ in range(2):
        with VertexEmulator(job_seconds=100, clock=clock, state_file=state) as emulator:
            clients = Clients(emulator)
            if not seen:
                name = clients.create(curve="overfit").name
                clock.now += 100
            done = clients.tuning.get_tuning_job(name=name)
            seen.append((clients.series(done.experiment), list(done.tuned_model.checkpoints)))
            clients.close()
    assert seen[0] == seen[1]
