"""render_markdown: a PR comment with Mermaid charts that stays under its size bound."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.report_state import (
    HOSTILE,
    diverged_job,
    diverged_run,
    hostile_record,
    training_run,
    write_job,
)
from tuning_operator.planning.render import MARKDOWN_LIMIT
from tuning_operator.reporting import load_report, render_markdown
from tuning_operator.reporting.curves import MAX_POINTS


def _lines_of_charts(text: str) -> list[list[str]]:
    return [line.removeprefix("    line [").removesuffix("]").split(", ")
            for line in text.splitlines() if line.startswith("    line [")]


def test_ten_thousand_steps_fit_a_comment(state: Path) -> None:
    """A 10,000-step run gives two Mermaid charts of at most 100 points, far under the bound."""
    text = render_markdown(load_report(state, "ticket-classifier-v3"))
    assert len(text) < MARKDOWN_LIMIT
    assert text.count("```mermaid") == 2 and text.count("xychart-beta") == 2
    lines = _lines_of_charts(text)
    assert len(lines) == 4 and all(len(values) == MAX_POINTS for values in lines)
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", v) for values in lines for v in values)
    assert "best checkpoint 3 at step 6,000" in text
    assert "| exactMatch | 0.900 | 0.300 | +0.600 |" in text
    assert "| tokens | 1,790,000 | 1,834,000 billable |" in text


def test_worst_case_record_stays_under_the_bound(tmp_path: Path) -> None:
    """Thousands of long metric names and failures, huge reasons: still under the bound."""
    long = "x" * 50_000
    record = hostile_record()
    record["reason"] = record["last_error"] = long
    record["diagnosis"] = {**record["diagnosis"], "reason": long, "mitigation": long}
    record["evaluation"] = {
        "verdict": "failed", "reason": long,
        "metrics": {f"metric-{i}-{'y' * 500}": {"tuned": 0.1} for i in range(5000)},
        "failures": [{"example": "e" * 2000, "error": "f" * 2000}] * 2000,
    }
    record["dataset"] = long + "\n" + long
    write_job(tmp_path, "big", record, training_run(steps=20_000, eval_points=2000))
    text = render_markdown(load_report(tmp_path, "big"))
    assert len(text) < MARKDOWN_LIMIT
    assert "more metrics" in text and "1990 more failed examples" in text


def test_sections_that_do_not_fit_are_left_out_whole(state: Path) -> None:
    """Under a small limit, whole sections are dropped and the comment says which."""
    text = render_markdown(load_report(state, "ticket-classifier-v3"), limit=4000)
    assert len(text) < 4000
    assert "Left out to fit a comment: training" in text
    assert text.count("```") % 2 == 0


def test_hostile_strings_are_inert(tmp_path: Path) -> None:
    """Author strings cannot open a comment, break a table, link, mention, or leave a block."""
    write_job(tmp_path, "evil", hostile_record(), training_run(steps=100))
    text = render_markdown(load_report(tmp_path, "evil"))
    fence = re.search(r"^(`{3,})text$", text, flags=re.MULTILINE)
    assert fence is not None and len(fence.group(1)) == 7  # longer than the `````` inside
    assert text.count(fence.group(1)) == 2
    block = text[text.index(fence.group(0)):text.rindex(fence.group(1)) + 7]
    assert "</pre><script>alert(2)</script>" in block  # verbatim inside the code block
    text = text.replace(block, "")
    assert "<!--" not in text and "<script" not in text and "<img" not in text
    assert "<iframe" not in text and "@everyone" not in text and "[link]" not in text
    for line in text.splitlines():
        if line.startswith("|"):
            unescaped = len(re.findall(r"(?<!\\)\|", line))
            assert unescaped in (3, 4, 5), line  # 2-, 3- or 4-column tables only
    assert "exact\\|Match&lt;!--" in text
    assert HOSTILE not in text


def test_job_with_nothing_yet(tmp_path: Path) -> None:
    """A job just submitted: no chart, and each section says what is not there yet."""
    write_job(tmp_path, "fresh", {"phase": "Submitted"})
    text = render_markdown(load_report(tmp_path, "fresh"))
    assert "```mermaid" not in text
    for note in ("no metrics read yet", "not diagnosed yet", "no evaluation recorded yet",
                 "no dataset statistics recorded yet"):
        assert note in text


def test_a_diverged_curve_says_where_it_stopped(tmp_path: Path) -> None:
    """The comment's charts end at the last finite step and a note says from which step not."""
    write_job(tmp_path, "nan-bot", diverged_job(), diverged_run(steps=300, nan_from=100))
    text = render_markdown(load_report(tmp_path, "nan-bot"))
    assert text.count("```mermaid") == 2
    assert "training loss not finite (NaN or ±inf) from step 100" in text
    assert "diverged" in text and "NaN" not in "".join(_lines_of_charts(text)[0])
