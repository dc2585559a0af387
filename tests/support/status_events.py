"""In-process stand-ins for tests: a sink that behaves like Pub/Sub's ordering, and sample
event streams.

`RecordingSink` keeps Pub/Sub's rule that matters to the outbox: after a failed delivery its
ordering key is paused, and every later event of that key fails until `resume`. It is for fast
unit tests only; the same paths are also tested against the real emulator.
This module must never be imported by the operator's own code paths.
"""

from __future__ import annotations

import queue
import threading
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta

from tuning_operator.events.model import StatusEvent, source_for
from tuning_operator.planning.model import Phase

FailurePolicy = Callable[[StatusEvent], BaseException | None]


class KeyPaused(RuntimeError):
    """Delivery refused: an earlier event of this ordering key failed and no resume came."""


class RecordingSink:
    """Records delivered events; `fail` decides per delivery whether it fails.

    With `asynchronous`, futures complete on a worker thread in publish order, so several
    events are in flight at once, as with the real client.
    """

    def __init__(self, *, fail: FailurePolicy | None = None, asynchronous: bool = False) -> None:
        self.delivered: list[StatusEvent] = []
        self.attempts = 0
        self.resumed: list[str] = []
        self._fail = fail or (lambda event: None)
        self._paused: set[str] = set()
        self._lock = threading.Lock()
        self._work: queue.Queue[tuple[StatusEvent, Future[str]] | None] | None = None
        self._worker: threading.Thread | None = None
        if asynchronous:
            self._work = queue.Queue()
            self._worker = threading.Thread(target=self._complete_all, daemon=True)
            self._worker.start()

    def publish(self, event: StatusEvent) -> Future[str]:
        future: Future[str] = Future()
        if self._work is None:
            self._complete(event, future)
        else:
            self._work.put((event, future))
        return future

    def resume(self, ordering_key: str) -> None:
        with self._lock:
            self._paused.discard(ordering_key)
            self.resumed.append(ordering_key)

    def flush(self, timeout: float | None = None) -> None:
        del timeout

    def close(self) -> None:
        if self._work is not None and self._worker is not None:
            self._work.put(None)
            self._worker.join(timeout=5)

    def delivered_of(self, job: str) -> list[StatusEvent]:
        with self._lock:
            return [event for event in self.delivered if event.job == job]

    def _complete_all(self) -> None:
        assert self._work is not None
        while (item := self._work.get()) is not None:
            self._complete(*item)

    def _complete(self, event: StatusEvent, future: Future[str]) -> None:
        with self._lock:
            self.attempts += 1
            error: BaseException | None
            if event.ordering_key in self._paused:
                error = KeyPaused(event.ordering_key)
            else:
                error = self._fail(event)
            if error is None:
                self.delivered.append(event)
            else:
                self._paused.add(event.ordering_key)
        if error is None:
            future.set_result(event.event_id)
        else:
            future.set_exception(error)


def lifecycle_events(
    job: str,
    *,
    team: str = "platform",
    instance: str = "test",
    project: str = "test-project",
    start: datetime | None = None,
) -> list[StatusEvent]:
    """A job's full lifecycle: Waiting → Submitted → Running → Succeeded, one event each."""
    begin = start or datetime(2026, 1, 1, tzinfo=UTC)
    vertex_job = f"projects/{project}/locations/us-central1/tuningJobs/{zlib.crc32(job.encode())}"
    steps = [
        (None, Phase.WAITING, None, "queued for a quota slot"),
        (Phase.WAITING, Phase.SUBMITTED, "JOB_STATE_PENDING", "created"),
        (Phase.SUBMITTED, Phase.RUNNING, "JOB_STATE_RUNNING", "Vertex started training"),
        (Phase.RUNNING, Phase.SUCCEEDED, "JOB_STATE_SUCCEEDED", "Vertex finished"),
    ]
    return [
        StatusEvent(
            job=job,
            team=team,
            previous_phase=previous,
            phase=phase,
            vertex_state=state,
            vertex_job=vertex_job if state else None,
            tuned_model=f"{vertex_job}/models/1" if phase is Phase.SUCCEEDED else None,
            endpoint=f"{vertex_job}/endpoints/1" if phase is Phase.SUCCEEDED else None,
            spec_hash="ab" * 32,
            git_commit="0" * 40,
            git_author="Ada Lovelace <ada@example.com>",
            operator_instance=instance,
            reason=reason,
            source=source_for(instance),
            time=begin + timedelta(seconds=index),
        )
        for index, (previous, phase, state, reason) in enumerate(steps)
    ]


def numbered_events(job: str, count: int, *, instance: str = "test") -> list[StatusEvent]:
    """`count` events of one job with distinct ids; `step_of` recovers each one's position."""
    cycle = [Phase.SUBMITTED, Phase.RUNNING]
    begin = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        StatusEvent(
            job=job,
            team="load",
            previous_phase=cycle[(step + 1) % 2],
            phase=cycle[step % 2],
            vertex_job=f"projects/p/locations/us-central1/tuningJobs/{step}",
            operator_instance=instance,
            reason=f"step {step}",
            source=source_for(instance),
            time=begin + timedelta(milliseconds=step),
        )
        for step in range(count)
    ]


def step_of(event: StatusEvent) -> int:
    return int(event.reason.removeprefix("step "))


def delivery_order(events: Iterable[StatusEvent]) -> dict[str, list[int]]:
    """Per job, the steps of `numbered_events` in the order they first arrived.

    Delivery is at-least-once, so a repeated `ce-id` is a duplicate, not news: a stream is
    complete and in order when each job's list is `list(range(n))`.
    """
    seen: set[str] = set()
    order: dict[str, list[int]] = {}
    for event in events:
        if event.event_id not in seen:
            seen.add(event.event_id)
            order.setdefault(event.job, []).append(step_of(event))
    return order
