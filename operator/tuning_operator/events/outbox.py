"""The outbox: status events are stored before they are published, and leave once delivered.

The reconcile loop calls `append` and moves on: the call costs one local fsync and never waits
for Pub/Sub. A background thread publishes what the journal holds, per job in order, with many
events in flight; when a delivery fails, that job's events wait for a bounded, jittered backoff
and are published again from the first undelivered one (after `resume`, which Pub/Sub's
ordering needs), while other jobs keep flowing. Opening an outbox replays what an earlier
process left behind. So an outage delays events and a crash may repeat some (consumers dedupe
by `ce-id`), but none is lost or reordered within a job.
This module must never drop an event it was given, and never block `append` on the network.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from tuning_operator.events.journal import Journal, JournalRecord
from tuning_operator.events.model import StatusEvent
from tuning_operator.events.sinks import EventSink


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts of one job's events: exponential, capped, with jitter."""

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.maximum, self.initial * self.multiplier ** min(attempt, 64))
        return ceiling * rng.uniform(0.5, 1.0)


@dataclass(frozen=True)
class OutboxStatus:
    """A snapshot for metrics, readiness and tests."""

    pending: int  # stored and not yet delivered
    in_flight: int  # handed to the sink, no answer yet
    waiting_jobs: dict[str, str]  # job → last delivery error, for jobs in backoff


@dataclass
class _Entry:
    record: JournalRecord
    event: StatusEvent
    delivered: bool = False


@dataclass
class _JobQueue:
    """One job's undelivered events; `sent` of them (from the head) are with the sink."""

    entries: deque[_Entry] = field(default_factory=deque)
    sent: int = 0
    in_flight: int = 0
    generation: int = 0
    retry_at: float | None = None  # set while the job waits after a failed delivery
    attempts: int = 0
    last_error: str = ""
    error_seq: int = 0  # the earliest event that failed in this round


class Outbox:
    """Durable, ordered per job, at-least-once delivery of status events to one sink."""

    def __init__(
        self,
        directory: Path,
        sink: EventSink,
        *,
        backoff: Backoff | None = None,
        max_in_flight: int = 1000,
        segment_records: int = 1024,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        sync_on_append: bool = True,
    ) -> None:
        """Open (and replay) the outbox in `directory`, publishing to `sink`.

        `sync_on_append=False` trades power-cut durability for throughput: `append` writes to
        the page cache only (a kill -9 still loses nothing) and the publisher fsyncs once for
        everything appended before it publishes any of it, so no event is ever published
        before it is on disk.
        """
        self._sync_on_append = sync_on_append
        self._sink = sink
        self._backoff = backoff or Backoff()
        self._max_in_flight = max_in_flight
        self._rng = rng or random.Random()
        self._clock = clock
        self._log = structlog.get_logger("tuning_operator.events.outbox")
        self._journal = Journal(directory, segment_records=segment_records)
        self._cond = threading.Condition()
        self._append_lock = threading.Lock()  # journal order == queue order
        self._jobs: dict[str, _JobQueue] = {}
        self._pending = 0
        self._in_flight = 0
        self._stopping = False
        # Delivery answers, queued by the sink's callbacks and settled by the publisher thread
        # in batches: one lock round and one acknowledgement write per batch, not per event.
        self._answers: deque[tuple[str, int, _Entry, BaseException | None]] = deque()
        self._answer_signal = False  # set by a callback that woke the publisher
        replayed = self._journal.unacknowledged()
        self._enqueue([(r, StatusEvent.from_structured(r.body)) for r in replayed])
        if replayed:
            self._log.info("outbox_replayed", events=len(replayed), directory=str(directory))
        self._thread = threading.Thread(target=self._run, name="outbox-publisher", daemon=True)
        self._thread.start()

    def append(self, event: StatusEvent) -> None:
        """Store one event durably and queue it; returns before any network call."""
        self.append_all([event])

    def append_all(self, events: Sequence[StatusEvent]) -> None:
        """Store several events with one fsync (one reconcile pass), in the given order."""
        if not events:
            return
        items = [(e.ordering_key, e.to_structured()) for e in events]
        with self._append_lock:
            records = self._journal.append(items, sync=self._sync_on_append)
            with self._cond:
                self._enqueue(list(zip(records, events, strict=True)))
                self._cond.notify_all()

    def status(self) -> OutboxStatus:
        with self._cond:
            waiting = {
                job: queue.last_error
                for job, queue in self._jobs.items()
                if queue.retry_at is not None
            }
            return OutboxStatus(self._pending, self._in_flight, waiting)

    def drain(self, timeout: float) -> bool:
        """Wait until every stored event is delivered (SIGTERM); False if time ran out."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout=timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Drain up to `timeout`, then stop publishing; the sink is the caller's to close.

        Events still undelivered stay in the journal and are published by the next process.
        """
        self.drain(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout=max(timeout, 1.0))
        self._journal.close()
        with self._cond:
            if self._pending:
                self._log.warning("outbox_left_events", events=self._pending)

    def _enqueue(self, items: list[tuple[JournalRecord, StatusEvent]]) -> None:
        for record, event in items:
            queue = self._jobs.setdefault(event.ordering_key, _JobQueue())
            queue.entries.append(_Entry(record, event))
        self._pending += len(items)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    self._settle_answers()
                    resumes, sends = self._take_work()
                    if resumes or sends:
                        break
                    if not self._answers:
                        self._cond.wait(self._idle_wait())
                else:
                    self._settle_answers()
                    return
            if sends and not self._sync_on_append:
                self._journal.sync()  # on disk before published, one fsync per round
            for job in resumes:
                self._resume(job)
            refused: set[str] = set()
            for job, generation, entry in sends:
                if job in refused:  # never publish past an event that just failed
                    self._settle(job, generation, entry, _NOT_SENT)
                elif not self._publish(job, generation, entry):
                    refused.add(job)

    def _take_work(self) -> tuple[list[str], list[tuple[str, int, _Entry]]]:
        """Under the lock: jobs whose backoff is over, and events the sink may take now."""
        now = self._clock()
        resumes: list[str] = []
        sends: list[tuple[str, int, _Entry]] = []
        for job, queue in list(self._jobs.items()):
            if queue.retry_at is not None:
                if queue.in_flight or now < queue.retry_at:
                    continue  # wait for every answer of the failed round, then the delay
                queue.retry_at = None
                queue.generation += 1
                queue.sent = 0
                resumes.append(job)
            while queue.sent < len(queue.entries) and self._in_flight < self._max_in_flight:
                entry = queue.entries[queue.sent]
                queue.sent += 1
                if entry.delivered:
                    continue
                queue.in_flight += 1
                self._in_flight += 1
                sends.append((job, queue.generation, entry))
        return resumes, sends

    def _idle_wait(self) -> float | None:
        deadlines = [q.retry_at for q in self._jobs.values() if q.retry_at is not None]
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - self._clock()) + 0.001

    def _resume(self, job: str) -> None:
        with self._cond:
            queue = self._jobs.get(job, _JobQueue())
            cause, attempt, waiting = queue.last_error, queue.attempts, len(queue.entries)
        self._log.warning(
            "event_delivery_retry", job=job, cause=cause, attempt=attempt, undelivered=waiting
        )
        try:
            self._sink.resume(job)
        except Exception as exc:  # the next failure sets the backoff again
            self._log.warning("outbox_resume_failed", job=job, error=str(exc))

    def _publish(self, job: str, generation: int, entry: _Entry) -> bool:
        """Hand one event to the sink; False if the sink refused it on the spot."""
        try:
            future = self._sink.publish(entry.event)
        except Exception as exc:  # a sink that raises is a failed delivery, not a lost event
            self._settle(job, generation, entry, exc)
            return False
        future.add_done_callback(
            lambda done: self._answered(job, generation, entry, _error(done)))
        return True

    def _answered(
        self, job: str, generation: int, entry: _Entry, error: BaseException | None
    ) -> None:
        """A delivery callback (any thread): queue the answer, wake the publisher if asleep.

        The publisher clears the signal under the lock before it empties the queue, so an
        answer queued after that clearing always finds the signal down and wakes it.
        """
        self._answers.append((job, generation, entry, error))
        if not self._answer_signal:
            self._answer_signal = True
            with self._cond:
                self._cond.notify_all()

    def _settle_answers(self) -> None:
        """Under the lock: settle every queued answer, with one acknowledgement write."""
        self._answer_signal = False
        if not self._answers:
            return
        delivered: list[int] = []
        while self._answers:
            self._settle_locked(*self._answers.popleft(), delivered)
        self._journal.acknowledge_all(delivered)
        self._cond.notify_all()

    def _settle(
        self, job: str, generation: int, entry: _Entry, error: BaseException | None
    ) -> None:
        with self._cond:
            delivered: list[int] = []
            self._settle_locked(job, generation, entry, error, delivered)
            self._journal.acknowledge_all(delivered)
            self._cond.notify_all()

    def _settle_locked(
        self, job: str, generation: int, entry: _Entry, error: BaseException | None,
        delivered: list[int],
    ) -> None:
        """One answer, under the lock; the sequence number of a delivery goes to `delivered`."""
        queue = self._jobs[job]
        queue.in_flight -= 1
        self._in_flight -= 1
        if error is None:
            self._delivered(job, queue, entry, delivered)
        elif generation == queue.generation and queue.retry_at is not None:
            if entry.record.seq < queue.error_seq:  # the earliest failure is the cause
                queue.error_seq = entry.record.seq
                queue.last_error = _describe(error)
        elif generation == queue.generation:
            delay = self._backoff.delay(queue.attempts, self._rng)
            queue.retry_at = self._clock() + delay
            queue.attempts += 1
            queue.error_seq = entry.record.seq
            queue.last_error = _describe(error)

    def _delivered(self, job: str, queue: _JobQueue, entry: _Entry,
                   delivered: list[int]) -> None:
        if entry.delivered:
            return  # a duplicate answer (republished after an ambiguous failure)
        entry.delivered = True
        delivered.append(entry.record.seq)
        self._pending -= 1
        queue.attempts = 0
        while queue.entries and queue.entries[0].delivered:
            queue.entries.popleft()
            queue.sent = max(0, queue.sent - 1)
        if not queue.entries and not queue.in_flight and queue.retry_at is None:
            del self._jobs[job]


_NOT_SENT = RuntimeError("not sent: an earlier event of the job failed")


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _error(future: Future[str]) -> BaseException | None:
    return future.exception()
