"""The outbox against an in-process sink with Pub/Sub's pause rule: order, retries, replay.

The same behaviours are tested against the real emulator in test_outage.py and test_crash.py;
these cases run in milliseconds and cover failure patterns the emulator cannot script.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from tests.support.status_events import RecordingSink, delivery_order, numbered_events
from tuning_operator.events.model import StatusEvent
from tuning_operator.events.outbox import Backoff, Outbox

FAST = Backoff(initial=0.005, maximum=0.02)
JOBS = ("alpha", "beta", "gamma")


@pytest.fixture
def outboxes(tmp_path: Path) -> Iterator[list[Outbox]]:
    """Outboxes a test opens; closed at the end even if the test fails."""
    opened: list[Outbox] = []
    yield opened
    for outbox in opened:
        outbox.close(timeout=0.1)


def open_outbox(
    opened: list[Outbox], directory: Path, sink: RecordingSink, *, sync_on_append: bool = True
) -> Outbox:
    outbox = Outbox(
        directory, sink, backoff=FAST, rng=random.Random(7), sync_on_append=sync_on_append
    )
    opened.append(outbox)
    return outbox


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync-sink", "async-sink"])
@pytest.mark.parametrize("failure_rate", [0.0, 0.3, 0.5])
def test_every_event_arrives_in_order_per_job_despite_failures(
    tmp_path: Path, outboxes: list[Outbox], failure_rate: float, asynchronous: bool
) -> None:
    """Random delivery failures delay events; each job's events still arrive all, in order."""
    dice = random.Random(11)
    lock = threading.Lock()

    def fail(event: StatusEvent) -> BaseException | None:
        with lock:
            return ConnectionError("flaky") if dice.random() < failure_rate else None

    sink = RecordingSink(fail=fail, asynchronous=asynchronous)
    outbox = open_outbox(outboxes, tmp_path, sink)
    streams = {job: numbered_events(job, 60) for job in JOBS}
    for step in range(60):
        outbox.append_all([streams[job][step] for job in JOBS])
    assert outbox.drain(timeout=30)
    sink.close()
    for job in JOBS:
        assert delivery_order(sink.delivered_of(job))[job] == list(range(60))
    if failure_rate:
        assert sink.resumed, "a paused key must be resumed before it is published again"


def test_a_failing_job_does_not_hold_back_the_others(
    tmp_path: Path, outboxes: list[Outbox]
) -> None:
    """One job's failures put only that job into backoff; the outbox reports why it waits."""
    sink = RecordingSink(fail=lambda e: PermissionError("denied") if e.job == "alpha" else None)
    outbox = open_outbox(outboxes, tmp_path, sink)
    outbox.append_all(numbered_events("alpha", 3) + numbered_events("beta", 3))
    deadline = time.monotonic() + 5
    while len(sink.delivered_of("beta")) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert delivery_order(sink.delivered)["beta"] == [0, 1, 2]
    assert sink.delivered_of("alpha") == []
    status = outbox.status()
    assert status.pending == 3
    assert "PermissionError: denied" in status.waiting_jobs.get("alpha", "")
    assert not outbox.drain(timeout=0.05)


@pytest.mark.parametrize("sync_on_append", [True, False], ids=["fsync-each", "group-commit"])
def test_undelivered_events_are_replayed_by_the_next_outbox(
    tmp_path: Path, outboxes: list[Outbox], sync_on_append: bool
) -> None:
    """Events stored while the sink was down are published, in order, after a restart."""
    down = RecordingSink(fail=lambda e: ConnectionError("down"))
    outbox = open_outbox(outboxes, tmp_path, down, sync_on_append=sync_on_append)
    outbox.append_all(numbered_events("alpha", 5))
    outbox.close(timeout=0.05)
    assert down.delivered == []
    up = RecordingSink()
    assert open_outbox(outboxes, tmp_path, up).drain(timeout=5)
    assert delivery_order(up.delivered)["alpha"] == [0, 1, 2, 3, 4]


def test_delivered_events_are_not_replayed(tmp_path: Path, outboxes: list[Outbox]) -> None:
    """A clean shutdown leaves nothing to publish again."""
    first = RecordingSink()
    outbox = open_outbox(outboxes, tmp_path, first)
    outbox.append_all(numbered_events("alpha", 5))
    assert outbox.drain(timeout=5)
    outbox.close()
    again = RecordingSink()
    open_outbox(outboxes, tmp_path, again).drain(timeout=1)
    time.sleep(0.05)
    assert again.attempts == 0


class StuckSink(RecordingSink):
    """A sink whose publish hangs until released, like a client stuck on a frozen server."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def publish(self, event: StatusEvent) -> Future[str]:
        self.release.wait(timeout=10)
        return super().publish(event)


def test_append_never_waits_for_the_sink(tmp_path: Path, outboxes: list[Outbox]) -> None:
    """The reconcile loop keeps its pace while the sink hangs: append costs a local fsync."""
    sink = StuckSink()
    outbox = open_outbox(outboxes, tmp_path, sink)
    started = time.monotonic()
    for event in numbered_events("alpha", 50):
        outbox.append(event)
    assert time.monotonic() - started < 2.0
    assert outbox.status().pending == 50
    sink.release.set()
    assert outbox.drain(timeout=5)
    assert delivery_order(sink.delivered)["alpha"] == list(range(50))


class RaisingSink(RecordingSink):
    """A sink that raises from publish itself the first `times` calls."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.times = times

    def publish(self, event: StatusEvent) -> Future[str]:
        if self.times > 0:
            self.times -= 1
            raise RuntimeError("client not ready")
        return super().publish(event)


def test_a_sink_that_raises_is_a_failed_delivery(tmp_path: Path, outboxes: list[Outbox]) -> None:
    """An exception from publish is retried like a failed future, never lost."""
    sink = RaisingSink(times=3)
    outbox = open_outbox(outboxes, tmp_path, sink)
    outbox.append_all(numbered_events("alpha", 4))
    assert outbox.drain(timeout=5)
    assert delivery_order(sink.delivered)["alpha"] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(0, 0.25, 0.5), (1, 0.5, 1.0), (3, 2.0, 4.0), (10, 15.0, 30.0), (10_000, 15.0, 30.0)],
)
def test_backoff_is_exponential_capped_and_jittered(attempt: int, low: float, high: float) -> None:
    """Delays double from 0.5 s up to 30 s, each drawn from the upper half of its ceiling."""
    rng = random.Random(3)
    delays = [Backoff().delay(attempt, rng) for _ in range(200)]
    assert low <= min(delays) and max(delays) <= high
    assert max(delays) - min(delays) > (high - low) / 4
