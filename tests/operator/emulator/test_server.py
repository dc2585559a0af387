"""The in-process emulator (the embedded default): a context manager on free ports."""

from __future__ import annotations

import socket

import pytest
from google.api_core import exceptions as api

from tests.support.emulator_process import EmulatorAdmin, sample_job
from tuning_operator.emulator import VertexEmulator
from tuning_operator.vertex.clients import emulator_factory

PARENT = "projects/p/locations/us-central1"


def port_open(endpoint: str) -> bool:
    host, port = endpoint.removeprefix("http://").rsplit(":", 1)
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, int(port))) == 0


def test_in_process_emulator_serves_both_transports_and_stops() -> None:
    """Inside `with`, both ports answer the real client; after it, both ports are closed."""
    with VertexEmulator(job_seconds=30, max_active=5) as emulator:
        grpc_client = emulator_factory(emulator.grpc_endpoint)("us-central1")
        rest_client = emulator_factory(emulator.rest_endpoint, transport="rest")("us-central1")
        created = grpc_client.create_tuning_job(parent=PARENT, tuning_job=sample_job())
        assert rest_client.get_tuning_job(name=created.name).name == created.name
        assert emulator.calls()["CreateTuningJob"] == 1
        assert EmulatorAdmin(emulator.rest_endpoint).calls()["GetTuningJob"] == 1
        grpc_client.transport.close()
        rest_client.transport.close()
        endpoints = (emulator.grpc_endpoint, emulator.rest_endpoint)
    assert not any(port_open(endpoint) for endpoint in endpoints)


def test_faults_can_be_set_directly_in_process() -> None:
    """emu.faults is the live injector: a scripted fault reaches the next call."""
    with VertexEmulator() as emulator:
        client = emulator_factory(emulator.grpc_endpoint)("us-central1")
        emulator.faults.fail_next("ListTuningJobs", "UNAVAILABLE")
        with pytest.raises(api.ServiceUnavailable):
            list(client.list_tuning_jobs(parent=PARENT))
        assert list(client.list_tuning_jobs(parent=PARENT)) == []
        client.transport.close()


def test_two_emulators_in_one_process_are_independent() -> None:
    """No module-level state: each emulator has its own jobs and counters."""
    with VertexEmulator() as first, VertexEmulator() as second:
        client = emulator_factory(first.grpc_endpoint)("us-central1")
        client.create_tuning_job(parent=PARENT, tuning_job=sample_job())
        client.transport.close()
        assert first.store.active_count(PARENT) == 1
        assert second.store.active_count(PARENT) == 0
        assert second.calls()["CreateTuningJob"] == 0


def test_settings_are_validated() -> None:
    """Negative timings are refused before anything binds a port."""
    with pytest.raises(ValueError):
        VertexEmulator(job_seconds=-1)
