"""Helpers for tests and benchmarks: the emulator in a separate process, and its admin client.

`EmulatorProcess` runs `tuning-operator emulator` as a child process on free ports (it passes
port 0 and reads the ports from the ready line, so there is no race for a port) and stops it on
exit; `EmulatorAdmin` reads call counts and changes faults over HTTP, for a child process or any
emulator reachable on loopback. Every wait is bounded. No pytest import here: the fixtures that
use these live in the test suites.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue
from typing import Any

from google.cloud import aiplatform_v1

_CLI = "import sys; from tuning_operator.cli import main; sys.exit(main())"


def sample_job(
    *,
    base_model: str = "gemini-2.5-flash",
    training: str = "gs://tuning-data/support/train.jsonl",
    adapter_size: str = "ADAPTER_SIZE_FOUR",
    labels: dict[str, str] | None = None,
) -> aiplatform_v1.TuningJob:
    """A TuningJob message Vertex accepts, to vary one field at a time in tests."""
    return aiplatform_v1.TuningJob(
        base_model=base_model,
        tuned_model_display_name="sample",
        labels=labels or {},
        supervised_tuning_spec=aiplatform_v1.SupervisedTuningSpec(
            training_dataset_uri=training,
            hyper_parameters=aiplatform_v1.SupervisedHyperParameters(
                epoch_count=3, adapter_size=adapter_size
            ),
        ),
    )


def http_json(
    method: str, url: str, body: bytes | None = None, *, timeout: float = 5.0
) -> tuple[int, Any]:
    """One JSON request over plain HTTP: (status, decoded body), errors included."""
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


class EmulatorStartError(RuntimeError):
    """The emulator process did not become ready; the message holds its output."""


@dataclass(frozen=True)
class EmulatorAdmin:
    """Client of the admin routes under /emulator/ on an emulator's REST port."""

    rest_endpoint: str
    timeout: float = 5.0

    def _call(self, method: str, route: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        url = f"{self.rest_endpoint}/emulator/{route}"
        status, document = http_json(method, url, data, timeout=self.timeout)
        if status >= 400:
            raise RuntimeError(f"admin {method} {route}: {document}")
        return document

    def healthy(self) -> bool:
        return bool(self._call("GET", "healthz").get("ok"))

    def calls(self) -> dict[str, int]:
        """Calls per RPC method that reached the emulator (both transports)."""
        return {str(k): int(v) for k, v in self._call("GET", "calls").items()}

    def usage(self) -> dict[str, int]:
        """{"input": n, "output": m}: the tokens every GenerateContent answer was billed."""
        return {str(k): int(v) for k, v in self._call("GET", "usage").items()}

    def reset_calls(self) -> None:
        self._call("POST", "calls:reset", {})

    def active(self, project: str) -> dict[str, Any]:
        """{"active": n, "peak": m, "regions": {region: k}} for `project` (zeros if unknown):
        jobs holding a quota slot now, and the most held at once in one quota scope so far."""
        projects = self._call("GET", "active")["projects"]
        entry: dict[str, Any] = projects.get(project, {"active": 0, "peak": 0, "regions": {}})
        return entry

    def faults(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "faults")
        return result

    def configure_faults(
        self,
        *,
        fault_rate: float | None = None,
        ghost_create_rate: float | None = None,
        latency_ms: float | None = None,
    ) -> dict[str, Any]:
        body = {
            key: value
            for key, value in (
                ("faultRate", fault_rate),
                ("ghostCreateRate", ghost_create_rate),
                ("latencyMs", latency_ms),
            )
            if value is not None
        }
        result: dict[str, Any] = self._call("POST", "faults", body)
        return result

    def fail_next(self, method: str, code: str, *, times: int = 1) -> None:
        """The next `times` calls of `method` (e.g. ListTuningJobs) answer `code`."""
        self._call("POST", "faults:failNext", {"method": method, "code": code, "times": times})

    def ghost_next_creates(self, times: int = 1) -> None:
        self._call("POST", "faults:ghostNextCreates", {"times": times})

    def clear_faults(self) -> None:
        self._call("POST", "faults:clear", {})

    def set_answers(self, scripts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Replace the scripted GenerateContent answers: [{model, answers, default}, …]."""
        return self._set_scripts("answers", scripts)

    def set_autorater(self, scripts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Replace the scripted EvaluateInstances scores: [{metric, scores, default}, …]."""
        return self._set_scripts("autorater", scripts)

    def _set_scripts(self, route: str, scripts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        data = json.dumps(scripts).encode()
        url = f"{self.rest_endpoint}/emulator/{route}"
        status, document = http_json("POST", url, data, timeout=self.timeout)
        if status >= 400:
            raise RuntimeError(f"admin POST {route}: {document}")
        return list(document)


class EmulatorProcess:
    """`tuning-operator emulator` in a child process; use as a context manager."""

    def __init__(
        self,
        *,
        job_seconds: float = 60.0,
        cancel_seconds: float = 1.0,
        max_active: int | None = None,
        quota_scope: str | None = None,
        state_file: Path | None = None,
        extra_args: tuple[str, ...] = (),
        startup_timeout: float = 30.0,
    ) -> None:
        self.args = [
            "emulator",
            "--port=0",
            "--rest-port=0",
            f"--job-seconds={job_seconds}",
            f"--cancel-seconds={cancel_seconds}",
            *([f"--max-active={max_active}"] if max_active is not None else []),
            *([f"--quota-scope={quota_scope}"] if quota_scope is not None else []),
            *([f"--state={state_file}"] if state_file is not None else []),
            *extra_args,
        ]
        self.startup_timeout = startup_timeout
        self.max_active = max_active
        self.grpc_endpoint = ""
        self.rest_endpoint = ""
        self._process: subprocess.Popen[str] | None = None
        self._output: deque[str] = deque(maxlen=200)

    @property
    def admin(self) -> EmulatorAdmin:
        return EmulatorAdmin(self.rest_endpoint)

    def start(self) -> EmulatorProcess:
        process = subprocess.Popen(
            [sys.executable, "-c", _CLI, *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self._process = process
        ready: Queue[dict[str, Any]] = Queue()
        threading.Thread(target=self._drain, args=(process, ready), daemon=True).start()
        try:
            line = ready.get(timeout=self.startup_timeout)
        except Empty:
            self.stop()
            raise EmulatorStartError(
                f"the emulator was not ready within {self.startup_timeout} s:\n" + self.output()
            ) from None
        if not line:
            self.stop()
            raise EmulatorStartError("the emulator exited before it was ready:\n" + self.output())
        self.grpc_endpoint, self.rest_endpoint = line["grpc"], line["rest"]
        return self

    def _drain(self, process: subprocess.Popen[str], ready: Queue[dict[str, Any]]) -> None:
        assert process.stdout is not None
        announced = False
        for line in process.stdout:
            self._output.append(line)
            if not announced and line.startswith("{"):
                document = json.loads(line)
                if document.get("event") == "emulator.ready":
                    announced = True
                    ready.put(document)
        if not announced:
            ready.put({})

    def output(self) -> str:
        """The child's recent stdout and stderr, for failure messages."""
        return "".join(self._output)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; the exit code."""
        process, self._process = self._process, None
        if process is None:
            return None
        process.terminate()
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(timeout=timeout)

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
