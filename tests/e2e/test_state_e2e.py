"""Trustworthy state, driven through the real operator over several passes.

Each test runs `tuning-operator run` (usually `--once`, pass by pass, by the in-process
runner; as a process where it must be signalled or outlive a broken disk) against the Vertex
emulator in its own process and asserts on what Vertex, `status` and the events say afterwards:
removals after earlier removals, jobs observed after their files left, labels of the first
release, fenced creates, hostile YAML, and broken, full or vanished state directories.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from tests.e2e.conftest import REGION, adapter, operator_args, run_in_process, write_job
from tests.support.emulator_process import EmulatorProcess
from tuning_operator.cli import main
from tuning_operator.specs import load_jobs_dir
from tuning_operator.specs.model import TuningJob
from tuning_operator.state.store import FileStatusStore

pytestmark = pytest.mark.timeout(240)
ACTIVE = {"JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING"}
ON_VERTEX = {"Submitted", "Running"}  # a job created and not yet ended


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    """Jobs that run for two minutes (removals and cancels happen while they run)."""
    with EmulatorProcess(job_seconds=120, cancel_seconds=0.3) as process:
        yield process


class Calls:
    """Emulator calls since the test's start, per method."""

    def __init__(self, emulator: EmulatorProcess) -> None:
        self.admin = emulator.admin
        self.start = dict(self.admin.calls())

    def __getitem__(self, method: str) -> int:
        return self.admin.calls().get(method, 0) - self.start.get(method, 0)


def once(emulator: EmulatorProcess, project: str, jobs: Path, state: Path,
         *extra: str) -> subprocess.CompletedProcess[str]:
    """`run --once`, in this process: each pass is a fresh operator over the same state."""
    done = run_in_process(emulator, project, jobs, state, "--once", *extra)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def status(state: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    """`status --format json`, by job name."""
    capsys.readouterr()
    assert main(["status", "--state-dir", str(state), "--format", "json"]) == 0
    return {job["name"]: job for job in json.loads(capsys.readouterr().out)["jobs"]}


def event_phases(state: Path, job: str) -> list[str]:
    lines = (state / "events.jsonl").read_text().splitlines()
    return [json.loads(line)["data"]["phase"] for line in lines
            if json.loads(line)["subject"] == job]


def vertex_states(emulator: EmulatorProcess, project: str) -> dict[str, str]:
    with adapter(emulator, project) as vertex:
        return {j.job_name or "": j.state for j in vertex.list_managed(REGION).jobs}


def test_removals_after_removals_cancel_and_reach_cancelled(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """a, b, c removed one per pass are all cancelled; each reaches Cancelled, then retires."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    for name in "abcd":
        write_job(jobs, name, "  onDelete: Cancel\n")
    calls = Calls(emulator)
    once(emulator, project, jobs, state)
    assert calls["CreateTuningJob"] == 4
    seen: dict[str, set[object]] = {n: set() for n in "abc"}

    def look() -> dict[str, dict[str, object]]:
        shown = status(state, capsys)
        for name, phases in seen.items():
            if name in shown:
                phases.add(shown[name]["phase"])
        return shown

    for count, name in enumerate("abc", start=1):
        (jobs / "team" / f"{name}.yaml").unlink()
        done = once(emulator, project, jobs, state)
        assert "vanished at once" not in done.stdout
        assert calls["CancelTuningJob"] == count, f"removing {name}"
        look()
    time.sleep(1.0)  # the emulator's cancel takes 0.3 s
    states = vertex_states(emulator, project)
    assert {n: states[n] for n in "abc"} == dict.fromkeys("abc", "JOB_STATE_CANCELLED")
    assert states["d"] in ACTIVE
    for _ in range(2):
        once(emulator, project, jobs, state)
        look()
    assert all("Cancelled" in phases for phases in seen.values()), seen
    for name in "abc":
        assert event_phases(state, name)[-2:] == ["Cancelling", "Cancelled"]
    assert set(look()) == {"d"}  # retired: told, published, forgotten
    assert calls["CancelTuningJob"] == 3  # never a second cancel of a cancelling job
    capsys.readouterr()
    assert main(["history", "a", "--state-dir", str(state)]) == 0
    assert "retire:" in capsys.readouterr().out


def test_jobs_labelled_by_the_first_release_stay_unchanged(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Vertex jobs carrying v1 spec-hash labels: no create, no cancel, no conflict, pass after
    pass."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    for name in ("x", "y", "z"):
        write_job(jobs, name, "  onSpecChange: Replace\n  hyperParameters: {epochCount: 3}\n")
    load = load_jobs_dir(jobs)
    # The previous release labelled jobs with what is now the legacy (v1) hash.
    with mock.patch.object(TuningJob, "spec_hash", TuningJob.legacy_spec_hash), \
            adapter(emulator, project) as vertex:
        for loaded in load.jobs.values():
            vertex.create(loaded.job, team=loaded.team, region=REGION)
    labels = {j.job_name: j.spec_hash for j in _listed(emulator, project)}
    assert labels == {n: load.jobs[n].job.legacy_spec_hash()[:16] for n in ("x", "y", "z")}  # type: ignore[index]
    calls = Calls(emulator)
    for _ in range(2):
        once(emulator, project, jobs, state)
    assert (calls["CreateTuningJob"], calls["CancelTuningJob"]) == (0, 0)
    assert {n: j["phase"] in ON_VERTEX for n, j in status(state, capsys).items()} == dict.fromkeys(
        ("x", "y", "z"), True)


def _listed(emulator: EmulatorProcess, project: str) -> list[object]:
    with adapter(emulator, project) as vertex:
        return list(vertex.list_managed(REGION).jobs)


def test_fenced_create_is_a_wait_in_the_live_plan_and_is_not_sent(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """An intent younger than the fence: `plan` says wait with the reason; the pass waits too."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    write_job(jobs, "fenced")
    FileStatusStore(state).note_intents(["fenced"], time.time())
    capsys.readouterr()
    code = main(["plan", "--jobs-dir", str(jobs), "--vertex-endpoint", emulator.grpc_endpoint,
                 "--project", project, "--state-dir", str(state), "--create-fence", "60",
                 "--settle", "0", "--format", "json"])
    [action] = json.loads(capsys.readouterr().out)["actions"]
    assert (code, action["action"]) == (0, "wait")
    assert "earlier create may still land" in action["reason"]
    calls = Calls(emulator)
    once(emulator, project, jobs, state, "--create-fence", "60")
    assert calls["CreateTuningJob"] == 0
    shown = status(state, capsys)["fenced"]
    assert shown["phase"] == "Waiting" and "earlier create" in str(shown["reason"])


def billion_laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return ("apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata: {name: bomb}\nspec:\n"
            f"  description: *a{levels - 1}\n" + "\n".join(lines) + "\n")


@pytest.mark.timeout(60)
def test_billion_laughs_is_rejected_at_once_and_the_rest_reconciles(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A 12-level alias bomb is an error in well under a second; its neighbour is created."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    write_job(jobs, "neighbour")
    (jobs / "evil").mkdir()
    (jobs / "evil" / "bomb.yaml").write_text(billion_laughs(12))
    started = time.monotonic()
    capsys.readouterr()
    assert main(["validate", "--jobs-dir", str(jobs)]) == 1
    assert time.monotonic() - started < 10
    captured = capsys.readouterr()
    assert "anchors and aliases" in captured.err and "bomb.yaml" in captured.err
    assert "1 valid job(s)" in captured.out
    calls = Calls(emulator)
    once(emulator, project, jobs, state)
    assert calls["CreateTuningJob"] == 1


def test_truncated_status_store_is_moved_aside_and_creates_are_fenced(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A torn status.json: moved aside, logged, audited; jobs adopted; new creates fenced."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    write_job(jobs, "a")
    once(emulator, project, jobs, state)
    text = (state / "status.json").read_text()
    (state / "status.json").write_text(text[: len(text) // 2])
    write_job(jobs, "b")
    calls = Calls(emulator)
    done = once(emulator, project, jobs, state, "--create-fence", "60")
    assert "state_recovered" in done.stdout
    assert calls["CreateTuningJob"] == 0
    assert list(state.glob("status.json.broken-*"))
    shown = status(state, capsys)
    assert shown["a"]["phase"] in ON_VERTEX and shown["b"]["phase"] == "Waiting"
    assert "state-recovered" in (state / "audit.jsonl").read_text()


def test_damaged_outbox_segment_is_set_aside(emulator: EmulatorProcess, project: str,
                                            tmp_path: Path) -> None:
    """Garbage in an outbox segment, or a misnamed one: set aside with a log line, no crash."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    write_job(jobs, "a")
    (state / "outbox").mkdir(parents=True)
    (state / "outbox" / "0000000000000007.jsonl").write_bytes(b"\x00garbage\nnot json\n")
    (state / "outbox" / "junk.jsonl").write_bytes(b"{}\n")
    done = once(emulator, project, jobs, state)
    assert done.stdout.count("outbox_segment_damaged") == 2
    assert sorted(p.name for p in (state / "outbox").glob("*.damaged")) == [
        "0000000000000007.jsonl.damaged", "junk.jsonl.damaged"]
    assert event_phases(state, "a") == ["Submitted"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs for the state directory, so the test can fill it (root only)."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if made.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs as root and must be able to mount a tmpfs: {made.stderr}")
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def wait_for(predicate: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_full_disk_stops_actions_until_space_returns(
        emulator: EmulatorProcess, project: str, tmp_path: Path, small_disk: Path) -> None:
    """ENOSPC on the state directory: no create without its intent and audit line; it
    recovers by itself when space returns."""
    jobs, state, log = tmp_path / "jobs", small_disk / "state", tmp_path / "operator.log"
    write_job(jobs, "a")
    process = subprocess.Popen(operator_args(emulator, project, jobs, state, "--log-file",
                                             str(log)), stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: "a" in vertex_states(emulator, project), 30)
        filler = small_disk / "filler"
        with filler.open("wb") as handle, pytest.raises(OSError):
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        write_job(jobs, "b")
        assert wait_for(lambda: "state_unwritable" in log.read_text(), 20)
        time.sleep(2)
        assert "b" not in vertex_states(emulator, project)
        filler.unlink()
        assert wait_for(lambda: "b" in vertex_states(emulator, project), 30)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err.decode()[-2000:]
    trail = (state / "audit.jsonl").read_text().splitlines()
    assert [json.loads(line)["action"] for line in trail
            if json.loads(line)["job"] == "b"][:1] == ["create"]


def test_state_directory_removed_under_a_running_operator(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """rm -rf of the state directory: the operator acts on nothing more and exits 3; the next
    start adopts from Vertex and fences every create."""
    jobs, state, log = tmp_path / "jobs", tmp_path / "state", tmp_path / "operator.log"
    write_job(jobs, "a")
    process = subprocess.Popen(operator_args(emulator, project, jobs, state, "--log-file",
                                             str(log)), stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: "a" in vertex_states(emulator, project), 30)
        calls = Calls(emulator)
        shutil.rmtree(state)
        write_job(jobs, "b")
        assert process.wait(timeout=30) == 3
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)
    assert "state_lost" in log.read_text()
    assert calls["CreateTuningJob"] == 0
    done = once(emulator, project, jobs, state, "--create-fence", "60")
    assert "state_recovered" in done.stdout
    assert calls["CreateTuningJob"] == 0
    shown = status(state, capsys)
    assert shown["a"]["phase"] in ON_VERTEX and shown["b"]["phase"] == "Waiting"


@pytest.mark.parametrize("endpoint", ["127.0.0.1:9", "not-a-hostport"])
def test_unreachable_vertex_fails_the_pass_and_status_says_so(
        tmp_path: Path, endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--once against a Vertex that cannot be listed exits non-zero; status names the failure."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    write_job(jobs, "a")
    code = main(["run", "--once", "--jobs-dir", str(jobs), "--state-dir", str(state),
                 "--vertex-endpoint", endpoint, "--project", "p",
                 "--log-file", str(tmp_path / "log")])
    assert code == 1
    capsys.readouterr()
    main(["status", "--state-dir", str(state)])
    out = capsys.readouterr()
    assert "Vertex last reached: never; failing since" in out.out


def test_another_teams_file_cannot_cancel_adopt_or_replace_a_job(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """alpha's job orphaned; beta's file of the same name (cancel: true, or a new spec with
    Replace) is a conflict in `plan` and `status`, and nothing is cancelled or created."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    path = write_job(jobs, "shared", team="alpha")
    once(emulator, project, jobs, state)
    path.unlink()
    write_job(jobs, "other", team="alpha")
    once(emulator, project, jobs, state)
    assert status(state, capsys)["shared"]["phase"] == "Orphaned"
    calls = Calls(emulator)
    for extra in ("  cancel: true\n", "  onSpecChange: Replace\n  description: beta's\n"):
        write_job(jobs, "shared", extra, team="beta")
        capsys.readouterr()
        main(["plan", "--jobs-dir", str(jobs), "--vertex-endpoint", emulator.grpc_endpoint,
              "--project", project, "--state-dir", str(state), "--format", "json"])
        actions = {a["job"]: a for a in json.loads(capsys.readouterr().out)["actions"]}
        assert actions["shared"]["action"] == "conflict"
        assert "belongs to team 'alpha'" in actions["shared"]["reason"]
        once(emulator, project, jobs, state)
        shown = status(state, capsys)["shared"]
        assert shown["phase"] == "Conflict" and "alpha" in str(shown["reason"])
    assert (calls["CancelTuningJob"], calls["CreateTuningJob"]) == (0, 0)
    assert vertex_states(emulator, project)["shared"] in ACTIVE
