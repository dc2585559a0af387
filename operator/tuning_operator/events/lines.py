"""One append-only file of whole lines, shared by the audit trail and the `file:` sink.

Each line is one `write` on an `O_APPEND` descriptor, so concurrent writers never interleave
inside a line and a crash can only tear the last one. This module must never seek, truncate
or rewrite: what was written stays.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


class AppendOnlyFile:
    """Appends whole lines to `path` (created with its directories); thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        # A line torn by a crash or a full disk must not swallow the next one.
        self._torn = os.fstat(self._fd).st_size > 0 and not _ends_with_newline(path)

    def append(self, line: bytes, *, sync: bool) -> None:
        """Write one line; with `sync`, fsync before returning. Raises once closed."""
        with self._lock:
            if self._fd is None:
                raise RuntimeError(f"{self.path} is closed")
            data = b"\n" + line if self._torn else line
            try:
                written = os.write(self._fd, data)
                if sync:
                    os.fsync(self._fd)
            except OSError:
                self._torn = True  # e.g. ENOSPC: part of the line may be on disk
                raise
            self._torn = written < len(data)
            if self._torn:
                raise OSError(f"{self.path}: short write ({written} of {len(data)} bytes)")

    def sync(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"
