"""The official Pub/Sub emulator as a context manager, for the tests, the e2e suite and the bench.

`PubSubEmulator` runs the real emulator jar of the Cloud SDK (found from `gcloud` on PATH, or
`PUBSUB_EMULATOR_JAR`) with Java on a free loopback port, sets `PUBSUB_EMULATOR_HOST` while it
is entered, and can be frozen (SIGSTOP), thawed, killed and restarted on the same port to
play an outage. The emulator keeps everything in memory: after a restart its topics and
subscriptions are gone and must be created again. A missing emulator raises
`EmulatorUnavailable` with the reason; whether that skips or fails is the caller's choice (under
CI it must fail). The ready-made event streams are in `tests.support.status_events`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from tuning_operator.events.model import StatusEvent

__all__ = [
    "EmulatorUnavailable",
    "PubSubEmulator",
    "ReceivedEvent",
    "find_emulator_jar",
    "free_port",
]

JAR_GLOB = "platform/pubsub-emulator/lib/cloud-pubsub-emulator-*.jar"
EMULATOR_HOST_VARIABLE = "PUBSUB_EMULATOR_HOST"
JAR_VARIABLE = "PUBSUB_EMULATOR_JAR"


class EmulatorUnavailable(RuntimeError):
    """The emulator (or Java) is not installed here, or did not start; the message says why."""


def find_emulator_jar() -> Path:
    """The emulator jar: `$PUBSUB_EMULATOR_JAR`, else under the SDK root of `gcloud`."""
    if explicit := os.environ.get(JAR_VARIABLE):
        if Path(explicit).is_file():
            return Path(explicit)
        raise EmulatorUnavailable(f"{JAR_VARIABLE}={explicit} is not a file")
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        raise EmulatorUnavailable(
            "no `gcloud` on PATH: install the Cloud SDK package"
            " google-cloud-cli-pubsub-emulator (or set PUBSUB_EMULATOR_JAR)"
        )
    roots = [Path(gcloud).resolve().parent.parent]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        asked = subprocess.run(
            [gcloud, "info", "--format=value(installation.sdk_root)"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout.strip()
        if asked:
            roots.append(Path(asked))
    for root in roots:
        jars = sorted(root.glob(JAR_GLOB))
        if jars:
            return jars[-1]
    raise EmulatorUnavailable(
        f"no Pub/Sub emulator jar under {roots[0]}/{JAR_GLOB}:"
        " install the package google-cloud-cli-pubsub-emulator"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now on `host` (the emulator cannot pick one itself: port 0 fails)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ReceivedEvent:
    """One message as a subscriber saw it."""

    event: StatusEvent
    attributes: dict[str, str]
    ordering_key: str
    message_id: str


class PubSubEmulator:
    """The official Pub/Sub emulator on a loopback port, for the time it is entered."""

    def __init__(
        self,
        *,
        project: str = "test-project",
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.project = project
        self.host = host
        self.port = port or free_port(host)
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir = Path(tempfile.mkdtemp(prefix="pubsub-emulator-"))
        self._saved_host: str | None = None
        self._admin: tuple[Any, Any] | None = None

    @property
    def host_port(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def __enter__(self) -> PubSubEmulator:
        self.start()
        self._saved_host = os.environ.get(EMULATOR_HOST_VARIABLE)
        os.environ[EMULATOR_HOST_VARIABLE] = self.host_port
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._saved_host is None:
            os.environ.pop(EMULATOR_HOST_VARIABLE, None)
        else:
            os.environ[EMULATOR_HOST_VARIABLE] = self._saved_host
        self.stop()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def start(self) -> None:
        """Start the JVM and wait until it answers (a few seconds)."""
        java = shutil.which("java")
        if java is None:
            raise EmulatorUnavailable("no `java` on PATH: the emulator needs Java 17")
        jar = find_emulator_jar()
        log = (self._workdir / "emulator.log").open("ab")
        with log:
            self._process = subprocess.Popen(
                [java, "-jar", str(jar), f"--host={self.host}", f"--port={self.port}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._workdir,
            )
        self._wait_until_ready()

    def stop(self) -> None:
        """Stop the emulator (thawing it first if frozen); waits at most a few seconds."""
        self._close_admin()
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL: the emulator dies with every topic, subscription and message it held."""
        self._close_admin()
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None

    def restart(self) -> None:
        """Kill and start again on the same port (topics must be created again)."""
        self.kill()
        self.start()

    def freeze(self) -> None:
        """SIGSTOP: connections stay open and nothing answers (a hung service)."""
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Frozen for the `with` block, thawed even if the block fails."""
        self.freeze()
        try:
            yield
        finally:
            self.thaw()

    def create_topic(self, topic_id: str) -> str:
        publisher, _ = self._admin_clients()
        return str(publisher.create_topic(name=f"projects/{self.project}/topics/{topic_id}").name)

    def create_subscription(self, subscription_id: str, topic: str, *, ordered: bool = True) -> str:
        """A pull subscription; `ordered` turns on message ordering (per ordering key)."""
        _, subscriber = self._admin_clients()
        name = f"projects/{self.project}/subscriptions/{subscription_id}"
        request = {"name": name, "topic": topic, "enable_message_ordering": ordered}
        return str(subscriber.create_subscription(request=request).name)

    def receive(self, subscription: str, *, count: int, timeout: float) -> list[ReceivedEvent]:
        """Pull and acknowledge until `count` messages arrived or `timeout` passed."""
        _, subscriber = self._admin_clients()
        received: list[ReceivedEvent] = []
        deadline = time.monotonic() + timeout
        while len(received) < count and time.monotonic() < deadline:
            with contextlib.suppress(Exception):  # DEADLINE_EXCEEDED when nothing is there
                response = subscriber.pull(
                    request={"subscription": subscription, "max_messages": 1000},
                    timeout=max(0.5, min(5.0, deadline - time.monotonic())),
                )
                if response.received_messages:
                    subscriber.acknowledge(
                        subscription=subscription,
                        ack_ids=[m.ack_id for m in response.received_messages],
                    )
                for item in response.received_messages:
                    attributes = dict(item.message.attributes)
                    received.append(
                        ReceivedEvent(
                            StatusEvent.from_pubsub(item.message.data, attributes),
                            attributes,
                            item.message.ordering_key,
                            item.message.message_id,
                        )
                    )
        return received

    def _admin_clients(self) -> tuple[Any, Any]:
        if self._admin is None:
            import grpc
            from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient
            from google.pubsub_v1.services.publisher.transports import (
                PublisherGrpcTransport,
            )
            from google.pubsub_v1.services.subscriber.transports import (
                SubscriberGrpcTransport,
            )

            publisher = PublisherClient(
                transport=PublisherGrpcTransport(channel=grpc.insecure_channel(self.host_port))
            )
            subscriber = SubscriberClient(
                transport=SubscriberGrpcTransport(channel=grpc.insecure_channel(self.host_port))
            )
            self._admin = (publisher, subscriber)
        return self._admin

    def _close_admin(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            publisher, subscriber = admin
            with contextlib.suppress(Exception):
                publisher.transport.close()
                subscriber.close()

    def _signal(self, signum: signal.Signals) -> None:
        if self._process is None:
            raise RuntimeError("the emulator is not running")
        self._process.send_signal(signum)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        url = f"http://{self.host_port}/"
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise EmulatorUnavailable(f"the emulator exited at start:\n{self._log_tail()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise EmulatorUnavailable(
            f"the emulator did not answer on {url} within {self._startup_timeout:.0f} s:\n"
            f"{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        log = self._workdir / "emulator.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
