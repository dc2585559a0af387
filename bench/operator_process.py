"""`tuning-operator run` as a child process, for the benchmarks that need the real service.

It scrapes the operator's own /metrics for the number of passes (so a benchmark knows when a
pass has happened without reading logs), reads its RSS with psutil, and always stops it:
SIGTERM first, SIGKILL if it does not exit in time. Logs go to a file in the caller's temp
directory, never to a pipe nobody reads.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import psutil

from tests.support.pubsub_emulator import free_port

CLI = "import sys; from tuning_operator.cli import main; sys.exit(main())"
PASSES = re.compile(r"^tuning_operator_reconcile_seconds_count (\S+)$", re.MULTILINE)


class OperatorProcess:
    """The operator against an emulator endpoint; use as a context manager."""

    def __init__(self, *, jobs: Path, state: Path, endpoint: str, project: str,
                 extra: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.log = state.parent / f"{state.name}.log"
        self.args = [sys.executable, "-c", CLI, "run", "--jobs-dir", str(jobs),
                     "--state-dir", str(state), "--vertex-endpoint", endpoint,
                     "--project", project, "--metrics-port", str(self.port),
                     "--log-file", str(self.log), "--crud-per-minute", "1e9",
                     "--submissions-per-minute", "1e9", *extra]
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> OperatorProcess:
        self.process = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc: object) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def passes(self) -> int:
        """Passes the operator has finished (0 until its metrics server answers)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics",
                                        timeout=5) as answer:
                match = PASSES.search(answer.read().decode())
        except OSError:
            return 0
        return int(float(match.group(1))) if match else 0

    def wait_for_passes(self, count: int, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.passes() < count:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"the operator exited; see {self.log}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {count} passes in {timeout} s")
            time.sleep(0.2)

    def rss(self) -> int:
        assert self.process is not None
        return int(psutil.Process(self.process.pid).memory_info().rss)
