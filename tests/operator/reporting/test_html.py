"""render_html: one self-contained page, charts as inline SVG, every author string escaped."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from tests.support.report_state import (
    HOSTILE,
    diverged_job,
    diverged_run,
    hostile_record,
    training_run,
    write_job,
)
from tuning_operator.reporting import load_report, render_html
from tuning_operator.reporting.charts import NOT_FINITE_COLOUR


class _Page(HTMLParser):
    """The tags and text a browser's parser would see."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def test_finished_job_page(state: Path) -> None:
    """Two inline SVG charts, the gate's metrics, the data statistics; nothing fetched."""
    page = render_html(load_report(state, "ticket-classifier-v3"))
    parsed = _parse(page)
    assert parsed.tags.count("svg") == 2 and parsed.tags.count("path") > 10
    assert not {"script", "img", "link", "iframe"} & set(parsed.tags)
    assert "http://" not in page.replace("http://www.w3.org/", "")
    assert "https://" not in page
    text = " ".join(parsed.text)
    for expected in ("overfitting", "serve checkpoint 3", "exactMatch", "+0.600", "1,834,000",
                     "1,790,000", "Vertex bills 1.02× the pre-flight estimate.", "passed"):
        assert expected in text
    assert len(page) < 200_000


def test_hostile_strings_stay_text(tmp_path: Path) -> None:
    """Markup in job data arrives as text: no script, image or frame tag, no comment."""
    write_job(tmp_path, "<u>evil&amp;", hostile_record(), training_run(steps=200))
    page = render_html(load_report(tmp_path, "<u>evil&amp;"))
    parsed = _parse(page)
    assert not {"script", "img", "iframe", "u"} & set(parsed.tags)
    assert "<!-- hidden" not in page
    text = "".join(parsed.text)
    assert HOSTILE in text and "<u>evil&amp;" in text
    assert "</pre><script>alert(2)</script>" in text


def test_job_with_nothing_yet_draws_no_chart(tmp_path: Path) -> None:
    """A job with no metrics, diagnosis or evaluation yet: notes instead of charts."""
    write_job(tmp_path, "fresh", {"phase": "Submitted"})
    page = render_html(load_report(tmp_path, "fresh"))
    assert "<svg" not in page
    for note in ("no metrics read yet", "not diagnosed yet", "no evaluation recorded yet"):
        assert note in page


def test_matplotlib_is_imported_only_to_draw() -> None:
    """The CLI, the reporting package and a chart-less report never import matplotlib."""
    code = (
        "import sys, tempfile, pathlib\n"
        "from tuning_operator.cli import build_parser\n"
        "from tuning_operator.reporting import load_report, render_html, render_markdown\n"
        "from tests.support.report_state import write_job\n"
        "build_parser()\n"
        "d = pathlib.Path(tempfile.mkdtemp())\n"
        "write_job(d, 'a', {'phase': 'Running'})\n"
        "render_html(load_report(d, 'a')); render_markdown(load_report(d, 'a'))\n"
        "print('matplotlib' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).resolve().parents[3])
    assert result.stdout.strip() == "False"


def test_a_diverged_curve_is_marked_where_it_stopped_being_finite(tmp_path: Path) -> None:
    """Both charts carry the not-finite marker and the page says from which step, per series;
    the diagnosis is coloured as bad and no checkpoint is called best."""
    write_job(tmp_path, "nan-bot", diverged_job(), diverged_run(steps=300, nan_from=100))
    page = render_html(load_report(tmp_path, "nan-bot"))
    parsed = _parse(page)
    assert parsed.tags.count("svg") == 2
    assert page.count(NOT_FINITE_COLOUR) >= 2  # one dotted marker per chart
    text = " ".join(parsed.text)
    for series, step in (("training loss", 100), ("validation loss", 102),  # evaluated every 6th
                         ("training accuracy", 100)):
        assert f"{series} not finite (NaN or ±inf) from step {step}" in text
    assert 'class="badge bad">diagnosis: diverged' in page
    assert "none chosen" in text and ">best<" not in page
