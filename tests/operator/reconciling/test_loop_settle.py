"""The loop waits out `--settle` after a file event: one pass per burst of changes, not one
that finds the new file unsettled and another after it (issue 25, P4)."""

from __future__ import annotations

import threading
import time

from tuning_operator.reconciling.loop import LoopSettings, OperatorLoop
from tuning_operator.reconciling.reconciler import PassReport


class CountingReconciler:
    def __init__(self) -> None:
        self.passes: list[float] = []
        self.generation = 0

    def clock(self) -> float:
        return time.time()

    def reconcile(self) -> PassReport:
        self.generation += 1
        self.passes.append(time.monotonic())
        return PassReport(generation=self.generation, plan=None, load=None)


class AlwaysLeader:
    holder = "me"

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


def running_loop(settle: float) -> tuple[OperatorLoop, CountingReconciler, threading.Thread]:
    reconciler = CountingReconciler()
    loop = OperatorLoop(reconciler=reconciler, lease=AlwaysLeader(),  # type: ignore[arg-type]
                        settings=LoopSettings(resync_seconds=60.0, settle_seconds=settle))
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    passes_within(reconciler, 1, seconds=10)  # the first pass, at start
    return loop, reconciler, thread


def passes_within(reconciler: CountingReconciler, count: int, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while len(reconciler.passes) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(reconciler.passes) == count


def stop(loop: OperatorLoop, thread: threading.Thread) -> None:
    loop.shutdown()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_burst_of_file_events_is_one_pass_after_the_settle_time() -> None:
    loop, reconciler, thread = running_loop(settle=0.4)
    try:
        triggered, written = time.monotonic(), time.time()
        for _ in range(5):  # an editor saving several files
            loop.trigger(written)
            time.sleep(0.02)
        passes_within(reconciler, 2, seconds=10)
        time.sleep(0.5)  # and no other pass follows
        assert len(reconciler.passes) == 2  # the start's, then one for the burst
        assert reconciler.passes[1] - triggered >= 0.4
    finally:
        stop(loop, thread)


def test_a_stop_during_the_settle_wait_ends_it_at_once() -> None:
    loop, reconciler, thread = running_loop(settle=30.0)
    loop.trigger(time.time())
    time.sleep(0.1)
    started = time.monotonic()
    stop(loop, thread)
    assert time.monotonic() - started < 2.0
    assert len(reconciler.passes) == 1


def test_a_file_written_long_ago_or_removed_runs_a_pass_at_once() -> None:
    loop, reconciler, thread = running_loop(settle=5.0)
    try:
        for changed_at in (time.time() - 10, None):  # settled already; a removal
            loop.trigger(changed_at)
            passes_within(reconciler, 2, seconds=4)  # well before the 5 s settle
            reconciler.passes.pop()
    finally:
        stop(loop, thread)


def test_without_settle_a_file_event_runs_a_pass_at_once() -> None:
    loop, reconciler, thread = running_loop(settle=0.0)
    try:
        loop.trigger(time.time())
        passes_within(reconciler, 2, seconds=10)
    finally:
        stop(loop, thread)
