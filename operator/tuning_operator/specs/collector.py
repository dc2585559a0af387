"""The garbage collector held off while a jobs directory loads.

A load builds tens of thousands of small containers (YAML mappings, models, results) and frees
none of them in a cycle, yet every 700 allocations the collector walks the youngest of them,
and now and then every tracked object of the process: a quarter of a cold load's cost above
libyaml's (issue 31). Holding it off for the load costs nothing the load needs; it is restored
however the load ends, and what the load built is moved to the oldest generation, so that the
next young collection does not walk it all. Holds nest and may overlap across threads: the
collector comes back when the last one ends, and only if it was on when the first began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Holds:
    """How many holds are open, and whether the collector was on before the first (the
    collector is one per process, so this is too)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.was_enabled = False


_HOLDS = _Holds()


@contextmanager
def collector_held() -> Iterator[None]:
    """No automatic garbage collection inside the block; the previous state restored after."""
    with _HOLDS.lock:
        if _HOLDS.count == 0:
            _HOLDS.was_enabled = gc.isenabled()
            gc.disable()
        _HOLDS.count += 1
    try:
        yield
    finally:
        with _HOLDS.lock:
            _HOLDS.count -= 1
            if _HOLDS.count == 0 and _HOLDS.was_enabled:
                _to_oldest_generation()
                gc.enable()


_MANY_YOUNG = 10_000  # young objects left by a hold that are worth moving (a cold load's)


def _to_oldest_generation() -> None:
    """After a hold that built much, every tracked object to the oldest generation, unscanned.

    What a cold load built is young, and the first young collection after it would walk all of
    it (10,000 jobs: tens of milliseconds), then the next older one again. Freezing and
    unfreezing moves every object to the oldest generation in constant time; they are scanned
    at the next full collection, as long-lived objects are. A hold that built little (a warm
    pass) leaves the generations as they are, so that the operator's young garbage is still
    collected young; and nothing is moved when something else froze objects (`gc.freeze`
    before a fork): unfreezing would undo that.
    """
    if gc.get_count()[0] > _MANY_YOUNG and gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
