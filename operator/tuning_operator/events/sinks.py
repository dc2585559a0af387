"""Where status events go: one small interface, and the `--events` string that picks a sink.

`pubsub:projects/P/topics/T` is the real thing; `file:PATH` (JSON lines, the embedded default)
and `stdout` need no cloud. The outbox is the only caller of `publish`: it owns durability and
retries, so a sink only reports through its future whether one delivery worked. Nothing here
imports a Google library at module level: `pubsub:` is loaded only when asked for.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Protocol

from tuning_operator.errors import ConfigError
from tuning_operator.events.lines import AppendOnlyFile
from tuning_operator.events.model import StatusEvent

PUBSUB_SCHEME = "pubsub:"
FILE_SCHEME = "file:"
STDOUT = "stdout"
SINK_FORMS = "pubsub:projects/P/topics/T, file:PATH or stdout"


class EventSink(Protocol):
    """A destination for status events; order per `event.ordering_key` must be kept.

    Contract (Pub/Sub's ordering rule): once a delivery of a key fails, every later event of
    that key must fail too until `resume(key)`; otherwise a retry could land after its
    successors. A sink that fails by raising from `publish` needs nothing more.
    """

    def publish(self, event: StatusEvent) -> Future[str]:
        """Start delivering one event; the future holds a message id once it is delivered."""
        ...

    def resume(self, ordering_key: str) -> None:
        """Accept events of this key again after a failed delivery (Pub/Sub pauses the key)."""
        ...

    def flush(self, timeout: float | None = None) -> None:
        """Make what was delivered durable or visible (fsync, flush); may block up to timeout."""
        ...

    def close(self) -> None:
        """Release the sink; undelivered events stay in the caller's outbox."""
        ...


def delivered(message_id: str) -> Future[str]:
    """A future already resolved with `message_id` (for sinks that deliver synchronously)."""
    future: Future[str] = Future()
    future.set_result(message_id)
    return future


def failed(error: BaseException) -> Future[str]:
    future: Future[str] = Future()
    future.set_exception(error)
    return future


class FileSink:
    """Appends each event as one structured CloudEvent JSON line; fsync on `flush`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = AppendOnlyFile(path)

    def publish(self, event: StatusEvent) -> Future[str]:
        try:
            self._file.append(event.to_json_line(), sync=False)
        except (OSError, RuntimeError) as error:
            return failed(error)
        return delivered(event.event_id)

    def resume(self, ordering_key: str) -> None:
        del ordering_key  # a file never pauses a key

    def flush(self, timeout: float | None = None) -> None:
        del timeout
        self._file.sync()

    def close(self) -> None:
        self._file.close()


class StdoutSink:
    """Prints each event as one structured CloudEvent JSON line (for demos and pipes)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._lock = threading.Lock()

    def publish(self, event: StatusEvent) -> Future[str]:
        line = event.to_json_line().decode()
        with self._lock:
            self._stream.write(line)
            self._stream.flush()
        return delivered(event.event_id)

    def resume(self, ordering_key: str) -> None:
        del ordering_key

    def flush(self, timeout: float | None = None) -> None:
        del timeout
        with self._lock:
            self._stream.flush()

    def close(self) -> None:
        self.flush()


def open_sink(spec: str) -> EventSink:
    """The sink named by an `--events` value; ConfigError says which forms exist."""
    if spec.startswith(PUBSUB_SCHEME):
        # Lazy: Google's client costs a second of import time that file:/stdout never pay.
        from tuning_operator.events.pubsub import PubSubSink, parse_topic

        return PubSubSink(parse_topic(spec.removeprefix(PUBSUB_SCHEME)))
    if spec.startswith(FILE_SCHEME):
        path = spec.removeprefix(FILE_SCHEME)
        if not path:
            raise ConfigError(f"--events {spec!r}: give a path after `file:` (file:events.jsonl)")
        return FileSink(Path(path))
    if spec in (STDOUT, STDOUT + ":", "-"):
        return StdoutSink()
    raise ConfigError(f"--events {spec!r} is not a sink; use {SINK_FORMS}")
