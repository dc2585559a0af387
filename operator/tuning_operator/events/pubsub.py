"""The Pub/Sub sink and the subscriber behind `events tail`, on the real google-cloud-pubsub.

Order per job is Pub/Sub's message ordering with the job name as ordering key. When one publish
of a key fails for good, the client pauses that key and fails everything queued behind it; the
outbox then retries from its first undelivered event and calls `resume`, so a failure delays a
job's events and never reorders them. Transient errors (UNAVAILABLE, a frozen server) are
retried inside the client with a capped delay; permanent ones (NOT_FOUND: the topic is gone)
surface to the outbox. This module is imported only when a `pubsub:` sink or `events tail` is
used, so paths without Pub/Sub never load Google code.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from google.api_core import exceptions as core_exceptions
from google.api_core import retry as retries
from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient
from google.cloud.pubsub_v1.types import BatchSettings, FlowControl, PublisherOptions

from tuning_operator.errors import ConfigError
from tuning_operator.events.model import StatusEvent

TOPIC_PATH = re.compile(r"^projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/topics/[A-Za-z][-\w.~+%]{2,254}$")
SUBSCRIPTION_PATH = re.compile(
    r"^projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/subscriptions/[A-Za-z][-\w.~+%]{2,254}$"
)

# Status events are small and bursty (one reconcile pass changes several jobs at once). 50 ms
# of batching latency is invisible to a person reading `events tail` and lets a pass's events
# of one job share a request (bench/pubsub_publish.py, one noisy run each: 4,480 events/s
# through the outbox with append_all per pass, against 2,580 with the library's 10 ms).
EVENT_BATCHING = BatchSettings(max_messages=100, max_bytes=1_000_000, max_latency=0.05)

_TRANSIENT = retries.if_exception_type(
    core_exceptions.Aborted,
    core_exceptions.Cancelled,
    core_exceptions.DeadlineExceeded,
    core_exceptions.InternalServerError,
    core_exceptions.ResourceExhausted,
    core_exceptions.ServiceUnavailable,
    core_exceptions.Unknown,
)


def parse_topic(path: str) -> str:
    if not TOPIC_PATH.fullmatch(path):
        raise ConfigError(f"{path!r} is not a topic; write projects/PROJECT/topics/TOPIC")
    return path


def parse_subscription(path: str) -> str:
    if not SUBSCRIPTION_PATH.fullmatch(path):
        raise ConfigError(
            f"{path!r} is not a subscription; write projects/PROJECT/subscriptions/NAME"
        )
    return path


def event_publisher(*, max_retry_delay: float = 10.0) -> Any:
    """A PublisherClient with ordering on, event batching, and transient retries capped.

    With ordering on, the client retries a key's batch without a deadline; capping the delay
    between attempts (the library's default grows to 60 s) makes events flow again within
    seconds of an outage ending.
    """
    retry = retries.Retry(
        initial=0.1, maximum=max_retry_delay, multiplier=2.0, predicate=_TRANSIENT
    )
    return PublisherClient(
        batch_settings=EVENT_BATCHING,
        publisher_options=PublisherOptions(enable_message_ordering=True, retry=retry),
    )


class PubSubSink:
    """Publishes binary-mode CloudEvents to one topic, ordering key = job name."""

    def __init__(self, topic: str, *, client: Any = None, max_retry_delay: float = 10.0) -> None:
        self.topic = topic
        self._client = (
            client if client is not None else event_publisher(max_retry_delay=max_retry_delay)
        )
        self._seen_keys: set[str] = set()
        self._lock = threading.Lock()

    def publish(self, event: StatusEvent) -> Future[str]:
        with self._lock:
            self._seen_keys.add(event.ordering_key)
        result: Future[str] = Future()
        inner = self._client.publish(
            self.topic, event.data_bytes(), ordering_key=event.ordering_key, **event.attributes()
        )
        inner.add_done_callback(lambda done: _settle(result, done))
        return result

    def resume(self, ordering_key: str) -> None:
        with self._lock:
            if ordering_key not in self._seen_keys:
                return  # the client raises for keys it never saw
        self._client.resume_publish(self.topic, ordering_key)

    def flush(self, timeout: float | None = None) -> None:
        del timeout  # the outbox waits on each future; the client has nothing else to flush

    def close(self) -> None:
        """Stop the client; futures still retrying fail and their events stay in the outbox."""
        with contextlib.suppress(RuntimeError):  # already stopped
            self._client.stop()
        self._client.transport.close()


def _settle(result: Future[str], done: Any) -> None:
    error = done.exception()
    if error is None:
        result.set_result(str(done.result()))
    else:
        result.set_exception(error)


def tail_subscription(
    subscription: str,
    on_event: Callable[[StatusEvent], None],
    *,
    max_messages: int = 0,
    timeout: float | None = None,
    on_malformed: Callable[[str], None] | None = None,
) -> int:
    """Stream a subscription, calling `on_event` per status event, until enough or timeout.

    Messages are acknowledged after `on_event` returns. A message that is not one of our
    CloudEvents is reported to `on_malformed` and acknowledged (it would never parse later).
    Returns how many events were handled; `max_messages` 0 means no limit.
    """
    subscriber = SubscriberClient()
    done = threading.Event()
    lock = threading.Lock()
    handled = 0

    def receive(message: Any) -> None:
        nonlocal handled
        try:
            event = StatusEvent.from_pubsub(message.data, dict(message.attributes))
        except (ValueError, KeyError, TypeError) as exc:
            if on_malformed is not None:
                on_malformed(f"message {message.message_id}: {exc}")
            message.ack()
            return
        with lock:
            if done.is_set():
                message.nack()
                return
            on_event(event)
            message.ack()
            handled += 1
            if max_messages and handled >= max_messages:
                done.set()

    # One callback at a time keeps the printed order the delivery order.
    flow = FlowControl(max_messages=1)
    streaming = subscriber.subscribe(subscription, callback=receive, flow_control=flow)
    try:
        done.wait(timeout)
    finally:
        streaming.cancel()
        with contextlib.suppress(Exception):  # cancellation ends the stream with an error
            streaming.result(timeout=5)
        subscriber.close()
    return handled
