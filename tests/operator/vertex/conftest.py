"""Fixtures: the emulator in its own process, and the adapter on each client transport."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.emulator_process import EmulatorAdmin, EmulatorProcess
from tuning_operator.vertex import RequestBudget, VertexTuningJobs, default_retry


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(job_seconds=60, cancel_seconds=0.2, max_active=4) as process:
        yield process


@pytest.fixture
def admin(emulator: EmulatorProcess) -> Iterator[EmulatorAdmin]:
    yield emulator.admin
    emulator.admin.clear_faults()


@pytest.fixture
def project() -> str:
    """A project of its own per test: jobs and quota never leak between tests."""
    return f"p-{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["grpc", "rest"])
def vertex(
    request: pytest.FixtureRequest, emulator: EmulatorProcess, project: str
) -> Iterator[VertexTuningJobs]:
    """The adapter against the emulator process, once per client transport."""
    transport = request.param
    endpoint = emulator.grpc_endpoint if transport == "grpc" else emulator.rest_endpoint
    budget = RequestBudget(crud_per_minute=60_000, submissions_per_minute=60_000)
    with VertexTuningJobs.for_emulator(
        endpoint,
        project=project,
        budget=budget,
        transport=transport,
        retry=default_retry(initial=0.01, maximum=0.05, timeout=0.5),
        page_size=3,
    ) as adapter:
        yield adapter


@pytest.fixture
def raw_client(emulator: EmulatorProcess) -> Iterator[object]:
    """A plain GAPIC client, to make jobs the operator does not own."""
    from tuning_operator.vertex.clients import emulator_factory

    client = emulator_factory(emulator.grpc_endpoint)("us-central1")
    yield client
    client.transport.close()
