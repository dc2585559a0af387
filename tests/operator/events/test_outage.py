"""Pub/Sub outages against the real emulator: frozen (SIGSTOP) and killed then restarted.

Both delay events and lose none: the operator keeps appending meanwhile, and afterwards every
event arrives in order per job. The emulator keeps all state in memory, so after a restart the
test creates the topic and subscription again — that is the emulator's nature, not the
operator's: in the cloud the topic outlives any outage. Messages the dying emulator had
accepted die with it, so the restart case first lets the subscriber take what was delivered.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.pubsub_emulator import PubSubEmulator, ReceivedEvent
from tests.support.status_events import delivery_order, numbered_events
from tuning_operator.events.outbox import Backoff, Outbox

pytestmark = pytest.mark.emulator

JOBS = ("alpha", "beta", "gamma")
STEPS = 40
SLOW = os.environ.get("CI") == "true" or os.environ.get("TUNING_OPERATOR_SLOW_TESTS") == "1"


def in_order_and_complete(received: list[ReceivedEvent], steps: range) -> None:
    order = delivery_order(r.event for r in received)
    for job in JOBS:
        assert order.get(job) == list(steps), f"{job}: events lost or out of order"


def append_steps(outbox: Outbox, steps: range) -> float:
    """Append the events of `steps` for every job; returns the longest single append (s)."""
    streams = {job: numbered_events(job, STEPS) for job in JOBS}
    slowest = 0.0
    for step in steps:
        started = time.monotonic()
        outbox.append_all([streams[job][step] for job in JOBS])
        slowest = max(slowest, time.monotonic() - started)
    return slowest


@pytest.mark.parametrize(
    "freeze_seconds",
    [
        12,
        pytest.param(
            60,
            marks=[
                pytest.mark.slow,
                pytest.mark.skipif(
                    not SLOW, reason="a minute long: runs under CI or TUNING_OPERATOR_SLOW_TESTS=1"
                ),
            ],
        ),
    ],
)
def test_a_frozen_emulator_delays_events_and_loses_none(
    tmp_path: Path,
    own_emulator: PubSubEmulator,
    new_channel: Any,
    sink_for: Any,
    freeze_seconds: int,
) -> None:
    """SIGSTOP mid-run, appends go on, SIGCONT: every event arrives, in order per job."""
    channel = new_channel(own_emulator)
    outbox = Outbox(tmp_path / "outbox", sink_for(channel.topic), backoff=Backoff(0.2, 1.0))
    try:
        append_steps(outbox, range(0, 10))
        with own_emulator.frozen():
            frozen_at = time.monotonic()
            slowest = append_steps(outbox, range(10, STEPS))
            time.sleep(1.0)
            assert outbox.status().pending > 0, "the freeze held nothing back: nothing tested"
            time.sleep(max(0.0, freeze_seconds - (time.monotonic() - frozen_at)))
        # An append that waited on the outage would take the backoff or the freeze (seconds); the
        # bound leaves room for a loaded machine.
        assert slowest < 2.0, f"append blocked for {slowest:.2f} s during the outage"
        assert outbox.drain(timeout=60)
    finally:
        outbox.close(timeout=1)
    received = own_emulator.receive(channel.subscription, count=STEPS * len(JOBS), timeout=30)
    received += own_emulator.receive(channel.subscription, count=10**6, timeout=1.0)
    in_order_and_complete(received, range(STEPS))


def test_a_killed_and_restarted_emulator_delays_events_and_loses_none(
    tmp_path: Path, own_emulator: PubSubEmulator, new_channel: Any, sink_for: Any
) -> None:
    """SIGKILL, appends go on, restart on the same port: every later event arrives in order."""
    channel = new_channel(own_emulator)
    # Backoff of 1.5-3 s: the window in which the test recreates topic and subscription.
    outbox = Outbox(tmp_path / "outbox", sink_for(channel.topic), backoff=Backoff(3.0, 3.0))
    try:
        append_steps(outbox, range(0, 10))
        assert outbox.drain(timeout=20)
        before = own_emulator.receive(channel.subscription, count=10 * len(JOBS), timeout=20)
        in_order_and_complete(before, range(0, 10))

        own_emulator.kill()
        slowest = append_steps(outbox, range(10, STEPS))
        # An append that waited on the outage would take the backoff or the freeze (seconds); the
        # bound leaves room for a loaded machine.
        assert slowest < 2.0, f"append blocked for {slowest:.2f} s during the outage"
        time.sleep(1.0)
        assert outbox.status().pending == (STEPS - 10) * len(JOBS)

        own_emulator.restart()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = outbox.status()
            if status.in_flight == 0 and set(status.waiting_jobs) == set(JOBS):
                break
            time.sleep(0.01)
        assert set(outbox.status().waiting_jobs) == set(JOBS), "no job saw the missing topic"
        assert all("NotFound" in error for error in outbox.status().waiting_jobs.values())
        name = channel.topic.rsplit("/", 1)[1]
        own_emulator.create_topic(name)
        own_emulator.create_subscription(channel.subscription.rsplit("/", 1)[1], channel.topic)
        assert outbox.drain(timeout=60)
    finally:
        outbox.close(timeout=1)
    after = own_emulator.receive(channel.subscription, count=(STEPS - 10) * len(JOBS), timeout=30)
    after += own_emulator.receive(channel.subscription, count=10**6, timeout=1.0)
    in_order_and_complete(after, range(10, STEPS))
