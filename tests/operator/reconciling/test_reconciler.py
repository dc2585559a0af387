"""The reconcile pass against an in-process fake Vertex: the rules, pinned fast.

The same scenarios run against the emulator over the wire in tests/e2e.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.support.fake_vertex import FakeVertex, RecordingRecorder
from tests.support.job_files import write_job
from tuning_operator.errors import PermanentError, TemporaryError
from tuning_operator.reconciling.reconciler import OperatorSettings, Reconciler
from tuning_operator.specs import LoadedJob
from tuning_operator.specs.catalog import default_catalog
from tuning_operator.specs.model import HyperParameters
from tuning_operator.state.store import FileStatusStore, JobRecord


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class World:
    """A jobs dir, a fake Vertex, a state dir and a reconciler that can be restarted."""

    def __init__(self, tmp_path: Path, **settings: object) -> None:
        self.jobs = tmp_path / "jobs"
        self.jobs.mkdir()
        self.state = tmp_path / "state"
        self.vertex = FakeVertex()
        self.recorder = RecordingRecorder()
        self.clock = Clock()
        options: dict[str, object] = {"settle_seconds": 0.0, "create_fence_seconds": 10.0,
                                      **settings}
        self.settings = OperatorSettings(jobs_dir=self.jobs, **options)  # type: ignore[arg-type]
        self.restart()

    def restart(self) -> None:
        """A new operator process: memory gone, state dir kept."""
        self.reconciler = Reconciler(settings=self.settings, vertex=self.vertex,
                                     store=FileStatusStore(self.state), recorder=self.recorder,
                                     clock=self.clock)

    def use_datasets(self, checker: object) -> None:
        """Restart with a dataset pre-flight."""
        self.reconciler = Reconciler(settings=self.settings, vertex=self.vertex,
                                     store=FileStatusStore(self.state), recorder=self.recorder,
                                     clock=self.clock, datasets=checker)  # type: ignore[arg-type]

    def phase(self, name: str) -> str | None:
        return self.reconciler.status.records()[name].phase


@pytest.fixture
def world(tmp_path: Path) -> World:
    """A fresh world per test."""
    return World(tmp_path)


def test_create_then_follow_the_vertex_state(world: World) -> None:
    """An absent job is created once, then its phase follows Vertex; events fire on change only."""
    write_job(world.jobs, "a", team="t")
    world.reconciler.reconcile()
    [job] = world.vertex.by_job("a")
    assert world.phase("a") == "Submitted"
    world.reconciler.reconcile()
    world.vertex.set_state(job.name, "JOB_STATE_RUNNING")
    world.reconciler.reconcile()
    world.reconciler.reconcile()
    world.vertex.set_state(job.name, "JOB_STATE_SUCCEEDED")
    report = world.reconciler.reconcile()
    assert [t[2] for t in world.recorder.transitions] == ["Submitted", "Running", "Succeeded"]
    assert world.vertex.calls["create"] == 1
    assert report.settled


def test_restart_adopts_instead_of_recreating(world: World) -> None:
    """After a restart the job found by its name label is adopted, not created again."""
    write_job(world.jobs, "a", team="t")
    world.reconciler.reconcile()
    world.restart()
    world.reconciler.reconcile()
    assert len(world.vertex.by_job("a")) == 1


def test_job_created_by_a_lost_process_is_adopted(world: World) -> None:
    """A job on Vertex that the state store never heard of (crash before recording) is adopted."""
    write_job(world.jobs, "a", team="t")
    world.reconciler.reconcile()
    (world.state / "status.json").unlink()
    world.restart()
    world.reconciler.reconcile()
    assert len(world.vertex.by_job("a")) == 1
    assert world.phase("a") == "Submitted"


def test_ghost_create_is_not_repeated(world: World) -> None:
    """A create that timed out after committing is found by the next List, not sent twice."""
    write_job(world.jobs, "a", team="t")
    world.vertex.ghost_next_create = True
    world.reconciler.reconcile()
    world.clock.now += 60
    world.reconciler.reconcile()
    assert len(world.vertex.by_job("a")) == 1
    assert world.vertex.calls["create"] == 1


def test_lost_create_is_retried_only_after_the_fence(world: World) -> None:
    """An UNAVAILABLE create keeps its intent: no retry inside the fence, one retry after it."""
    write_job(world.jobs, "a", team="t")
    world.vertex.fail_next["create"] = [TemporaryError("unavailable", retry_after=0.0)]
    world.reconciler.reconcile()
    world.clock.now += 5
    world.reconciler.reconcile()
    assert world.vertex.calls["create"] == 1
    world.clock.now += 10
    world.reconciler.reconcile()
    assert world.vertex.calls["create"] == 2
    assert len(world.vertex.by_job("a")) == 1


def test_intent_survives_a_crash(world: World) -> None:
    """A process killed after sending a create leaves an intent that fences the next process."""
    write_job(world.jobs, "a", team="t")
    world.vertex.fail_next["create"] = [TemporaryError("connection reset", retry_after=0.0)]
    world.reconciler.reconcile()
    world.restart()
    world.clock.now += 1
    world.reconciler.reconcile()
    assert world.vertex.calls["create"] == 1


def test_list_failure_acts_on_nothing(world: World) -> None:
    """Without a List there is no actual state: nothing is created or cancelled."""
    write_job(world.jobs, "a", team="t")
    world.vertex.fail_next["list"] = [TemporaryError("unavailable", retry_after=0.5)]
    report = world.reconciler.reconcile()
    assert world.vertex.calls["create"] == 0
    assert report.errors == 1 and report.next_due is not None


def test_quota_exhausted_waits_instead_of_failing(world: World) -> None:
    """RESOURCE_EXHAUSTED from Vertex puts the job in Waiting; it is created once a slot frees."""
    write_job(world.jobs, "a", team="t")
    world.vertex.max_active = 1
    busy = world.vertex.add_unmanaged()
    world.reconciler.reconcile()
    assert world.phase("a") == "Waiting"
    world.vertex.set_state(busy, "JOB_STATE_SUCCEEDED")
    world.clock.now += 600
    world.reconciler.reconcile()
    assert world.phase("a") == "Submitted"


def test_admission_by_priority_with_max_concurrent(tmp_path: Path) -> None:
    """With one slot, the higher-priority job goes first and the other waits for it."""
    world = World(tmp_path, max_concurrent_jobs=1)
    write_job(world.jobs, "low", team="t")
    write_job(world.jobs, "high", "  priority: 9\n", team="t")
    world.reconciler.reconcile()
    assert (world.phase("high"), world.phase("low")) == ("Submitted", "Waiting")
    [job] = world.vertex.by_job("high")
    world.vertex.set_state(job.name, "JOB_STATE_SUCCEEDED")
    world.reconciler.reconcile()
    assert world.phase("low") == "Submitted"


def test_spec_cancel_cancels(world: World) -> None:
    """Setting spec.cancel cancels the running job."""
    path = write_job(world.jobs, "a", team="t")
    world.reconciler.reconcile()
    path.write_text(path.read_text() + "  cancel: true\n")
    world.reconciler.reconcile()
    assert world.vertex.calls["cancel"] == 1
    world.reconciler.reconcile()
    assert world.phase("a") == "Cancelled"


def test_removed_file_with_on_delete_cancel(world: World) -> None:
    """Removing a file whose last spec said onDelete: Cancel cancels its job; Orphan keeps it."""
    doomed = write_job(world.jobs, "doomed", "  onDelete: Cancel\n", team="t")
    kept = write_job(world.jobs, "kept", team="t")
    for i in range(3):
        write_job(world.jobs, f"other-{i}", team="t")
    world.reconciler.reconcile()
    doomed.unlink()
    kept.unlink()
    world.reconciler.reconcile()
    assert world.vertex.calls["cancel"] == 1
    assert world.phase("kept") == "Orphaned"
    [job] = world.vertex.by_job("kept")
    assert job.active


@pytest.mark.parametrize("damage", ["broken", "emptied", "removed-dir", "half-written"])
def test_damage_never_cancels(world: World, damage: str) -> None:
    """A broken file, an emptied or removed directory, a half-written file: zero cancellations."""
    paths = [write_job(world.jobs, f"j{i}", "  onDelete: Cancel\n", team="t") for i in range(4)]
    world.reconciler.reconcile()
    if damage == "broken":
        paths[0].write_text("apiVersion: [\n")
    elif damage == "emptied":
        for path in paths:
            path.unlink()
    elif damage == "removed-dir":
        for path in paths:
            path.unlink()
        (world.jobs / "t").rmdir()
        world.jobs.rmdir()
    else:
        paths[1].write_text(paths[1].read_text()[:60])
    world.reconciler.reconcile()
    assert world.vertex.calls["cancel"] == 0


def test_changed_spec_is_a_conflict(world: World) -> None:
    """Editing a created job's spec yields Conflict and creates nothing new."""
    path = write_job(world.jobs, "a", team="t")
    world.reconciler.reconcile()
    path.write_text(path.read_text() + "  description: changed\n")
    world.reconciler.reconcile()
    assert world.phase("a") == "Conflict"
    assert world.vertex.calls["create"] == 1


def test_vertex_refusal_stalls_until_the_spec_changes(world: World) -> None:
    """INVALID_ARGUMENT stalls the job as Invalid; it is not retried until the spec changes."""
    path = write_job(world.jobs, "a", team="t")
    world.vertex.fail_next["create"] = [PermanentError("adapter size not supported")]
    world.reconciler.reconcile()
    world.clock.now += 600
    world.reconciler.reconcile()
    assert world.phase("a") == "Invalid"
    assert world.vertex.calls["create"] == 1
    path.write_text(path.read_text() + "  description: fixed\n")
    world.reconciler.reconcile()
    assert world.vertex.calls["create"] == 2


def test_recently_written_file_waits_to_settle(tmp_path: Path) -> None:
    """A file modified a moment ago may be half-written: no create until it has settled."""
    world = World(tmp_path, settle_seconds=30.0)
    path = write_job(world.jobs, "a", team="t")
    report = world.reconciler.reconcile()
    assert world.vertex.calls["create"] == 0 and report.next_due is not None
    past = time.time() - 60
    os.utime(path, (past, past))
    world.reconciler.reconcile()
    assert world.vertex.calls["create"] == 1


class FakeCheck:
    """A dataset pre-flight answer."""

    def __init__(self, reason: str = "", *, send: HyperParameters | None = None) -> None:
        self.blocks_create = bool(reason)
        self.reason = reason
        self.send = send
        self.billable_tokens: int | None = 1000
        self.training_tokens: int | None = 1000
        self.epochs: int | None = 1
        self.model = default_catalog().get("gemini-2.5-flash")
        self.prediction_tokens: int | None = None
        self.generations = {"gs://datasets/t/train.jsonl": "1700000000000001"}

    def summary(self) -> str:
        return f"dataset {'blocked' if self.reason else 'passed'}; ≈1,000 billable tokens"


class FakeChecker:
    """Answers per job name; raises what it is told to."""

    def __init__(self) -> None:
        self.answers: dict[str, FakeCheck | Exception] = {}
        self.calls = 0

    def check(self, loaded: LoadedJob) -> FakeCheck:
        self.calls += 1
        answer = self.answers.get(loaded.name, FakeCheck())
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_failed_dataset_makes_the_job_invalid_until_fixed(world: World) -> None:
    """A dataset that fails the pre-flight: phase Invalid with the reason, nothing created."""
    checker = FakeChecker()
    world.use_datasets(checker)
    write_job(world.jobs, "a", team="t")
    checker.answers["a"] = FakeCheck("gs://d/t/train.jsonl:7: the last turn must be the model's")
    world.reconciler.reconcile()
    assert world.phase("a") == "Invalid"
    reason = world.reconciler.status.records()["a"].reason or ""
    assert "last turn must be the model's" in reason
    assert world.vertex.calls["create"] == 0
    assert ("a", None, "Invalid") in world.recorder.transitions
    checker.answers["a"] = FakeCheck()
    world.reconciler.reconcile()
    assert checker.calls == 1  # the answer is reused until the recheck interval has passed
    world.clock.now += 61
    world.reconciler.reconcile()
    assert world.phase("a") == "Submitted"


def test_resolved_preset_is_what_the_create_sends(world: World) -> None:
    """`preset: recommended` is sent as the pre-flight's resolved values."""
    checker = FakeChecker()
    world.use_datasets(checker)
    write_job(world.jobs, "a", "  hyperParameters: {preset: recommended}\n", team="t")
    resolved = HyperParameters(epoch_count=20, adapter_size=4, learning_rate_multiplier=10)
    checker.answers["a"] = FakeCheck(send=resolved)
    world.reconciler.reconcile()
    assert world.vertex.sent_hyper_parameters["a"] == resolved


def test_the_create_records_the_generation_of_each_dataset_object(world: World) -> None:
    """What the job trains on is kept (status, the Submitted reason, the store): an object
    overwritten later cannot change what a reproducible job was trained on."""
    checker = FakeChecker()
    world.use_datasets(checker)
    write_job(world.jobs, "a", team="t")
    world.reconciler.reconcile()
    record = FileStatusStore(world.state).fetch()["a"]
    assert record.preflight is not None
    assert record.preflight.generations == {"gs://datasets/t/train.jsonl": "1700000000000001"}
    assert record.reason == ("created on Vertex; trains on gs://datasets/t/train.jsonl"
                             " generation 1700000000000001")


def test_unreadable_dataset_storage_is_retried_not_invalid(world: World) -> None:
    """A transient storage error delays the create; it never marks the job Invalid."""
    checker = FakeChecker()
    world.use_datasets(checker)
    write_job(world.jobs, "a", team="t")
    checker.answers["a"] = TemporaryError("storage unavailable", retry_after=5.0)
    report = world.reconciler.reconcile()
    assert world.vertex.calls["create"] == 0
    assert world.phase("a") != "Invalid"
    assert report.next_due is not None


class RevisionRecorder(RecordingRecorder):
    """Also notes the revision each transition was recorded with."""

    def __init__(self) -> None:
        super().__init__()
        self.revisions: list[tuple[str, str | None]] = []

    def transition(self, record: JobRecord, *, previous: str | None, reason: str) -> None:
        super().transition(record, previous=previous, reason=reason)
        self.revisions.append((record.name, record.last_applied_revision))


def test_each_pass_records_the_revision_it_reconciled(tmp_path: Path) -> None:
    """The pass's revision is on every record before its transitions, and in the store."""
    world = World(tmp_path)
    revisions = iter(["c0ffee1", "c0ffee2", None])
    recorder = RevisionRecorder()
    world.reconciler = Reconciler(settings=world.settings, vertex=world.vertex,
                                  store=FileStatusStore(world.state), recorder=recorder,
                                  clock=world.clock, revision_of=lambda _dir: next(revisions))
    write_job(world.jobs, "a", team="t")
    assert world.reconciler.reconcile().revision == "c0ffee1"
    write_job(world.jobs, "b", team="t")
    assert world.reconciler.reconcile().revision == "c0ffee2"
    assert recorder.revisions == [("a", "c0ffee1"), ("b", "c0ffee2")]
    stored = FileStatusStore(world.state).fetch()
    assert {n: r.last_applied_revision for n, r in stored.items()} == {"a": "c0ffee2",
                                                                       "b": "c0ffee2"}
    world.reconciler.reconcile()  # the directory is no git work tree any more
    assert {r.last_applied_revision for r in FileStatusStore(world.state).fetch().values()} == {
        None}


class CountingPlanner:
    """The planner, counted: a replayed pass does not call it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from tuning_operator.reconciling import reconciler
        self.calls = 0
        real = reconciler.plan

        def counted(*args: object, **kwargs: object) -> object:
            self.calls += 1
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(reconciler, "plan", counted)

    def planned(self, world: World) -> bool:
        before = self.calls
        world.reconciler.reconcile()
        return self.calls > before


def test_a_steady_pass_replays_its_plan_and_any_change_plans_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing changed since a pass that did nothing: its plan is replayed, the planner is not
    called; a changed file, List, revision, unmanaged job or evaluation set each plan again."""
    revision = ["c0ffee1"]
    world = World(tmp_path)
    world.reconciler = Reconciler(settings=world.settings, vertex=world.vertex,
                                  store=FileStatusStore(world.state), recorder=world.recorder,
                                  clock=world.clock, revision_of=lambda _dir: revision[0])
    planner = CountingPlanner(monkeypatch)
    write_job(world.jobs, "a", team="t")
    write_job(world.jobs, "b", "  evaluation: {dataset: evals/b.jsonl}\n", team="t")
    (world.jobs / "t" / "evals").mkdir()
    (world.jobs / "t" / "evals" / "b.jsonl").write_text("{}\n")
    (world.jobs / "t" / "c.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata: {name: c}\nspec: {}\n")
    assert planner.planned(world) and planner.planned(world)  # create, then observe
    assert planner.planned(world)  # the first pass that did nothing
    steady = world.reconciler.reconcile()
    assert not planner.planned(world)
    assert steady.plan is world.reconciler.quiet.plan  # type: ignore[union-attr]
    assert steady.next_due == world.clock.now + 5.0  # the pending jobs are looked at again
    # A List per pass, and the catalog's other tuning region once (the clock stood still).
    assert world.vertex.calls["list"] == 5 + 1 and world.vertex.calls["create"] == 2

    def replans_then_settles(change: object) -> None:
        assert planner.planned(world), change
        while planner.planned(world):
            pass  # the changed inputs settle into a new quiet pass

    [job] = world.vertex.by_job("a")
    world.vertex.set_state(job.name, "JOB_STATE_RUNNING")
    replans_then_settles("the List")
    assert world.phase("a") == "Running"
    time.sleep(0.01)
    write_job(world.jobs, "a", "  hyperParameters: {preset: recommended}\n", team="t")
    replans_then_settles("a job file")
    assert world.phase("a") == "Conflict"
    revision[0] = "c0ffee2"
    replans_then_settles("the revision")
    world.vertex.add_unmanaged()
    replans_then_settles("an unmanaged job")
    (world.jobs / "t" / "evals" / "b.jsonl").unlink()
    replans_then_settles("the evaluation set")
    assert world.phase("b") == "Invalid"
    world.reconciler.clock.now += 3600  # type: ignore[attr-defined]
    assert not planner.planned(world)
    records = world.reconciler.status.records()
    assert {r.last_applied_revision for r in records.values()} == {"c0ffee2"}


def test_a_pass_held_by_a_gate_is_never_replayed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A create fenced after a lost request waits on the clock: every pass plans (even one
    that changed no record), and the create goes out once the fence has passed."""
    world = World(tmp_path)
    planner = CountingPlanner(monkeypatch)
    write_job(world.jobs, "a", team="t")
    world.vertex.fail_next["create"] = [TemporaryError("unavailable", retry_after=0.0)]
    world.reconciler.reconcile()
    for _ in range(3):
        world.clock.now += 1
        assert planner.planned(world) and planner.planned(world)  # the same second twice
    assert world.reconciler.quiet is None and world.vertex.calls["create"] == 1
    world.clock.now += 10
    world.reconciler.reconcile()
    assert world.vertex.calls["create"] == 2 and len(world.vertex.by_job("a")) == 1


def test_a_moved_region_is_a_conflict_even_with_a_fresh_state_dir(tmp_path: Path) -> None:
    """The job runs in europe-west4; its file now says us-central1 and the state is new: the
    catalog's other region is listed before any create, so no second job is created."""
    world = World(tmp_path)
    write_job(world.jobs, "a", "  region: europe-west4\n", team="t")
    world.reconciler.reconcile()
    assert world.vertex.calls["create"] == 1
    shutil.rmtree(world.state)
    write_job(world.jobs, "a", "  region: us-central1\n", team="t")
    world.restart()
    world.reconciler.reconcile()
    assert world.vertex.calls["create"] == 1
    assert world.phase("a") == "Conflict"


def test_the_other_regions_are_listed_once_per_create_fence(world: World) -> None:
    """Within the fence the last List of the other regions stands; after it, a new one."""
    write_job(world.jobs, "a", team="t")
    lists = []
    for step in (0.0, 1.0, 1.0, 10.0):
        world.clock.now += step
        report = world.reconciler.reconcile()
        lists.append(report.calls["ListTuningJobs"])
    assert lists == [2, 1, 1, 2]  # us-central1 every pass; europe-west4 at 0 s and 12 s
