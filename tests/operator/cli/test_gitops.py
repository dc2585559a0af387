"""`validate`, `plan` and `schema` as a pull-request check runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tuning_operator.cli import main
from tuning_operator.planning.model import ObservedJob, Phase
from tuning_operator.planning.planner import Action, ActionKind, Plan
from tuning_operator.planning.render import MARKDOWN_LIMIT, plan_markdown
from tuning_operator.specs import load_jobs_dir
from tuning_operator.specs.labels import ownership_labels

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "jobs"


@pytest.fixture
def jobs(tmp_path: Path) -> Path:
    """A copy of the example jobs directory."""
    target = tmp_path / "jobs"
    shutil.copytree(EXAMPLES, target)
    return target


def test_examples_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped examples validate, so the README's demo starts from valid files."""
    assert main(["validate", "--jobs-dir", str(EXAMPLES)]) == 0
    assert "4 valid job(s), 0 error(s)" in capsys.readouterr().out


def test_validate_text_reports_path_line_column(jobs: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Text errors read `path:line:col: message`, and the exit code is 1."""
    bad = jobs / "support" / "reply-tone-v1.yaml"
    bad.write_text(bad.read_text().replace("baseModel:", "baseModle:"))
    assert main(["validate", "--jobs-dir", str(jobs)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:8:3: unknown field `spec.baseModle` (did you mean `baseModel`?)" in err


def test_validate_json_shape(jobs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """JSON output is one object with the valid names and the errors with file/line/job."""
    (jobs / "support" / "broken.yaml").write_text("metadata: {name: x}\nspec: [\n")
    assert main(["validate", "--jobs-dir", str(jobs), "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["valid"] == ["incident-summarizer-v2", "onboarding-buddy-v1",
                                 "reply-tone-v1", "ticket-classifier-v3"]
    assert document["errors"][0]["file"].endswith("broken.yaml")
    assert document["errors"][0]["line"] == 3
    assert set(document["errors"][0]) == {"file", "line", "column", "job", "message"}


@pytest.mark.parametrize("output", ["text", "json"])
def test_validate_warns_for_a_retired_model_and_passes(
        jobs: Path, capsys: pytest.CaptureFixture[str], output: str) -> None:
    """A job on a retired model is a warning (exit 0): its Vertex job must stay observed."""
    old = jobs / "legacy" / "old-classifier-v1.yaml"
    old.parent.mkdir()
    old.write_text((jobs / "support" / "reply-tone-v1.yaml").read_text()
                   .replace("reply-tone-v1", "old-classifier-v1")
                   .replace("gemini-2.5-flash-lite", "gemini-1.5-flash-002"))
    assert main(["validate", "--jobs-dir", str(jobs), "--format", output]) == 0
    captured = capsys.readouterr()
    if output == "text":
        assert f"{old}: warning: `spec.baseModel`: gemini-1.5-flash-002 is retired" in captured.err
        assert "team 'legacy' is not in the policy" in captured.err  # defaultTeam: allow
        assert "5 valid job(s), 0 error(s), 2 warning(s)" in captured.out
    else:
        document = json.loads(captured.out)
        assert "old-classifier-v1" in document["valid"] and document["errors"] == []
        (warning,) = [w for w in document["warnings"] if "retired" in w["message"]]
        assert warning["job"] == "old-classifier-v1"


def test_plan_detailed_exitcode(jobs: Path, tmp_path: Path) -> None:
    """--detailed-exitcode: 2 with changes pending, 0 with none, 1 on errors."""
    assert main(["plan", "--offline", "--jobs-dir", str(jobs), "--detailed-exitcode"]) == 2
    load = load_jobs_dir(jobs)
    actual = [
        {"name": f"projects/p/locations/us-central1/tuningJobs/{i}", "state": "JOB_STATE_RUNNING",
         "labels": ownership_labels(job=n, spec_hash=j.spec_hash, team=j.team)}
        for i, (n, j) in enumerate(load.jobs.items())
    ]
    actual_file = tmp_path / "actual.json"
    actual_file.write_text(json.dumps({"tuningJobs": actual}))
    assert main(["plan", "--actual", str(actual_file), "--jobs-dir", str(jobs),
                 "--detailed-exitcode"]) == 0
    (jobs / "support" / "broken.yaml").write_text("{")
    assert main(["plan", "--offline", "--jobs-dir", str(jobs), "--detailed-exitcode"]) == 3


def test_plan_rejects_bad_actual_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed --actual file is an error naming the file and the problem."""
    actual = tmp_path / "actual.json"
    actual.write_text('[{"name": "projects/p/locations/r/tuningJobs/1", "state": "DANCING"}]')
    assert main(["plan", "--actual", str(actual), "--jobs-dir", str(EXAMPLES)]) == 1
    assert "unknown Vertex job state 'DANCING'" in capsys.readouterr().err


def test_plan_needs_a_source_of_actual_state(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --offline or --actual, plan says what it needs instead of guessing."""
    assert main(["plan", "--jobs-dir", str(EXAMPLES)]) == 1
    assert "--offline" in capsys.readouterr().err


def test_markdown_stays_under_the_comment_limit() -> None:
    """A plan of 5,000 jobs renders under 60,000 characters and says how many rows it cut."""
    actions = tuple(
        Action(kind=ActionKind.CREATE, reason="no Vertex job with this name yet " + "x" * 80,
               phase=Phase.SUBMITTED, job=f"job-{i:05d}", team="team", region="us-central1")
        for i in range(5000)
    )
    text = plan_markdown(Plan(actions=actions, held=()))
    assert len(text) < MARKDOWN_LIMIT
    assert "**5000 to create**" in text
    assert "other rows not shown" in text


def test_schema_file_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    """The committed JSON Schema matches what `schema` prints (regenerate it if not)."""
    assert main(["schema"]) == 0
    committed = json.loads((ROOT / "schema" / "jobs-v1.json").read_text())
    assert json.loads(capsys.readouterr().out) == committed


@pytest.mark.parametrize("argv", [["validate"], ["plan", "--offline"]])
def test_fast_commands_import_no_google_library(argv: list[str]) -> None:
    """validate and plan --offline load no Google Cloud or gRPC module (they must start fast)."""
    code = (
        "import sys\nfrom tuning_operator.cli import main\n"
        f"main({[*argv, '--jobs-dir', str(EXAMPLES)]!r})\n"
        # namespace stubs made by a .pth file at start-up have no __file__: they load no code
        "heavy = sorted(m for m, mod in sys.modules.items() if getattr(mod, '__file__', None)\n"
        "               and m.split('.')[0] in ('google', 'grpc'))\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False).stdout
    assert "HEAVY []" in out


def test_observed_job_phase_mapping() -> None:
    """Vertex states map to operator phases by name, with or without the JOB_STATE_ prefix."""
    assert ObservedJob(name="x", state="JOB_STATE_QUEUED").phase == Phase.SUBMITTED
    assert ObservedJob(name="x", state="JOB_STATE_EXPIRED").phase == Phase.FAILED
    assert ObservedJob(name="x", state="JOB_STATE_CANCELLING").phase == Phase.CANCELLING


def test_plan_fails_on_a_new_job_it_refuses(jobs: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A new job on a retired model passes `validate` (a warning: an existing one is kept) but
    `plan` shows it invalid and exits 1, so the pull request's check fails before the merge."""
    old = jobs / "legacy" / "old-classifier-v1.yaml"
    old.parent.mkdir()
    old.write_text((jobs / "support" / "reply-tone-v1.yaml").read_text()
                   .replace("reply-tone-v1", "old-classifier-v1")
                   .replace("gemini-2.5-flash-lite", "gemini-1.5-flash-002"))
    assert main(["validate", "--jobs-dir", str(jobs)]) == 0
    capsys.readouterr()
    assert main(["plan", "--offline", "--jobs-dir", str(jobs), "--format", "json"]) == 3
    actions = {a["job"]: a for a in json.loads(capsys.readouterr().out)["actions"]}
    assert actions["old-classifier-v1"]["action"] == "invalid"
