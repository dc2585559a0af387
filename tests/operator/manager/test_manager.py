"""The manager builds the operator once; the runner runs it in this process, like `run`."""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

import pytest

from tests.support.fake_vertex import FakeVertex, RecordingRecorder
from tests.support.job_files import write_job
from tuning_operator.manager.composition import Manager, Shutdown
from tuning_operator.manager.runner import OperatorRunner
from tuning_operator.manager.settings import resolve_settings, validate_settings
from tuning_operator.reconciling.reconciler import OperatorSettings, Reconciler
from tuning_operator.state.lease import FileLease
from tuning_operator.state.store import FileStatusStore, JobRecord


def embedded(jobs: Path, state: Path, **settings: object) -> dict[str, object]:
    """Settings of a quick run against the embedded emulator."""
    return {"jobs_dir": str(jobs), "state_dir": str(state), "settle": 0.0, "resync": 0.2,
            "emulator_job_seconds": 60.0, "check_datasets": "off", **settings}


def test_the_reconciler_is_never_rewired_after_construction(tmp_path: Path) -> None:
    """The lease check and the aftercare are constructor-set: assigning either is an error."""
    (tmp_path / "jobs").mkdir()
    reconciler = Reconciler(settings=OperatorSettings(jobs_dir=tmp_path / "jobs"),
                            vertex=FakeVertex(), store=FileStatusStore(tmp_path / "state"),
                            recorder=RecordingRecorder(), still_leader=lambda: False)
    with pytest.raises(AttributeError):
        reconciler.still_leader = lambda: True  # type: ignore[misc]
    with pytest.raises(AttributeError):
        reconciler.aftercare = reconciler.aftercare  # type: ignore[misc]
    assert reconciler.still_leader() is False


def test_the_status_view_is_a_read_only_snapshot(tmp_path: Path) -> None:
    """records() cannot be written through and does not change under a later pass."""
    jobs = tmp_path / "jobs"
    write_job(jobs, "a")
    reconciler = Reconciler(settings=OperatorSettings(jobs_dir=jobs, settle_seconds=0.0),
                            vertex=FakeVertex(), store=FileStatusStore(tmp_path / "state"),
                            recorder=RecordingRecorder())
    before = reconciler.status.records()
    reconciler.reconcile()
    assert dict(before) == {}
    after = reconciler.status.records()
    assert set(after) == {"a"}
    with pytest.raises(TypeError):
        after["b"] = JobRecord(name="b", first_seen=0.0)  # type: ignore[index]
    assert reconciler.status.phases() == {"Submitted": 1}
    assert reconciler.status.generation == 1
    assert reconciler.status.vertex_reached is not None


def test_manager_wires_the_lease_into_the_reconciler(tmp_path: Path) -> None:
    """The reconciler's lease check is the manager's lease, from construction on."""
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    lease = tmp_path / "lease"
    arguments = argparse.Namespace(**embedded(jobs, tmp_path / "state", lease=f"file:{lease}"))
    settings = validate_settings(resolve_settings(arguments, environ={}))
    with Manager(settings, shutdown=Shutdown(), owns_process=False) as manager:
        assert manager.reconciler.still_leader == manager.lease.acquire
        assert manager.reconciler.still_leader()
        manager.lease.release()


def test_runner_runs_once_in_this_process_and_captures_the_logs(tmp_path: Path) -> None:
    """`once=True`: one pass against the embedded emulator, exit 0, JSON logs in `output`."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    write_job(jobs, "a")
    with OperatorRunner(environ={}, **embedded(jobs, state, once=True)) as runner:
        assert runner.wait(timeout=60) == 0
        assert runner.status is not None
        assert {n: r.phase for n, r in runner.status.records().items()} == {"a": "Submitted"}
    assert runner.exit_code == 0 and runner.exception is None
    assert any(json.loads(line).get("event") == "phase_changed"
               for line in runner.output.splitlines())
    assert threading.current_thread() is threading.main_thread()


def test_runner_stop_drains_and_releases_the_lease(tmp_path: Path) -> None:
    """stop() is SIGTERM: the pass finishes, the first event is flushed, the lease is free."""
    jobs, state, lease = tmp_path / "jobs", tmp_path / "state", tmp_path / "lease"
    write_job(jobs, "a")
    events = state / "events.jsonl"
    with OperatorRunner(environ={}, **embedded(jobs, state, lease=f"file:{lease}")) as runner:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (events.exists() and events.read_bytes()):
            time.sleep(0.05)
        assert runner.running
        assert runner.stop(timeout=20) == 0
    assert json.loads(events.read_text().splitlines()[0])["data"]["phase"] == "Submitted"
    other = FileLease(lease)
    assert other.acquire()
    other.release()


def test_runner_stopped_before_its_first_pass_exits_0(tmp_path: Path) -> None:
    """A stop that arrives while the operator is still being built drains and exits 0."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    write_job(jobs, "a")
    with OperatorRunner(environ={}, **embedded(jobs, state)) as runner:
        assert runner.stop(timeout=30) == 0
    assert runner.exception is None


def test_runner_settings_are_validated_like_run(tmp_path: Path) -> None:
    """Unknown names fail at once; out-of-range values fail like the `run` flags."""
    from tuning_operator.errors import ConfigError

    with pytest.raises(TypeError, match="unknown settings resync_seconds"):
        OperatorRunner(resync_seconds=1.0)
    (tmp_path / "jobs").mkdir()
    with pytest.raises(ConfigError, match="--resync"), OperatorRunner(
            environ={}, **embedded(tmp_path / "jobs", tmp_path / "state", resync=-1.0)):
        pass
