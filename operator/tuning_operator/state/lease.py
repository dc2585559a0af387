"""Leader election: only the holder of the lease acts on Vertex.

Two operators acting at once could both see a job absent and both create it. `file:` leases use
an OS lock, which the kernel releases when the holder dies; `gs://` leases use an object written
with generation preconditions, so of two writers racing for it exactly one wins, and a holder
that stops renewing loses it when its term lapses.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from tuning_operator.errors import ConfigError


class Lease(Protocol):
    holder: str

    def acquire(self) -> bool:
        """Take or renew the lease; True while this process holds it."""

    def release(self) -> None: ...


def default_holder() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class NoLease:
    """A single operator with no lease configured: always the holder."""

    def __init__(self) -> None:
        self.holder = default_holder()

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


class FileLease:
    """An exclusive, non-blocking `flock` on a local file."""

    def __init__(self, path: str | os.PathLike[str], *, holder: str | None = None) -> None:
        self.path = Path(path)
        self.holder = holder or default_holder()
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, self.holder.encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class GcsLease:
    """A lease object in Cloud Storage, claimed and renewed with generation preconditions."""

    def __init__(self, *, bucket: Any, object_name: str, term_seconds: float = 30.0,
                 clock: Callable[[], float], holder: str | None = None) -> None:
        self.bucket = bucket  # a google.cloud.storage Bucket
        self.object_name = object_name
        self.term = term_seconds
        self.clock = clock
        self.holder = holder or default_holder()
        self._generation: int | None = None
        self._renewed_at = 0.0
        self._acts_from = 0.0  # after a take-over, a grace for the old holder's last call

    def acquire(self) -> bool:
        """Renew at most every third of the term; a take-over waits a sixth of it before acting."""
        from google.api_core import exceptions

        now = self.clock()
        if self._generation is not None and now - self._renewed_at < self.term / 3:
            return now >= self._acts_from
        blob = self.bucket.get_blob(self.object_name)
        if blob is None:
            precondition = 0
        else:
            current = json.loads(blob.download_as_bytes())
            mine = current.get("holder") == self.holder
            if not mine and current.get("expires", 0) > now:
                self._generation = None
                return False
            if not mine and self._generation is None:
                self._acts_from = now + self.term / 6
            precondition = blob.generation
        body = json.dumps({"holder": self.holder, "expires": now + self.term})
        target = self.bucket.blob(self.object_name)
        try:
            target.upload_from_string(body, content_type="application/json",
                                      if_generation_match=precondition)
        except exceptions.PreconditionFailed:
            self._generation = None
            return False
        self._generation = target.generation
        self._renewed_at = now
        return now >= self._acts_from

    def release(self) -> None:
        from google.api_core import exceptions

        if self._generation is None:
            return
        with contextlib.suppress(exceptions.PreconditionFailed, exceptions.NotFound):
            self.bucket.blob(self.object_name).delete(if_generation_match=self._generation)
        self._generation = None


def open_lease(spec: str | None, *, clock: Callable[[], float], storage_client: Any = None,
               term_seconds: float = 30.0) -> Lease:
    """`file:PATH`, `gs://BUCKET/OBJECT` (lapsing `term_seconds` after its last renewal), or
    None for no lease."""
    if not spec:
        return NoLease()
    if spec.startswith("file:"):
        return FileLease(spec.removeprefix("file:"))
    if spec.startswith("gs://"):
        bucket, _, obj = spec.removeprefix("gs://").partition("/")
        if not bucket or not obj:
            raise ConfigError(f"--lease {spec}: use gs://BUCKET/OBJECT")
        if storage_client is None:
            from google.cloud import storage  # type: ignore[attr-defined, unused-ignore]

            storage_client = storage.Client()
        return GcsLease(bucket=storage_client.bucket(bucket), object_name=obj, clock=clock,
                        term_seconds=term_seconds)
    raise ConfigError(f"--lease {spec}: use file:PATH or gs://BUCKET/OBJECT")
