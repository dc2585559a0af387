"""The report of a judged evaluation: both baselines, the autorater's agreement, every
checkpoint, the lowest-scored answers; in markdown, in HTML, and as Chromium lays it out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from tests.operator.reporting.test_browser import _headless, chromium  # noqa: F401
from tests.support.report_state import finished_job, write_job
from tuning_operator.reporting import load_report, render_html, render_markdown


def judged_job() -> dict[str, Any]:
    record = finished_job(steps=100)
    record["evaluation"] = {
        "verdict": "failed", "examples": 6, "checkpoint": "2", "fewShot": 3,
        "metrics": {
            "exactMatch": {"tuned": 0.6667, "baseline": 0.1667, "gain": 0.5, "fewShot": 1.0},
            "clarity": {"tuned": 2.33, "baseline": 3.0, "gain": -0.67, "fewShot": 2.0,
                        "kappa": -0.41, "withinOne": 0.33, "rated": 6}},
        "checkpoints": [
            {"checkpoint": "1", "step": 20, "verdict": "failed",
             "metrics": {"exactMatch": {"tuned": 0.5, "baseline": None, "gain": None}}},
            {"checkpoint": "2", "step": 40, "verdict": "failed",
             "metrics": {"exactMatch": {"tuned": 0.6667, "baseline": None, "gain": None}}}],
        "worst": [{"metric": "clarity", "example": 0, "score": 1.0,
                   "explanation": "terse <b>and</b> unclear"}],
        "failures": [],
        "reason": "clarity: autorater not trusted: kappa -0.41 < 0.70 on 6 human-rated examples",
    }
    return record


def test_markdown_names_both_baselines_the_checkpoints_and_the_worst_answers(
        tmp_path: Path) -> None:
    """The PR comment shows the 3-shot column, the kappa, the chosen checkpoint and why the
    autorater scored an answer lowest."""
    write_job(tmp_path, "judged-v1", judged_job())
    text = render_markdown(load_report(tmp_path, "judged-v1"))
    assert "baseline (zero-shot)" in text and "baseline (3-shot)" in text
    assert "-0.41, 33% on 6" in text
    assert "2 (chosen)" in text
    assert "clarity · example 0 · " in text and "unclear" in text


def test_html_report_opens_in_chromium_with_the_judges(
        tmp_path: Path, chromium: str) -> None:  # noqa: F811
    """Chromium lays out the judged report: the tables are in the DOM, the explanation is
    escaped, and the page paints."""
    write_job(tmp_path / "state", "judged-v1", judged_job())
    page = tmp_path / "report.html"
    page.write_text(render_html(load_report(tmp_path / "state", "judged-v1")), encoding="utf-8")
    dom = _headless(chromium, tmp_path / "profile-dom", "--dump-dom", page.resolve().as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "baseline (3-shot)" in dom.stdout and "Lowest-scored examples" in dom.stdout
    assert "terse &lt;b&gt;and&lt;/b&gt; unclear" in dom.stdout
    shot = tmp_path / "shot.png"
    done = _headless(chromium, tmp_path / "profile-shot", f"--screenshot={shot}",
                     "--window-size=1200,1600", page.resolve().as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    with Image.open(shot) as image:
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 24) or []) > 50
