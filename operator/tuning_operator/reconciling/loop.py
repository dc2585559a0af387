"""The long-running service: wait for a trigger, take the lease, run a pass, repeat.

Triggers are file events, requeue deadlines and the periodic resync. The resync slows down as
the List grows (one second per page), so a large project never spends its Vertex request quota
on polling. Only the lease holder runs passes. SIGTERM finishes the pass in flight, flushes the
events and releases the lease.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from tuning_operator.reconciling.metrics import OperatorMetrics
from tuning_operator.reconciling.reconciler import PassReport, Reconciler
from tuning_operator.state.lease import Lease

SECONDS_PER_LIST_PAGE = 1.0


@dataclass(frozen=True)
class LoopSettings:
    resync_seconds: float = 30.0
    once: bool = False
    until_settled: bool = False
    deadline_seconds: float | None = None  # give up waiting to settle after this long


class OperatorLoop:
    def __init__(self, *, reconciler: Reconciler, lease: Lease, settings: LoopSettings,
                 metrics: OperatorMetrics | None = None,
                 on_pass: Callable[[PassReport], None] | None = None) -> None:
        self.reconciler = reconciler
        self.lease = lease
        reconciler.still_leader = lease.acquire  # re-checked before every create and cancel
        self.settings = settings
        self.metrics = metrics
        self.on_pass = on_pass
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.log = structlog.get_logger("tuning_operator.loop")
        self.last_report: PassReport | None = None

    def trigger(self) -> None:
        """Run a pass as soon as possible (file events call this)."""
        self.wake.set()

    def shutdown(self) -> None:
        """Finish the pass in flight, then stop (SIGTERM calls this)."""
        self.stop.set()
        self.wake.set()

    def run(self) -> int:
        """Loop until stopped; the exit code says whether the work ended as asked."""
        started = time.monotonic()
        code = 0
        try:
            while not self.stop.is_set():
                delay = self._step()
                if self.settings.once:
                    break
                report = self.last_report
                if self.settings.until_settled and report is not None and report.settled:
                    self.log.info("settled", generation=report.generation)
                    break
                deadline = self.settings.deadline_seconds
                if deadline is not None and time.monotonic() - started > deadline:
                    self.log.error("not_settled_before_deadline", seconds=deadline)
                    code = 1
                    break
                self.wake.wait(delay)
                self.wake.clear()
        finally:
            self.lease.release()
        return code

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
            phases = Counter(r.phase for r in self.reconciler.records.values() if r.phase)
            self.metrics.observe(duration=report.duration, calls=report.calls,
                                 errors=report.errors, phases=phases, revision=report.revision)
        if self.on_pass is not None:
            self.on_pass(report)
        wait = max(resync, report.list_calls * SECONDS_PER_LIST_PAGE)
        term = getattr(self.lease, "term", None)
        if term is not None:  # renew well inside the term, or a standby takes over every cycle
            wait = min(wait, term / 3)
        if report.next_due is not None:
            wait = min(wait, max(0.05, report.next_due - self.reconciler.clock()))
        return wait
