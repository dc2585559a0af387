"""`run` settings, `status` and `history` through the command line."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pytest

from tuning_operator.cli import main
from tuning_operator.cli.operate import resolve_settings


def test_flags_beat_environment_beat_config_file(tmp_path: Path) -> None:
    """Precedence: a flag wins over TUNING_OPERATOR_*, which wins over --config, then defaults."""
    config = tmp_path / "operator.yaml"
    config.write_text("region: europe-west4\nresync: 90\nmax-concurrent-jobs: 3\n")
    args = argparse.Namespace(config=str(config), region=None, resync=12.0)
    options = resolve_settings(args, environ={"TUNING_OPERATOR_REGION": "us-east4",
                                              "TUNING_OPERATOR_MAX_CONCURRENT_JOBS": "5"})
    assert (options.region, options.resync, options.max_concurrent_jobs) == ("us-east4", 12.0, 5)
    assert options.state_dir == ".tuning-operator"


def test_unknown_config_key_is_named(tmp_path: Path) -> None:
    """A typo in the config file stops the operator and names the key."""
    config = tmp_path / "operator.yaml"
    config.write_text("regoin: europe-west4\n")
    with pytest.raises(SystemExit, match="unknown settings regoin"):
        resolve_settings(argparse.Namespace(config=str(config)), environ={})


def test_status_without_state_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """status on an empty state directory exits 1 and says what to check."""
    assert main(["status", "--state-dir", str(tmp_path)]) == 1
    assert "no jobs recorded" in capsys.readouterr().err


def git(repo: Path, *args: str) -> None:
    """Run git in `repo` with a fixed identity."""
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=Ada Lovelace",
                    "-c", "user.email=ada@example.com", *args], check=True, capture_output=True)


def test_once_then_status_and_history_name_the_commit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One embedded pass; status lists the job; history names the commit and its author."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    (jobs / "team").mkdir(parents=True)
    (jobs / "team" / "a.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata:\n  name: a\nspec:\n"
        "  baseModel: gemini-2.5-flash\n  trainingDataset: gs://datasets/team/train.jsonl\n")
    git(jobs, "init", "-q")
    git(jobs, "add", ".")
    git(jobs, "commit", "-qm", "tune a")
    code = main(["run", "--once", "--jobs-dir", str(jobs), "--state-dir", str(state),
                 "--settle", "0", "--log-file", str(tmp_path / "log.jsonl")])
    assert code == 0
    capsys.readouterr()
    assert main(["status", "--state-dir", str(state), "--format", "json"]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert (record["name"], record["phase"], record["team"]) == ("a", "Submitted", "team")
    assert main(["history", "a", "--state-dir", str(state)]) == 0
    out = capsys.readouterr().out
    assert "create: no Vertex job with this name yet by Ada Lovelace <ada@example.com>" in out
    assert "∅ → Submitted" in out
    events = (state / "events.jsonl").read_text().splitlines()
    assert json.loads(events[0])["data"]["gitAuthor"] == "Ada Lovelace <ada@example.com>"


def test_every_event_status_and_audit_line_carry_the_revision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pass over a git work tree records its HEAD: events, status and the audit trail."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    (jobs / "team").mkdir(parents=True)
    for name in ("a", "b"):
        (jobs / "team" / f"{name}.yaml").write_text(
            f"apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata:\n  name: {name}\n"
            "spec:\n  baseModel: gemini-2.5-flash\n"
            "  trainingDataset: gs://datasets/team/train.jsonl\n")
    git(jobs, "init", "-q")
    git(jobs, "add", "team/a.yaml")
    git(jobs, "commit", "-qm", "tune a")
    git(jobs, "add", "team/b.yaml")
    git(jobs, "commit", "-qm", "tune b")
    head = subprocess.run(["git", "-C", str(jobs), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    assert main(["run", "--once", "--jobs-dir", str(jobs), "--state-dir", str(state),
                 "--settle", "0", "--log-file", str(tmp_path / "log.jsonl")]) == 0
    capsys.readouterr()
    lines = (state / "events.jsonl").read_text().splitlines()
    events = [json.loads(line)["data"] for line in lines]
    assert {(e["job"], e["gitRevision"]) for e in events} == {("a", head), ("b", head)}
    assert main(["status", "--state-dir", str(state), "--format", "json"]) == 0
    assert {r["last_applied_revision"] for r in json.loads(capsys.readouterr().out)} == {head}
    assert main(["status", "--state-dir", str(state)]) == 0
    assert f"at {head[:12]}" in capsys.readouterr().out
    assert main(["history", "a", "--state-dir", str(state), "--format", "json"]) == 0
    trail = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert trail and {line["gitRevision"] for line in trail} == {head}


def test_a_plain_directory_records_no_revision(tmp_path: Path) -> None:
    """Outside git, events carry gitRevision null and status has no revision."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    (jobs / "team").mkdir(parents=True)
    (jobs / "team" / "a.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata:\n  name: a\nspec:\n"
        "  baseModel: gemini-2.5-flash\n  trainingDataset: gs://datasets/team/train.jsonl\n")
    assert main(["run", "--once", "--jobs-dir", str(jobs), "--state-dir", str(state),
                 "--settle", "0", "--log-file", str(tmp_path / "log.jsonl")]) == 0
    [event] = (state / "events.jsonl").read_text().splitlines()
    assert json.loads(event)["data"]["gitRevision"] is None
    status = json.loads((state / "status.json").read_text())
    assert status["jobs"]["a"]["last_applied_revision"] is None
