"""Fixtures for the dataset pre-flight tests: example builders and fake-gcs-server.

fake-gcs-server runs once per session on a free loopback port. Where its binary is missing the
tests that need it skip with the reason, except under `CI=true`, where that is a failure.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tuning_operator.datasets.testing import FakeGcsServer, GcsEmulatorUnavailable, write_jsonl
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


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[FakeGcsServer]:
    """fake-gcs-server (memory backend), shared by the session."""
    server = FakeGcsServer()
    try:
        server.__enter__()
    except GcsEmulatorUnavailable as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs fake-gcs-server: {error}")
        pytest.skip(f"fake-gcs-server unavailable: {error}")
    yield server
    server.__exit__(None, None, None)


@pytest.fixture
def gcs_bucket(fake_gcs: FakeGcsServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh bucket, with STORAGE_EMULATOR_HOST set so a default `Client()` finds the server."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs.url)
    client = fake_gcs.client()
    name = f"datasets-{os.getpid()}-{random.randrange(1 << 30):x}"
    return client.create_bucket(name)
