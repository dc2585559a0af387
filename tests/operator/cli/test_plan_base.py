"""`plan --base REV` on a real git repository: what the change does, judged by the base."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.git_repo import commit_all, git
from tests.support.job_files import write_job
from tuning_operator.cli import main
from tuning_operator.planning.model import Phase
from tuning_operator.planning.planner import Action, ActionKind, Plan
from tuning_operator.planning.render import MARKDOWN_LIMIT, REVIEW_ORDER, plan_markdown
from tuning_operator.specs.labels import ownership_labels

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
UNKNOWN = "orphan or cancel (onDelete unknown: pass --base)"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main: team ads with `gone-cancel` (onDelete: Cancel), `gone-orphan`, `mover`, `edited`;
    the work tree (the pull request) removes the first two, moves `mover` to team support,
    changes `edited` and adds `fresh`."""
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    jobs = tmp_path / "jobs"
    write_job(jobs, "gone-cancel", "  onDelete: Cancel\n", team="ads")
    write_job(jobs, "gone-orphan", team="ads")
    write_job(jobs, "mover", team="ads")
    write_job(jobs, "edited", team="ads")
    commit_all(tmp_path, "base")
    (jobs / "ads" / "gone-cancel.yaml").unlink()
    (jobs / "ads" / "gone-orphan.yaml").unlink()
    (jobs / "ads" / "mover.yaml").unlink()
    write_job(jobs, "mover", team="support")
    write_job(jobs, "edited", "  description: tuned again\n", team="ads")
    write_job(jobs, "fresh", team="ads")
    return tmp_path


def plan_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(["plan", "--format", "json", *argv])
    return code, json.loads(capsys.readouterr().out)


def running(tmp_path: Path, *names: str) -> Path:
    """An `--actual` file: each name's Vertex job of team ads, running."""
    jobs = [{"name": f"projects/p/locations/us-central1/tuningJobs/{i}",
             "state": "JOB_STATE_RUNNING",
             "labels": ownership_labels(job=name, spec_hash="0" * 16, team="ads")}
            for i, name in enumerate(names, 1)]
    path = tmp_path / "actual.json"
    path.write_text(json.dumps(jobs))
    return path


def test_the_change_comes_first_with_each_removed_files_on_delete(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Removed (with onDelete from the base), moved between teams, changed, added."""
    code, document = plan_json(capsys, "--offline", "--jobs-dir", str(repo / "jobs"),
                               "--base", "main")
    assert code == 0
    change = document["change"]
    assert isinstance(change, dict)
    assert change["counts"] == {"removed": 2, "moved": 1, "changed": 1, "added": 1}
    files = {f["job"]: f for f in change["files"]}
    assert [f["change"] for f in change["files"]] == [
        "removed", "removed", "moved", "changed", "added"]
    assert (files["gone-cancel"]["onDelete"], files["gone-orphan"]["onDelete"]) == (
        "Cancel", "Orphan")
    assert (files["mover"]["baseTeam"], files["mover"]["team"]) == ("ads", "support")


def test_a_removed_cancel_file_is_a_cancel_with_the_base_and_unknown_without(
        repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Live jobs of both removed files: --base says cancel and orphan; without it, no guess."""
    actual = str(running(tmp_path, "gone-cancel", "gone-orphan"))
    jobs = str(repo / "jobs")
    code, document = plan_json(capsys, "--actual", actual, "--jobs-dir", jobs, "--base", "main",
                               "--detailed-exitcode")
    actions = {a["job"]: a for a in document["actions"]}  # type: ignore[attr-defined]
    assert (actions["gone-cancel"]["action"], actions["gone-orphan"]["action"]) == (
        "cancel", "orphan")
    assert code == 2
    code, document = plan_json(capsys, "--actual", actual, "--jobs-dir", jobs)
    actions = {a["job"]: a for a in document["actions"]}  # type: ignore[attr-defined]
    assert all(UNKNOWN in actions[n]["reason"] for n in ("gone-cancel", "gone-orphan"))
    assert "change" not in document


def test_a_text_plan_shows_the_change_before_the_summary(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The first line is the change; the removed Cancel file says what removal does."""
    assert main(["plan", "--offline", "--jobs-dir", str(repo / "jobs"), "--base", "main"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("Change against main: 2 removed, 1 moved, 1 changed, 1 added")
    assert "onDelete: Cancel" in next(line for line in lines if "gone-cancel" in line)


def test_an_unknown_base_is_one_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A revision git does not have: exit 1, one line naming it and the fix."""
    assert main(["plan", "--offline", "--jobs-dir", str(repo / "jobs"), "--base", "nope"]) == 1
    err = capsys.readouterr().err
    assert "--base nope" in err and "fetch-depth: 0" in err and err.count("\n") == 1


def test_a_base_outside_git_is_one_error(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A jobs directory that is no git work tree: exit 1, and the error says so."""
    write_job(tmp_path / "jobs", "a", team="t")
    assert main(["plan", "--offline", "--jobs-dir", str(tmp_path / "jobs"), "--base", "main"]) == 1
    assert "is not in a git work tree" in capsys.readouterr().err


def test_a_waiting_create_is_pending(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--detailed-exitcode`: creates that wait for quota still ask for approval (exit 2)."""
    code, document = plan_json(capsys, "--offline", "--jobs-dir", str(repo / "jobs"),
                               "--max-concurrent-jobs", "0", "--detailed-exitcode")
    assert {a["action"] for a in document["actions"]} == {"wait"}  # type: ignore[attr-defined]
    assert (code, document["changes"], document["pending"]) == (2, False, True)


def test_every_invalid_row_of_a_4000_job_change_is_shown(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """4,000 jobs added, 40 of them invalid: the comment fits and lists all 40 first."""
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    commit_all(tmp_path, "empty")
    jobs = tmp_path / "jobs"
    for i in range(4000):
        extra = "  epochs: 3\n" if i % 100 == 7 else ""  # an unknown field: invalid
        write_job(jobs, f"job-{i:04d}", extra, team=f"team-{i % 8}")
    assert main(["plan", "--offline", "--jobs-dir", str(jobs), "--base", "main",
                 "--format", "markdown"]) == 3
    text = capsys.readouterr().out
    assert len(text) < MARKDOWN_LIMIT
    assert "**3960 added**" in text
    invalid = [line for line in text.splitlines() if line.startswith("| ✗ | invalid |")]
    assert len(invalid) == 40
    assert "other rows not shown" in text and "more changed files not shown" in text


def test_unchanged_rows_are_cut_first_and_counted() -> None:
    """At the size bound the unchanged rows go first; the note says how many."""
    def action(kind: ActionKind, i: int) -> Action:
        return Action(kind=kind, reason="x" * 200, phase=Phase.RUNNING, job=f"j-{kind}-{i}",
                      team="t", region="us-central1")

    actions = tuple([action(ActionKind.NOOP, i) for i in range(400)]
                    + [action(ActionKind.CREATE, i) for i in range(50)]
                    + [action(ActionKind.INVALID, i) for i in range(5)])
    text = plan_markdown(Plan(actions=actions, held=()), limit=30_000)
    rows = [line.split(" | ")[1] for line in text.splitlines() if line.startswith("| ")][1:]
    assert rows[:5] == ["invalid"] * 5 and rows[5:55] == ["create"] * 50
    assert set(rows[55:]) == {"noop"}
    assert f"_… {455 - len(rows)} unchanged rows not shown" in text


def test_every_action_kind_has_its_place_in_the_review_order() -> None:
    """A new kind of action is placed deliberately, never dropped from the plan's rows."""
    assert sorted(REVIEW_ORDER) == sorted(ActionKind) and len(REVIEW_ORDER) == len(ActionKind)
