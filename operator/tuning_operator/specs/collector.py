"""The garbage collector held off while a jobs directory loads.

A load builds tens of thousands of small containers (YAML mappings, models, results) and frees
none of them in a cycle, yet every 700 allocations the collector walks the youngest of them,
and now and then every tracked object of the process: a quarter of a cold load's cost above
libyaml's (issue 31). Holding it off for the load costs nothing the load needs; it is restored
however the load ends. Holds nest and may overlap across threads: the collector comes back
when the last one ends, and only if it was on when the first began.
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
                gc.enable()
