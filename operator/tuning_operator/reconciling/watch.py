"""File events from the jobs directory, debounced, that wake the loop early.

The watch is a convenience, never the only trigger (the periodic resync is), but it must not die
silently: any failure is logged, counted, and the watch restarted after a pause.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import structlog

IGNORED_SUFFIXES = ("~", ".swp", ".swx", ".tmp", ".part")


def is_relevant(path: str) -> bool:
    """A job or policy file; editors' temp and backup files are not."""
    name = Path(path).name
    if name.startswith((".", "#")) or name.endswith(IGNORED_SUFFIXES):
        return False
    return name.endswith((".yaml", ".yml"))


def newest_change(paths: Iterable[str]) -> float | None:
    """The newest modification time (wall clock) of the changed files that still exist; None
    when none does (removals: nothing to let settle)."""
    times = []
    for path in paths:
        with contextlib.suppress(OSError):
            times.append(os.lstat(path).st_mtime)  # a link is not followed
    return max(times, default=None)


class DirectoryWatch:
    """Runs watchfiles in a thread; calls `on_change` after each debounced batch, with the
    newest modification time among the files changed (`newest_change`)."""

    def __init__(self, jobs_dir: Path, *, on_change: Callable[[float | None], None],
                 on_failure: Callable[[Exception], None], stop: threading.Event,
                 debounce_ms: int = 300, restart_pause: float = 1.0) -> None:
        self.jobs_dir = jobs_dir
        self.on_change = on_change
        self.on_failure = on_failure
        self.stop = stop
        self.debounce_ms = debounce_ms
        self.restart_pause = restart_pause
        self.thread = threading.Thread(target=self._run, name="jobs-dir-watch", daemon=True)
        self.log = structlog.get_logger("tuning_operator.watch")

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        from watchfiles import watch

        while not self.stop.is_set():
            try:
                for changes in watch(self.jobs_dir, debounce=self.debounce_ms, step=50,
                                     stop_event=self.stop, yield_on_timeout=False,
                                     watch_filter=lambda _change, path: is_relevant(path),
                                     raise_interrupt=False):
                    self.log.debug("files_changed", count=len(changes))
                    self.on_change(newest_change(path for _, path in changes))
            except Exception as exc:
                self.log.error("watch_failed", error=repr(exc))
                self.on_failure(exc)
            if not self.stop.is_set():
                self.stop.wait(self.restart_pause)
