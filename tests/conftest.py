"""Fixtures shared by every suite: the official Pub/Sub emulator.

Where the emulator is not installed the tests that need it skip with the reason, except under
`CI=true`, where that is a failure: CI must never pass by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tuning_operator.events.testing import EmulatorUnavailable, PubSubEmulator


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


