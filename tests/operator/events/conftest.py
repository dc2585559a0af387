"""Fixtures for the events tests: topics, subscriptions and sinks on the Pub/Sub emulator.

The emulator fixtures themselves (`pubsub_emulator`, `own_emulator`) live in tests/conftest.py,
shared with the end-to-end tests.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.support.pubsub_emulator import PubSubEmulator
from tuning_operator.events.pubsub import PubSubSink

_names = itertools.count()


@dataclass(frozen=True)
class Channel:
    """A topic and an ordered subscription to it, fresh for one test."""

    topic: str
    subscription: str


def open_channel(emulator: PubSubEmulator) -> Channel:
    name = f"status-{os.getpid()}-{next(_names)}"
    topic = emulator.create_topic(name)
    return Channel(topic, emulator.create_subscription(f"{name}-tail", topic))


@pytest.fixture
def channel(pubsub_emulator: PubSubEmulator) -> Channel:
    """A fresh topic and ordered subscription on the shared emulator."""
    return open_channel(pubsub_emulator)


@pytest.fixture
def new_channel() -> Callable[[PubSubEmulator], Channel]:
    """Opens a fresh topic and ordered subscription on a given emulator."""
    return open_channel


@pytest.fixture
def sink_for() -> Iterator[Callable[[str], PubSubSink]]:
    """Opens Pub/Sub sinks (transient retries capped at 0.5 s); all closed at the test's end."""
    opened: list[PubSubSink] = []

    def open_sink(topic: str) -> PubSubSink:
        opened.append(PubSubSink(topic, max_retry_delay=0.5))
        return opened[-1]

    yield open_sink
    for sink in opened:
        sink.close()
