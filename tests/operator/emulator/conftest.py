"""Fixtures: one emulator process for the suite, real GAPIC clients on both transports."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.emulator_process import EmulatorAdmin, EmulatorProcess
from tuning_operator.vertex.clients import emulator_factory

MAX_ACTIVE = 3  # per project (global scope, all regions); each test gets its own project


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(job_seconds=60, cancel_seconds=0.3, max_active=MAX_ACTIVE) as process:
        yield process


@pytest.fixture
def admin(emulator: EmulatorProcess) -> Iterator[EmulatorAdmin]:
    yield emulator.admin
    emulator.admin.clear_faults()


@pytest.fixture(params=["grpc", "rest"])
def client(request: pytest.FixtureRequest, emulator: EmulatorProcess) -> Iterator[Any]:
    """The real aiplatform_v1.GenAiTuningServiceClient, once per transport."""
    transport = request.param
    endpoint = emulator.grpc_endpoint if transport == "grpc" else emulator.rest_endpoint
    made = emulator_factory(endpoint, transport=transport)("us-central1")
    yield made
    made.transport.close()


@pytest.fixture
def parent() -> str:
    """A parent of its own for each test, so jobs and quota never leak between tests."""
    return f"projects/p-{uuid.uuid4().hex[:10]}/locations/us-central1"
