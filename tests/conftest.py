"""Fixtures shared by every suite: the official Pub/Sub emulator and fake-gcs-server.

Where an emulator is not installed the tests that need it skip with the reason, except under
`CI=true`, where that is a failure: CI must never pass by skipping.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.pubsub_emulator import EmulatorUnavailable, PubSubEmulator
from tuning_operator.datasets.local_gcs import LocalGcsServer, LocalGcsUnavailable


def _started(emulator: PubSubEmulator) -> PubSubEmulator:
    try:
        return emulator.__enter__()
    except EmulatorUnavailable as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the Pub/Sub emulator: {error}")
        pytest.skip(f"Pub/Sub emulator unavailable: {error}")


@pytest.fixture(scope="session")
def pubsub_emulator() -> Iterator[PubSubEmulator]:
    """The emulator shared by the session; tests must not freeze, kill or restart it."""
    emulator = _started(PubSubEmulator())
    yield emulator
    emulator.__exit__(None, None, None)


@pytest.fixture
def own_emulator() -> Iterator[PubSubEmulator]:
    """An emulator of the test's own, for tests that freeze, kill or restart it."""
    emulator = _started(PubSubEmulator())
    yield emulator
    emulator.__exit__(None, None, None)


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[LocalGcsServer]:
    """fake-gcs-server (memory backend), shared by the session."""
    server = LocalGcsServer()
    try:
        server.__enter__()
    except LocalGcsUnavailable as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs fake-gcs-server: {error}")
        pytest.skip(f"fake-gcs-server unavailable: {error}")
    yield server
    server.__exit__(None, None, None)


@pytest.fixture
def gcs_bucket(fake_gcs: LocalGcsServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh bucket, with STORAGE_EMULATOR_HOST set so a default `Client()` finds the server."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs.url)
    client = fake_gcs.client()
    name = f"datasets-{os.getpid()}-{random.randrange(1 << 30):x}"
    return client.create_bucket(name)


def _start_order(item: pytest.Item) -> int:
    """Longest first: the image build, then minute-long outages, then the other e2e sequences.

    Under xdist (`make test`), work is handed out in collection order; the tests that mostly
    wait (an image build, a frozen emulator, a job's run) start first and overlap the CPU-bound
    unit tests instead of trailing after them.
    """
    if item.get_closest_marker("container"):
        return 0
    if item.get_closest_marker("slow"):
        return 1
    if item.path.parent.name == "e2e":
        return 2
    return 3


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_start_order)  # stable: the files' own order within each rank


ONE_WORKER = ("tests/e2e/test_container.py",)  # one image build per session, not one a worker


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Each test its own unit of work, except the files that must share one worker.

    xdist's own `loadgroup` marks do not hold under pytest 9 (it renames the node id through
    an attribute pytest no longer reads), so the grouping is done here, by file.
    """
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerFiles(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return next((f for f in ONE_WORKER if nodeid.startswith(f"{f}::")), nodeid)

    return OneWorkerFiles(config, log)
