"""The long-running service: wait for a trigger, take the lease, run a pass, repeat.

Triggers are file events, requeue deadlines and the periodic resync. The resync slows down as
the List grows (one second per page), so a large project never spends its Vertex request quota
on polling. Only the lease holder runs passes. SIGTERM finishes the pass in flight, flushes the
events and releases the lease.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from tuning_operator.reconciling.metrics import OperatorMetrics
from tuning_operator.reconciling.reconciler import PassReport, Reconciler
from tuning_operator.state.guard import StateLost
from tuning_operator.state.lease import Lease

EXIT_PASS_FAILED = 1  # --once: the pass could not List Vertex or write its state
EXIT_NOT_SETTLED = 1
EXIT_STATE_LOST = 3

SECONDS_PER_LIST_PAGE = 1.0


@dataclass(frozen=True)
class LoopSettings:
    resync_seconds: float = 30.0
    once: bool = False
    until_settled: bool = False
    deadline_seconds: float | None = None  # give up waiting to settle after this long
    # A file event's pass waits this long (`--settle`): a pass before it could create nothing
    # for the new file, and a busy loop delays the next change's create (issue 25, P4).
    settle_seconds: float = 0.0


class OperatorLoop:
    def __init__(self, *, reconciler: Reconciler, lease: Lease, settings: LoopSettings,
                 metrics: OperatorMetrics | None = None,
                 on_pass: Callable[[PassReport], None] | None = None,
                 stop: threading.Event | None = None,
                 wake: threading.Event | None = None,
                 on_state_lost: Callable[[str], None] | None = None,
                 on_deadline: Callable[[], None] | None = None) -> None:
        # The reconciler was built with `still_leader` asking this lease: the loop only gates
        # whole passes on it.
        self.reconciler = reconciler
        self.lease = lease
        self.settings = settings
        self.metrics = metrics
        self.on_pass = on_pass
        self.on_state_lost = on_state_lost
        # Passed in so that a SIGTERM that arrives while the operator starts is not lost.
        self.stop = stop or threading.Event()
        self.wake = wake or threading.Event()
        # What to do when the deadline passes inside a pass; by default: end the process.
        self.on_deadline = on_deadline or _exit_not_settled
        self.log = structlog.get_logger("tuning_operator.loop")
        self.last_report: PassReport | None = None
        self._settled_at: float | None = None  # monotonic: the files changed are quiet then

    def trigger(self, changed_at: float | None = None) -> None:
        """Run a pass as soon as possible, or, given when the newest changed file was written
        (`changed_at`, wall clock; file events pass it), once it has settled: a pass before
        could create nothing for it. The first event of a burst sets the time, later ones do
        not push it back."""
        if changed_at is not None and self._settled_at is None:
            quiet_in = self.settings.settle_seconds - (time.time() - changed_at)
            self._settled_at = time.monotonic() + min(max(0.0, quiet_in),
                                                      self.settings.settle_seconds)
        self.wake.set()

    def shutdown(self) -> None:
        """Finish the pass in flight, then stop (SIGTERM calls this)."""
        self.stop.set()
        self.wake.set()

    def run(self) -> int:
        """Loop until stopped; the exit code says whether the work ended as asked."""
        started = time.monotonic()
        deadline = self.settings.deadline_seconds
        watchdog = None
        if deadline is not None:  # a pass stuck in retries must not outlive the deadline
            watchdog = threading.Timer(deadline + 2.0, self._deadline_passed)
            watchdog.daemon = True
            watchdog.start()
        code = 0
        try:
            while not self.stop.is_set():
                try:
                    delay = self._step()
                except StateLost as exc:
                    if self.on_state_lost is not None:
                        self.on_state_lost(str(exc))
                    self.log.error("exiting", why=str(exc), next_start="rebuilds from Vertex;"
                                   " every create is fenced for the fence window")
                    return EXIT_STATE_LOST
                report = self.last_report
                if self.settings.once:
                    code = EXIT_PASS_FAILED if report is not None and report.failed else 0
                    break
                if self.settings.until_settled and report is not None and report.settled:
                    self.log.info("settled", generation=report.generation)
                    break
                if deadline is not None and time.monotonic() - started > deadline:
                    self.log.error("not_settled_before_deadline", seconds=deadline)
                    code = EXIT_NOT_SETTLED
                    break
                if deadline is not None:
                    delay = min(delay, max(0.05, started + deadline - time.monotonic()))
                self.wake.wait(delay)
                self.wake.clear()
                self._until_settled()
        finally:
            if watchdog is not None:
                watchdog.cancel()
            self.lease.release()
        return code

    def _until_settled(self) -> None:
        """Wait out the settle time of the files that changed, if a file event woke us (a stop
        still ends the wait at once). Whatever woke the loop meanwhile (more file events, a
        worker's result) is seen by the pass that follows, so those wakes are spent."""
        at = self._settled_at
        if at is not None:
            self.stop.wait(max(0.0, at - time.monotonic()))
            self._settled_at = None
            self.wake.clear()

    def _deadline_passed(self) -> None:
        """The deadline passed inside a pass (e.g. List retries): exit now, non-zero."""
        self.log.error("deadline_passed_during_a_pass", seconds=self.settings.deadline_seconds)
        self.on_deadline()

    def _step(self) -> float:
        """One pass if this process holds the lease; return the time to wait before the next."""
        resync = self.settings.resync_seconds
        if not self.lease.acquire():
            self.log.info("lease_held_elsewhere", holder=self.lease.holder)
            if self.metrics is not None:
                self.metrics.standby()
            return min(resync, 5.0)
        report = self.reconciler.reconcile()
        self.last_report = report
        if self.metrics is not None:
            status = self.reconciler.status
            self.metrics.observe(duration=report.duration, calls=report.calls,
                                 errors=report.errors, phases=status.phases(),
                                 ready=not report.failed, revision=report.revision)
            self.metrics.losses(status.diagnoses())
        if self.on_pass is not None:
            self.on_pass(report)
        _return_freed_memory()
        wait = max(resync, report.list_calls * SECONDS_PER_LIST_PAGE)
        term = getattr(self.lease, "term", None)
        if term is not None:  # renew well inside the term, or a standby takes over every cycle
            wait = min(wait, term / 3)
        if report.next_due is not None:
            wait = min(wait, max(0.05, report.next_due - self.reconciler.clock()))
        return wait


def _exit_not_settled() -> None:
    """A pass stuck past the deadline cannot be interrupted: end the process, non-zero."""
    os._exit(EXIT_NOT_SETTLED)


def _return_freed_memory() -> None:
    """Hand the pages freed by a pass back to the system (glibc keeps them otherwise).

    The first pass at 10,000 jobs creates every job and leaves a heap far above what the steady
    passes live in; without this the process keeps that peak as its resident size (issue 17,
    P5: 125 MB of growth at 10,000 jobs, 93 MB with it). A libc without `malloc_trim` is fine.
    Costs well under a millisecond.
    """
    import ctypes  # only the long-running service needs it

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
