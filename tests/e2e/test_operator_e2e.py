"""The operator against the Vertex emulator in a separate process, over the real client."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    REGION,
    adapter,
    jobs_by_name,
    operator_args,
    run_operator,
    write_job,
)
from tests.support.emulator_process import EmulatorProcess
from tests.support.fake_vertex import RecordingRecorder
from tuning_operator.cli import main
from tuning_operator.reconciling.reconciler import OperatorSettings, Reconciler
from tuning_operator.state.lease import FileLease
from tuning_operator.state.store import FileStatusStore


def phases(state: Path) -> dict[str, str]:
    """Each job's phase from the status store."""
    document = json.loads((state / "status.json").read_text())
    return {name: record["phase"] for name, record in document["jobs"].items()}


def test_lifecycle_until_settled(emulator: EmulatorProcess, project: str, tmp_path: Path) -> None:
    """create → running → succeeded for every job; events arrive in order per job."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    for i in range(3):
        write_job(jobs, f"job-{i}")
    done = run_operator(emulator, project, jobs, state, "--until-settled", "--deadline", "60")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert phases(state) == {f"job-{i}": "Succeeded" for i in range(3)}
    events = [json.loads(line) for line in (state / "events.jsonl").read_text().splitlines()]
    events = [e for e in events if e["type"] == "tuning-operator.job.phase-changed.v1"]
    for i in range(3):
        mine = [e["data"]["phase"] for e in events if e["subject"] == f"job-{i}"]
        assert mine == ["Submitted", "Running", "Succeeded"]
    assert jobs_by_name(emulator, project) == {f"job-{i}": 1 for i in range(3)}


class InProcess:
    """The reconciler in this process with the real adapter against the emulator process."""

    def __init__(self, emulator: EmulatorProcess, project: str, tmp_path: Path,
                 **settings: object) -> None:
        self.jobs, self.state = tmp_path / "jobs", tmp_path / "state"
        self.jobs.mkdir(exist_ok=True)
        self.vertex = adapter(emulator, project)
        options: dict[str, object] = {"settle_seconds": 0.0, "create_fence_seconds": 2.0,
                                      **settings}
        self.settings = OperatorSettings(jobs_dir=self.jobs, **options)  # type: ignore[arg-type]
        self.recorder = RecordingRecorder()
        self.restart()

    def restart(self) -> None:
        self.reconciler = Reconciler(settings=self.settings, vertex=self.vertex,
                                     store=FileStatusStore(self.state), recorder=self.recorder)

    def settle(self, *, seconds: float = 30.0) -> None:
        """Run passes until settled or the time is up."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.reconciler.reconcile().settled:
                return
            time.sleep(0.3)
        raise AssertionError(f"not settled: {self.phases()}")

    def phases(self) -> dict[str, str | None]:
        return {n: r.phase for n, r in self.reconciler.status.records().items()}


@pytest.fixture
def world(emulator: EmulatorProcess, project: str, tmp_path: Path) -> InProcess:
    """An in-process reconciler talking to the emulator process."""
    return InProcess(emulator, project, tmp_path)


def test_adopt_after_restart(world: InProcess, emulator: EmulatorProcess, project: str) -> None:
    """A restarted operator with a lost state store adopts the job instead of creating it."""
    write_job(world.jobs, "a")
    world.reconciler.reconcile()
    (world.state / "status.json").unlink()
    world.restart()
    world.reconciler.reconcile()
    assert world.phases()["a"] in ("Submitted", "Running")
    assert jobs_by_name(emulator, project) == {"a": 1}


def test_cancel_by_spec(world: InProcess, emulator: EmulatorProcess, project: str) -> None:
    """spec.cancel: true cancels the Vertex job; it ends CANCELLED."""
    path = write_job(world.jobs, "a")
    world.reconciler.reconcile()
    path.write_text(path.read_text() + "  cancel: true\n")
    world.settle()
    assert world.phases()["a"] == "Cancelled"
    with adapter(emulator, project) as vertex:
        [job] = vertex.list_managed(REGION).jobs
    assert job.state == "JOB_STATE_CANCELLED"


def test_on_delete_cancel(world: InProcess, emulator: EmulatorProcess, project: str) -> None:
    """Removing a file whose spec said onDelete: Cancel cancels its Vertex job."""
    doomed = write_job(world.jobs, "doomed", "  onDelete: Cancel\n")
    for i in range(3):
        write_job(world.jobs, f"stay-{i}")
    world.reconciler.reconcile()
    doomed.unlink()
    world.reconciler.reconcile()
    assert world.phases()["doomed"] == "Cancelling"
    assert emulator.admin.calls().get("CancelTuningJob", 0) >= 1


def test_conflict_on_changed_spec(world: InProcess, emulator: EmulatorProcess,
                                  project: str) -> None:
    """A changed spec is a conflict: no second job is created."""
    path = write_job(world.jobs, "a")
    world.reconciler.reconcile()
    path.write_text(path.read_text().replace("train.jsonl", "train-v2.jsonl"))
    world.reconciler.reconcile()
    assert world.phases()["a"] == "Conflict"
    assert jobs_by_name(emulator, project) == {"a": 1}


def test_quota_admission_order_and_team_cap(emulator: EmulatorProcess, project: str,
                                            tmp_path: Path) -> None:
    """Two slots: the higher priorities go first; a team capped at one waits for its slot."""
    world = InProcess(emulator, project, tmp_path, max_concurrent_jobs=2)
    (world.jobs / "_policy.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: Policy\nteams:\n  capped: {maxConcurrentJobs: 1}\n")
    write_job(world.jobs, "low", "  priority: 1\n")
    write_job(world.jobs, "high", "  priority: 9\n")
    write_job(world.jobs, "capped-a", "  priority: 5\n", team="capped")
    write_job(world.jobs, "capped-b", "  priority: 5\n", team="capped")
    world.reconciler.reconcile()
    assert world.phases() == {"high": "Submitted", "capped-a": "Submitted",
                              "capped-b": "Waiting", "low": "Waiting"}
    world.settle(seconds=40)
    assert set(world.phases().values()) == {"Succeeded"}


def test_vertex_quota_exhausted_waits(tmp_path: Path, project: str) -> None:
    """RESOURCE_EXHAUSTED from Vertex (--max-active) leaves jobs Waiting, then admits them."""
    with EmulatorProcess(job_seconds=2, max_active=1) as small:
        world = InProcess(small, project, tmp_path)
        write_job(world.jobs, "a")
        write_job(world.jobs, "b")
        world.reconciler.reconcile()
        assert sorted(world.phases().values()) == ["Submitted", "Waiting"]
        world.settle(seconds=40)
        assert jobs_by_name(small, project) == {"a": 1, "b": 1}


@pytest.mark.parametrize("damage", ["broken", "emptied", "half-written"])
def test_damage_cancels_nothing(world: InProcess, emulator: EmulatorProcess,
                                damage: str) -> None:
    """A broken file, an emptied directory, a half-written file: zero CancelTuningJob calls."""
    paths = [write_job(world.jobs, f"j{i}", "  onDelete: Cancel\n") for i in range(4)]
    world.reconciler.reconcile()
    before = emulator.admin.calls().get("CancelTuningJob", 0)
    if damage == "broken":
        paths[0].write_text("apiVersion: [\n")
    elif damage == "emptied":
        for path in paths:
            path.unlink()
    else:
        paths[1].write_text(paths[1].read_text()[:70])
    for _ in range(3):
        world.reconciler.reconcile()
    assert emulator.admin.calls().get("CancelTuningJob", 0) == before


def test_kill_minus_nine_during_creates_makes_no_duplicates(project: str,
                                                           tmp_path: Path) -> None:
    """kill -9 at random points during 50 creates, ghost creates on: one Vertex job per name."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    for i in range(50):
        write_job(jobs, f"storm-{i:02d}")
    rng = random.Random(7)
    with EmulatorProcess(job_seconds=600, extra_args=("--ghost-create-rate=0.2",
                                                      "--latency-ms=20")) as ghostly:
        for _ in range(6):
            process = subprocess.Popen(operator_args(ghostly, project, jobs, state),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(1.0, 2.5))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        done = run_operator(ghostly, project, jobs, state, "--until-settled", "--deadline", "8")
        counts = jobs_by_name(ghostly, project)
    assert done.returncode == 1  # jobs of 600 s never settle: the deadline ends the run
    assert len(counts) == 50
    assert max(counts.values()) == 1, {k: v for k, v in counts.items() if v > 1}


def test_injected_faults_converge(project: str, tmp_path: Path) -> None:
    """10 % of calls fail (UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED): still settles."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    for i in range(10):
        write_job(jobs, f"faulty-{i}")
    with EmulatorProcess(job_seconds=2, extra_args=("--fault-rate=0.1",
                                                    "--ghost-create-rate=0.05")) as faulty:
        done = run_operator(faulty, project, jobs, state, "--until-settled", "--deadline", "90")
        counts = jobs_by_name(faulty, project)
    assert done.returncode == 0, done.stdout[-2000:]
    assert counts == {f"faulty-{i}": 1 for i in range(10)}


def test_two_operators_one_lease(emulator: EmulatorProcess, project: str,
                                 tmp_path: Path) -> None:
    """With one lease only the holder acts; when it dies, the other takes over."""
    jobs = tmp_path / "jobs"
    write_job(jobs, "first")
    lease = f"file:{tmp_path / 'lease'}"
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [subprocess.Popen(operator_args(emulator, project, jobs, tmp_path / f"state-{i}",
                                            "--lease", lease, "--log-file", str(logs[i])),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for i in range(2)]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and jobs_by_name(emulator, project) != {"first": 1}:
            time.sleep(0.3)
        time.sleep(1.5)
        texts = [log.read_text() if log.exists() else "" for log in logs]
        holder = 0 if '"created"' in texts[0] else 1
        assert '"created"' not in texts[1 - holder]
        assert "lease_held_elsewhere" in texts[1 - holder]
        procs[holder].send_signal(signal.SIGKILL)
        procs[holder].wait(timeout=10)
        write_job(jobs, "second")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "second" not in jobs_by_name(emulator, project):
            time.sleep(0.3)
        assert jobs_by_name(emulator, project) == {"first": 1, "second": 1}
        assert '"created"' in logs[1 - holder].read_text()
    finally:
        for process in procs:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def test_live_plan_matches_what_the_operator_did(world: InProcess, emulator: EmulatorProcess,
                                                 project: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """plan against the emulator: a created job is a noop, a changed one a conflict, a new one a
    create; with the state dir, a removed onDelete: Cancel file plans a cancel."""
    changed = write_job(world.jobs, "changed")
    doomed = write_job(world.jobs, "doomed", "  onDelete: Cancel\n")
    for name in ("same", "same-2", "same-3"):
        write_job(world.jobs, name)
    world.reconciler.reconcile()
    changed.write_text(changed.read_text() + "  description: edited\n")
    doomed.unlink()
    write_job(world.jobs, "fresh")
    capsys.readouterr()
    code = main(["plan", "--jobs-dir", str(world.jobs), "--vertex-endpoint",
                 emulator.grpc_endpoint, "--project", project, "--state-dir", str(world.state),
                 "--settle", "0", "--format", "json", "--detailed-exitcode"])
    later = {"read-metrics", "smoke-test", "evaluate"}  # post-success steps, beside the phase
    actions = {a["job"]: a["action"] for a in json.loads(capsys.readouterr().out)["actions"]
               if a["action"] not in later}
    assert code == 2
    assert actions == {"changed": "conflict", "doomed": "cancel", "fresh": "create",
                       "same": "noop", "same-2": "noop", "same-3": "noop"}


def test_sigterm_drains_and_releases_the_lease(emulator: EmulatorProcess, project: str,
                                               tmp_path: Path) -> None:
    """SIGTERM: the operator finishes its pass, flushes events, releases the lease, exits 0."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    write_job(jobs, "a")
    lease = tmp_path / "lease"
    process = subprocess.Popen(operator_args(emulator, project, jobs, state,
                                             "--lease", f"file:{lease}"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    events = state / "events.jsonl"
    deadline = time.monotonic() + 30
    # Wait for the first event itself: the file exists as soon as the sink opens.
    while time.monotonic() < deadline and not (events.exists() and events.read_bytes()):
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    assert json.loads(events.read_text().splitlines()[0])["data"]["phase"] == "Submitted"
    other = FileLease(lease)
    assert other.acquire()
    other.release()


@pytest.mark.parametrize("delay", [0.0, 0.3, 0.8])
def test_sigterm_during_start_up_exits_0(emulator: EmulatorProcess, project: str,
                                         tmp_path: Path, delay: float) -> None:
    """SIGTERM at any moment of start-up (before or after the first files) drains, exits 0."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    write_job(jobs, "a")
    process = subprocess.Popen(operator_args(emulator, project, jobs, state),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(delay)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    # Before the handler is installed the default action kills (-15), but nothing is written.
    assert process.returncode in (0, -signal.SIGTERM), err.decode()[-2000:]
    if process.returncode:
        assert not state.exists()
    assert b"Traceback" not in err
