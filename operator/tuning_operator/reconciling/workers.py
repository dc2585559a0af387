"""Post-success work off the pass: curves, smoke tests and evaluations in background workers.

A pass never waits on an endpoint. For a due post-success step the pass starts one task (at most
one per job and step at a time) on a copy of the job's record and goes on; the task runs the
step's executor (`aftercare.py`) on that copy and posts it when it has progress to show and when
it ends, waking the loop. The reconciler applies what was posted to the job's live record (the
fields the step owns, and only while the record is for the same Vertex job) before it plans and
again before it stores, so the planner, `status` and the events see it; the pass's notify tells
the verdicts. The manager owns the workers and closes them on stop: a running task asks no new
question once the stop is set, and every answer it received is journaled.

Without threads (`threads=0`: unit tests, one-shot tools) a task runs inline, in the pass, and
its result is applied before the pass stores: the behaviour of a pass that does the work itself.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import structlog

from tuning_operator.reconciling.backoff import Outcome, Requeue
from tuning_operator.state.store import JobRecord

# The record fields each step writes: applying one step's copy never undoes another's work.
OWNED = {
    "metrics": ("metrics_read_at", "metrics_final", "diagnosis"),
    "smoke": ("smoke_test",),
    "evaluation": ("evaluation",),
}
AFTERCARE_THREADS = 4  # tasks at once; each evaluation has its own requests in flight
IN_FLIGHT_RECHECK = 60.0  # seconds; a task that ends wakes the loop sooner
FAILED_TASK_RETRY = 60.0

Progress = Callable[[], None]
Work = Callable[[JobRecord, Progress | None], Outcome]
_log = structlog.get_logger("tuning_operator.workers")


@dataclass(frozen=True)
class Posted:
    """A task's copy of the record as it stood; `outcome` None: progress, the task runs on."""

    step: str
    record: JobRecord
    outcome: Outcome | None


class Workers:
    """At most one task per (step, job), on `threads` threads (0: inline in the pass)."""

    def __init__(self, threads: int = 0, *, wake: Callable[[], None] | None = None) -> None:
        self._pool = (ThreadPoolExecutor(threads, thread_name_prefix="aftercare")
                      if threads > 0 else None)
        self._wake = wake or (lambda: None)
        self._lock = threading.Lock()
        self._running: set[tuple[str, str]] = set()
        self._posted: dict[tuple[str, str], Posted] = {}

    def run(self, step: str, record: JobRecord, work: Work) -> Outcome:
        """Start `work` for the job, or say it is already running; inline: do it now."""
        key = (step, record.name)
        if self._pool is None:
            mine = copy.copy(record)
            outcome = work(mine, None)
            self._post(key, mine, outcome)
            return outcome
        with self._lock:
            if key in self._running:
                return Requeue(after=IN_FLIGHT_RECHECK, reason=f"{step} in progress")
            self._running.add(key)
        self._pool.submit(self._task, key, copy.copy(record), work)
        return Requeue(after=IN_FLIGHT_RECHECK, reason=f"{step} started in the background")

    def running(self, step: str, job: str) -> bool:
        with self._lock:
            return (step, job) in self._running

    def collect(self) -> list[Posted]:
        """What the tasks posted since the last call (the latest post per task)."""
        with self._lock:
            posted, self._posted = list(self._posted.values()), {}
        return posted

    def close(self) -> None:
        """Wait for the running tasks: they end at their next call once the stop is set."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _task(self, key: tuple[str, str], record: JobRecord, work: Work) -> None:
        try:
            outcome = work(record, lambda: self._post(key, record, None))
        except Exception as exc:  # a bug in one task must not end the worker silently
            _log.exception("aftercare_task_failed", step=key[0], job=key[1])
            outcome = Requeue(after=FAILED_TASK_RETRY, reason=f"{key[0]} failed: {exc}")
        self._post(key, record, outcome)

    def _post(self, key: tuple[str, str], record: JobRecord, outcome: Outcome | None) -> None:
        with self._lock:
            self._posted[key] = Posted(key[0], copy.copy(record), outcome)
            if outcome is not None:
                self._running.discard(key)
        if self._pool is not None:
            self._wake()


class AuditTrail(Protocol):
    def action(self, record: JobRecord, *, action: str, reason: str) -> None: ...


def apply_posted(workers: Workers, records: Mapping[str, JobRecord], audit: AuditTrail) -> bool:
    """Apply what the tasks posted to the live records; an endpoint's new smoke-test result is
    an audit line. True when a record changed."""
    applied = False
    for posted in workers.collect():
        live = records.get(posted.record.name)
        smoke = live.smoke_test if live else None
        if live is None or not apply(live, posted):
            continue  # the job is gone or was re-created since the task started
        applied = True
        now = live.smoke_test
        if now is not None and (smoke is None or smoke.endpoint != now.endpoint):
            audit.action(live, action="smoke-test", reason=f"endpoint {now.endpoint}"
                         + (f": {now.error}" if now.error is not None else ""))
    return applied


def apply(live: JobRecord, posted: Posted) -> bool:
    """Copy the fields the posted step owns onto the live record; False when the record now
    belongs to another Vertex job (a re-created job) and the post is dropped."""
    if posted.record.vertex_name != live.vertex_name:
        return False
    for field in OWNED[posted.step]:
        setattr(live, field, getattr(posted.record, field))
    return True
