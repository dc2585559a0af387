"""Fixtures for the dataset pre-flight tests: example builders.

fake-gcs-server (`fake_gcs`, `gcs_bucket`) lives in tests/conftest.py, shared with other suites.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.dataset_examples import write_jsonl
from tuning_operator.specs.catalog import BaseModel, default_catalog


@pytest.fixture
def flash() -> BaseModel:
    """gemini-2.5-flash from the shipped catalog."""
    model = default_catalog().get("gemini-2.5-flash")
    assert model is not None
    return model


@pytest.fixture
def jsonl(tmp_path: Path) -> Callable[..., Path]:
    """Writes lines to a fresh file under the test's temp dir: jsonl(lines, name=...)."""

    def write(lines: list[Any], name: str = "train.jsonl") -> Path:
        return write_jsonl(tmp_path / name, lines)

    return write
