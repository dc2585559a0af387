"""--state FILE: a restarted emulator process sees the same jobs where time has taken them."""

from __future__ import annotations

from pathlib import Path

from tests.support.emulator_process import EmulatorProcess, sample_job
from tuning_operator.vertex.clients import emulator_factory

PARENT = "projects/p/locations/us-central1"


def test_jobs_survive_a_restart_of_the_process(tmp_path: Path) -> None:
    """Jobs created (and cancelled) before a restart are listed, unchanged, after it."""
    state = tmp_path / "vertex-state.json"
    with EmulatorProcess(job_seconds=60, cancel_seconds=0, state_file=state) as before:
        client = emulator_factory(before.grpc_endpoint)("us-central1")
        kept = client.create_tuning_job(parent=PARENT, tuning_job=sample_job(labels={"k": "v"}))
        cancelled = client.create_tuning_job(parent=PARENT, tuning_job=sample_job())
        client.cancel_tuning_job(name=cancelled.name)
        client.transport.close()
    with EmulatorProcess(job_seconds=60, state_file=state) as after:
        client = emulator_factory(after.rest_endpoint, transport="rest")("us-central1")
        listed = list(client.list_tuning_jobs(parent=PARENT))
        client.transport.close()
    assert [job.name for job in listed] == [kept.name, cancelled.name]
    assert listed[0].create_time == kept.create_time
    assert dict(listed[0].labels) == {"k": "v"}
    assert listed[0].state.name != "JOB_STATE_CANCELLED"
    assert listed[1].state.name == "JOB_STATE_CANCELLED"
