"""`tuning-operator report NAME` through the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.report_state import finished_job, training_run, write_job
from tuning_operator.cli import main


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A state directory with one finished job of 2,000 steps."""
    directory = tmp_path / "state"
    write_job(directory, "ticket-classifier-v3", finished_job(steps=2000),
              training_run(steps=2000))
    return directory


@pytest.mark.parametrize(
    ("flags", "starts"),
    [
        ([], "<!DOCTYPE html>"),
        (["--format", "html"], "<!DOCTYPE html>"),
        (["--format", "markdown"], "### tuning-operator report: ticket-classifier-v3"),
    ],
    ids=["default-html", "html", "markdown"],
)
def test_report_to_stdout(state: Path, flags: list[str], starts: str,
                          capsys: pytest.CaptureFixture[str]) -> None:
    """Without --output the report goes to stdout, in the format asked (HTML by default)."""
    assert main(["report", "ticket-classifier-v3", "--state-dir", str(state), *flags]) == 0
    out = capsys.readouterr().out
    assert out.startswith(starts)


@pytest.mark.parametrize(
    ("file", "flags", "starts"),
    [
        ("report.html", [], "<!DOCTYPE html>"),
        ("comment.md", [], "### tuning-operator report"),
        ("comment.md", ["--format", "html"], "<!DOCTYPE html>"),
    ],
    ids=["html-file", "md-suffix-means-markdown", "format-beats-suffix"],
)
def test_report_to_a_file(state: Path, tmp_path: Path, file: str, flags: list[str],
                          starts: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--output writes the file (format from --format, else from the suffix) and says so."""
    output = tmp_path / file
    assert main(["report", "ticket-classifier-v3", "--state-dir", str(state),
                 "--output", str(output), *flags]) == 0
    assert output.read_text(encoding="utf-8").startswith(starts)
    captured = capsys.readouterr()
    assert captured.out == "" and f"wrote {output}" in captured.err


@pytest.mark.parametrize(
    ("args", "fix"),
    [
        (["report", "ghost", "--state-dir", "{state}"], "tuning-operator status --state-dir"),
        (["report", "ticket-classifier-v3", "--state-dir", "{missing}"], "pass the operator's"),
        (["report", "ticket-classifier-v3", "--state-dir", "{state}", "--output",
          "{missing}/r.html"], "choose an --output in a directory that exists"),
    ],
    ids=["unknown-job", "missing-state-dir", "unwritable-output"],
)
def test_errors_are_one_line_with_the_fix(state: Path, tmp_path: Path, args: list[str],
                                          fix: str, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown job, state directory or output directory: exit 2, one line naming the fix."""
    values = {"state": str(state), "missing": str(tmp_path / "nowhere")}
    assert main([a.format(**values) for a in args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("tuning-operator report: ")
    assert fix in captured.err
