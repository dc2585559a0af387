"""Fixtures for the report tests: state directories written as the operator writes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.report_state import finished_job, training_run, write_job


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A state directory with one finished 10,000-step job, `ticket-classifier-v3`."""
    directory = tmp_path / "state"
    write_job(directory, "ticket-classifier-v3", finished_job(), training_run(steps=10000))
    return directory
