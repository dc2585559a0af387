"""The operator's status events reach a Pub/Sub subscription (official emulator), in order."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.e2e.conftest import run_operator, write_job
from tests.support.emulator_process import EmulatorProcess
from tests.support.pubsub_emulator import PubSubEmulator


def test_lifecycle_arrives_on_pubsub_in_order_with_provenance(
    emulator: EmulatorProcess, project: str, tmp_path: Path, pubsub_emulator: PubSubEmulator
) -> None:
    """Each job's Submitted → Running → Succeeded arrives in order, as CloudEvents, with git."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    for i in range(3):
        write_job(jobs, f"job-{i}")
    identity = ["-c", "user.name=Grace Hopper", "-c", "user.email=grace@example.com"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "three jobs"]):
        subprocess.run(["git", "-C", str(jobs), *identity, *args], check=True)
    topic = pubsub_emulator.create_topic(f"status-{project}")
    subscription = pubsub_emulator.create_subscription(f"tail-{project}", topic)
    env_host = os.environ["PUBSUB_EMULATOR_HOST"]

    done = run_operator(emulator, project, jobs, state, "--until-settled", "--deadline", "60",
                        "--events", f"pubsub:{topic}", env={"PUBSUB_EMULATOR_HOST": env_host})

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    # 9 phase changes, plus each job's diagnosis of its curves (diagnosed.v1), on one topic.
    everything = pubsub_emulator.receive(subscription, count=100, timeout=15)
    received = [r for r in everything
                if r.attributes["ce-type"] == "tuning-operator.job.phase-changed.v1"]
    assert len(received) == 9
    diagnosed = {r.attributes["ce-subject"] for r in everything
                 if r.attributes["ce-type"] == "tuning-operator.job.diagnosed.v1"}
    assert diagnosed == {f"job-{i}" for i in range(3)}
    for i in range(3):
        mine = [r for r in received if r.attributes["ce-subject"] == f"job-{i}"]
        assert [r.event.phase.value for r in mine] == ["Submitted", "Running", "Succeeded"]
        first = mine[0]
        assert first.attributes["ce-specversion"] == "1.0"
        assert first.attributes["ce-type"] == "tuning-operator.job.phase-changed.v1"
        assert first.attributes["content-type"] == "application/json"
        assert first.event.git_author == "Grace Hopper <grace@example.com>"
        assert first.event.vertex_job and first.event.vertex_job.startswith(
            f"projects/{project}/locations/us-central1/tuningJobs/")
        assert mine[-1].event.tuned_model
