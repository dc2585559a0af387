"""`plan --state-dir` shows post-success steps a backoff holds, in every format, as no change."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.job_files import write_job
from tuning_operator.cli import main
from tuning_operator.specs import load_jobs_dir
from tuning_operator.specs.labels import ownership_labels
from tuning_operator.state.records import SmokeTestResult
from tuning_operator.state.store import FileStatusStore, JobRecord, OperatorMemory


@pytest.fixture
def backing_off(tmp_path: Path) -> list[str]:
    """A succeeded job whose evaluation waits 40 s for its endpoint: the `plan` arguments."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    write_job(jobs, "support-bot", "  evaluation: {dataset: set.jsonl}\n")
    (jobs / "team" / "set.jsonl").write_text(
        '{"contents": [{"role": "user", "parts": [{"text": "q"}]},'
        ' {"role": "model", "parts": [{"text": "a"}]}]}\n')
    loaded = load_jobs_dir(jobs).jobs["support-bot"]
    actual = tmp_path / "actual.json"
    actual.write_text(json.dumps([{
        "name": "projects/p/locations/us-central1/tuningJobs/1", "state": "JOB_STATE_SUCCEEDED",
        "labels": ownership_labels(job="support-bot", spec_hash=loaded.spec_hash, team="team")}]))
    record = JobRecord(name="support-bot", first_seen=0.0, team="team", path=loaded.path,
                       phase="Succeeded", smoke_test=SmokeTestResult(endpoint="healthy"))
    FileStatusStore(state).store({"support-bot": record}, OperatorMemory(
        attempts={"evaluation:support-bot": 2},
        not_before={"evaluation:support-bot": time.time() + 40}))
    return ["plan", "--actual", str(actual), "--jobs-dir", str(jobs), "--state-dir", str(state),
            "--detailed-exitcode"]


def test_text_shows_the_held_evaluation_with_its_reason(
        backing_off: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A line `‖ hold … evaluate: endpoint unavailable: asked again in N s`, and exit 0."""
    assert main(backing_off) == 0
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if "hold" in line]
    assert "team/support-bot" in line and "evaluate: endpoint unavailable: asked again in" in line
    assert "(answers received are kept)" in line and out.startswith("Plan: ")
    assert "1 held" in out.splitlines()[0]


def test_json_lists_the_held_step_apart_from_the_changes(
        backing_off: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """`holding` has the step, its reason and the next try; `changes` stays false."""
    assert main([*backing_off, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    [held] = document["holding"]
    assert document["changes"] is False
    assert (held["action"], held["job"], held["phase"]) == ("evaluate", "support-bot",
                                                            "Succeeded")
    assert "endpoint unavailable" in held["reason"] and 30 < held["retryAfter"] <= 40
    assert [a["action"] for a in document["actions"]] == ["noop"]


def test_markdown_has_a_hold_row_in_the_table(
        backing_off: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """The PR comment shows the hold as a row of the plan's table."""
    assert main([*backing_off, "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    [row] = [line for line in out.splitlines() if "hold evaluate" in line]
    assert row.startswith("| ‖ | hold evaluate | support-bot | team |")
    assert "endpoint unavailable" in row and "1 held" in out
