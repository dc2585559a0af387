"""Vertex's evaluation during tuning in the report: one row per checkpoint, its error too."""

from __future__ import annotations

from pathlib import Path

from tests.support.report_state import finished_job, write_job
from tuning_operator.reporting import load_report, render_html, render_markdown

DURING = {"1": {"metrics": {"exactMatch": 0.5, "rougeL": 0.61}},
          "2": {"metrics": {"exactMatch": 0.8}},
          "3": {"metrics": {}, "error": "code 13: evaluation <failed>"}}


def test_both_renderers_show_each_checkpoint(tmp_path: Path) -> None:
    """Markdown and HTML list every checkpoint's averages and the failed run's error."""
    write_job(tmp_path, "during-v1", {**finished_job(), "during_tuning": DURING})
    report = load_report(tmp_path, "during-v1")
    text = render_markdown(report)
    assert "During tuning (Vertex)" in text
    assert "| checkpoint | exactMatch | rougeL | error |" in text
    assert "| 1 | 0.500 | 0.610 |  |" in text
    page = render_html(report)
    assert "During tuning (Vertex)" in page and "evaluation &lt;failed&gt;" in page


def test_the_runs_show_before_the_operator_has_evaluated(tmp_path: Path) -> None:
    """Without the operator's own evaluation yet, Vertex's figures still show."""
    record = {**finished_job(), "during_tuning": DURING, "evaluation": None}
    write_job(tmp_path, "during-v1", record)
    report = load_report(tmp_path, "during-v1")
    assert "no evaluation recorded yet" in render_markdown(report)
    assert "During tuning (Vertex)" in render_markdown(report)
    assert "During tuning (Vertex)" in render_html(report)


def test_a_report_without_runs_has_no_such_section(tmp_path: Path) -> None:
    """A job that did not ask shows nothing new."""
    write_job(tmp_path, "plain-v1", finished_job())
    report = load_report(tmp_path, "plain-v1")
    assert "During tuning" not in render_markdown(report) + render_html(report)
