"""End-to-end fixtures: the Vertex emulator in its own process, the operator as a command
(or, where a test needs no process of its own, the same operator run in this process).

Everything here goes over the wire with the real google-cloud-aiplatform client.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.emulator_process import EmulatorProcess
from tests.support.job_files import write_job
from tuning_operator.cli import build_parser
from tuning_operator.manager.runner import OperatorRunner
from tuning_operator.manager.settings import DEFAULTS
from tuning_operator.vertex.budget import RequestBudget
from tuning_operator.vertex.jobs import VertexTuningJobs

__all__ = ["write_job"]

CLI = "import sys; from tuning_operator.cli import main; sys.exit(main())"
REGION = "us-central1"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    """One emulator process per test module; jobs take 3 s from create to success."""
    with EmulatorProcess(job_seconds=3, cancel_seconds=0.5) as process:
        yield process


@pytest.fixture
def project() -> str:
    """A project of its own per test, so jobs and quota never leak between tests."""
    return f"p-{uuid.uuid4().hex[:10]}"


def adapter(emulator: EmulatorProcess, project: str) -> VertexTuningJobs:
    """The operator's own Vertex adapter, pointed at the emulator, with a roomy budget."""
    budget = RequestBudget(crud_per_minute=60_000, submissions_per_minute=60_000)
    return VertexTuningJobs.for_emulator(emulator.grpc_endpoint, project=project, budget=budget)


def jobs_by_name(emulator: EmulatorProcess, project: str) -> Counter[str]:
    """How many Vertex jobs carry each job-name label (a count above 1 is a duplicate)."""
    with adapter(emulator, project) as vertex:
        listed = vertex.list_managed(REGION)
    return Counter(j.job_name for j in listed.jobs if j.job_name)


def operator_args(emulator: EmulatorProcess, project: str, jobs: Path, state: Path,
                  *extra: str) -> list[str]:
    """`tuning-operator run` against the emulator, fast timings for tests."""
    return [sys.executable, "-c", CLI, "run", "--jobs-dir", str(jobs), "--state-dir", str(state),
            "--vertex-endpoint", emulator.grpc_endpoint, "--project", project,
            "--resync", "0.5", "--settle", "0", "--create-fence", "2",
            "--crud-per-minute", "60000", "--submissions-per-minute", "60000", *extra]


def run_in_process(emulator: EmulatorProcess, project: str, jobs: Path, state: Path,
                   *extra: str, timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    """`run_operator` without a new interpreter: the same flags, parsed by the same command
    line, run by the manager in a thread of this process; its logs are the `stdout`."""
    argv = operator_args(emulator, project, jobs, state, *extra)[3:]  # from `run` on
    arguments = vars(build_parser().parse_args(argv))
    settings = {k: v for k, v in arguments.items() if k in DEFAULTS and v is not None}
    with OperatorRunner(**settings) as runner:
        code = runner.wait(timeout)
    assert code is not None, runner.exception
    return subprocess.CompletedProcess(argv, code, runner.output, "")


def run_operator(emulator: EmulatorProcess, project: str, jobs: Path, state: Path, *extra: str,
                 timeout: float = 90.0,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the operator to completion and return its output."""
    return subprocess.run(operator_args(emulator, project, jobs, state, *extra),
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, **(env or {})})
