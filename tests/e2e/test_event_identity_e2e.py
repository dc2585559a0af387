"""Exact events from the operator process against the emulator: one `ce-id` per transition,
the same id for a transition told again after a kill -9, one `ce-source` across restarts, and
no author named from a shallow clone."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import operator_args, run_in_process
from tests.support.emulator_process import EmulatorProcess
from tests.support.git_repo import shallow_jobs_checkout

pytestmark = [pytest.mark.timeout(240),
              pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")]
ROOT = Path(__file__).resolve().parents[2]
DENY = ("apiVersion: tuning-operator/v1\nkind: Policy\n"
        "teams:\n  t: {baseModels: [gemini-2.0-flash]}\n")


def phase_events(state: Path) -> list[dict[str, object]]:
    lines = (state / "events.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines)
            if e["type"] == "tuning-operator.job.phase-changed.v1"]


def test_toggles_restarts_and_a_replay_from_a_shallow_clone(
        emulator: EmulatorProcess, project: str, tmp_path: Path) -> None:
    """Two policy toggles are four ids; a transition re-told after a real kill -9 between the
    outbox and the status store keeps its id (told once before the kill, delivered from the
    outbox's replay and told again by the new pass); every process of the deployment says one
    source; the shallow checkout names no author and says why."""
    jobs, state = shallow_jobs_checkout(tmp_path), tmp_path / "state"

    def one(*extra: str) -> None:
        done = run_in_process(emulator, project, jobs, state, *extra)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    one("--until-settled", "--deadline", "60")
    settled = len(phase_events(state))
    for _ in range(2):
        (jobs / "_policy.yaml").write_text(DENY)
        one("--once")
        (jobs / "_policy.yaml").unlink()
        one("--once")
    (jobs / "_policy.yaml").write_text(DENY)
    killed = subprocess.run(  # kill -9 once the pass's events are in the outbox, before the store
        [sys.executable, "-m", "tests.support.crash",
         *operator_args(emulator, project, jobs, state, "--once")[3:]],
        capture_output=True, text=True, timeout=90, check=False, cwd=ROOT)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-2000:]
    one("--once")

    events = phase_events(state)
    toggles = events[settled:settled + 4]
    assert [e["data"]["phase"] for e in toggles] == ["Invalid", "Succeeded"] * 2
    assert len({e["id"] for e in toggles}) == 4
    told, again = events[-2:]
    assert told["data"]["phase"] == again["data"]["phase"] == "Invalid"
    assert told["id"] == again["id"] and told["data"]["sequence"] == again["data"]["sequence"]
    assert told["data"]["operatorInstance"] != again["data"]["operatorInstance"]  # the killed one
    assert len({e["data"]["operatorInstance"] for e in events}) >= 2
    repository = str(tmp_path / "source").strip("/")
    assert {e["source"] for e in events} == {f"//tuning-operator/{project}/{repository}"}
    assert all(e["data"]["gitAuthor"] is None and "shallow" in e["data"]["provenanceUnknown"]
               for e in events)
