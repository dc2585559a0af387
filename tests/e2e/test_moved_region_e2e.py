"""A job file moved to another region, against the operator process and the emulator: with a
fresh state directory (a new replica, a recovery) it is a conflict, never a second job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import CLI, adapter, run_in_process, write_job
from tests.support.emulator_process import EmulatorProcess


def test_a_moved_region_with_a_fresh_state_dir_creates_nothing(
        emulator: EmulatorProcess, project: str, tmp_path: Path) -> None:
    """europe-west4 → us-central1, new state: 0 creates, `conflict` in run and in live plan."""
    jobs = tmp_path / "jobs"
    write_job(jobs, "mover", "  region: europe-west4\n", team="t")
    done = run_in_process(emulator, project, jobs, tmp_path / "first", "--once")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    write_job(jobs, "mover", "  region: us-central1\n", team="t")

    live = subprocess.run(
        [sys.executable, "-c", CLI, "plan", "--format", "json", "--jobs-dir", str(jobs),
         "--vertex-endpoint", emulator.grpc_endpoint, "--project", project],
        capture_output=True, text=True, timeout=60, check=False)
    [action] = json.loads(live.stdout)["actions"]
    assert action["action"] == "conflict" and "europe-west4" in action["vertexJob"]

    done = run_in_process(emulator, project, jobs, tmp_path / "fresh", "--once")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with adapter(emulator, project) as vertex:
        names = [j.job_name for region in ("us-central1", "europe-west4")
                 for j in vertex.list_managed(region).jobs]
    assert names == ["mover"]
    status = json.loads((tmp_path / "fresh" / "status.json").read_text())
    assert status["jobs"]["mover"]["phase"] == "Conflict"
