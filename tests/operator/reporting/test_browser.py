"""The HTML report as a person sees it: opened in real headless Chromium, screenshot checked.

Chromium comes from Debian (`chromium`, in system-packages.txt). Where it is missing the test
skips with the reason, except under `CI=true`, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.support.report_state import diverged_job, diverged_run, write_job
from tuning_operator.reporting import load_report, render_html
from tuning_operator.reporting.charts import NOT_FINITE_COLOUR, TRAIN_COLOUR, VALIDATION_COLOUR

WINDOW = (1200, 1600)


@pytest.fixture(scope="module")
def chromium() -> str:
    """The chromium binary, or a skip (a failure under CI=true) naming the missing package."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        reason = "chromium is not installed (Debian package `chromium`; `make system-deps`)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs headless Chromium: {reason}")
        pytest.skip(reason)
    return binary


def _headless(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
               *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def _pixels_near(image: Image.Image, colour: str, tolerance: int = 40) -> int:
    target = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(count for count, pixel in image.getcolors(maxcolors=1 << 24) or []
               if all(abs(a - b) <= tolerance for a, b in zip(pixel, target, strict=False)))


def test_report_renders_with_its_charts(state: Path, tmp_path: Path, chromium: str) -> None:
    """Chromium lays out both SVG charts and paints the train and validation curves."""
    page = tmp_path / "report.html"
    page.write_text(render_html(load_report(state, "ticket-classifier-v3")), encoding="utf-8")
    url = page.resolve().as_uri()

    dom = _headless(chromium, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<svg") == 2 and dom.stdout.count("<path") > 10
    assert "ticket-classifier-v3" in dom.stdout and "exactMatch" in dom.stdout

    screenshot = tmp_path / "report.png"
    shot = _headless(chromium, tmp_path / "profile-shot", f"--screenshot={screenshot}",
                     f"--window-size={WINDOW[0]},{WINDOW[1]}", url)
    assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]
    with Image.open(screenshot) as opened:
        image = opened.convert("RGB")
    assert image.size == WINDOW
    colours = image.getcolors(maxcolors=1 << 24) or []
    assert len(colours) > 50, "the page is blank or nearly so"
    assert _pixels_near(image, TRAIN_COLOUR) > 2000, "no train curve painted"
    assert _pixels_near(image, VALIDATION_COLOUR) > 1000, "no validation curve painted"


def test_a_diverged_report_paints_where_the_curve_stopped(tmp_path: Path, chromium: str) -> None:
    """Chromium paints the red not-finite marker next to curves that end at the NaN step."""
    write_job(tmp_path / "state", "nan-bot", diverged_job(), diverged_run(steps=300, nan_from=100))
    page = tmp_path / "report.html"
    page.write_text(render_html(load_report(tmp_path / "state", "nan-bot")), encoding="utf-8")
    screenshot = tmp_path / "report.png"
    shot = _headless(chromium, tmp_path / "profile-shot", f"--screenshot={screenshot}",
                     f"--window-size={WINDOW[0]},{WINDOW[1]}", page.resolve().as_uri())
    assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]
    with Image.open(screenshot) as opened:
        image = opened.convert("RGB")
    assert _pixels_near(image, TRAIN_COLOUR) > 500, "no train curve painted"
    assert _pixels_near(image, NOT_FINITE_COLOUR, tolerance=30) > 200, "no not-finite marker"
