"""The operator's dataset pre-flight against real objects: fake-gcs-server and the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from google.cloud import aiplatform_v1

from tests.e2e.conftest import REGION, jobs_by_name, run_operator, write_job
from tests.operator.cli.test_gitops_datasets import good, upload
from tests.support.emulator_process import EmulatorProcess
from tuning_operator.cli import main
from tuning_operator.datasets.local_gcs import LocalGcsServer
from tuning_operator.vertex.clients import emulator_factory


def test_bad_dataset_is_invalid_then_created_once_fixed(
    emulator: EmulatorProcess, project: str, tmp_path: Path, gcs_bucket: Any,
    fake_gcs: LocalGcsServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """The operator refuses a job whose dataset fails (Invalid, event), creates it once fixed;
    `status --check-datasets` names the object overwritten, then deleted, since."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    broken = [*good(30), {"contents": [{"role": "model", "parts": [{"text": "first"}]}]}]
    train = upload(gcs_bucket, "t/train.jsonl", broken)
    write_job(jobs, "data-job", "  hyperParameters: {preset: recommended}\n").write_text(
        (jobs / "team" / "data-job.yaml").read_text().replace(
            "gs://datasets/team/train.jsonl", train))
    env = {"STORAGE_EMULATOR_HOST": fake_gcs.url}

    first = run_operator(emulator, project, jobs, state, "--once", env=env)

    assert first.returncode == 0, first.stdout[-2000:]
    status = json.loads((state / "status.json").read_text())["jobs"]["data-job"]
    assert status["phase"] == "Invalid"
    assert "dataset pre-flight failed" in status["reason"] and f"{train}:31" in status["reason"]
    events = [json.loads(x) for x in (state / "events.jsonl").read_text().splitlines()]
    assert [e["data"]["phase"] for e in events] == ["Invalid"]
    assert jobs_by_name(emulator, project) == {}

    upload(gcs_bucket, "t/train.jsonl", good(150))  # a new generation of the same object
    second = run_operator(emulator, project, jobs, state, "--once", env=env)

    assert second.returncode == 0
    assert jobs_by_name(emulator, project) == {"data-job": 1}
    client = emulator_factory(emulator.grpc_endpoint)(REGION)
    [created] = client.list_tuning_jobs(parent=f"projects/{project}/locations/{REGION}")
    sizes = aiplatform_v1.SupervisedHyperParameters.AdapterSize
    assert created.supervised_tuning_spec.hyper_parameters.adapter_size == sizes.ADAPTER_SIZE_FOUR
    # What it trains on: the object's generation as the pre-flight read it, kept and told.
    generation = str(gcs_bucket.get_blob("t/train.jsonl").generation)
    status = json.loads((state / "status.json").read_text())["jobs"]["data-job"]
    assert status["preflight"]["generations"] == {train: generation}
    assert f"trains on {train} generation {generation}" in status["reason"]
    lines = (state / "events.jsonl").read_text().splitlines()
    [submitted] = [e for e in map(json.loads, lines) if e["data"]["phase"] == "Submitted"]
    assert submitted["data"]["datasetGenerations"] == {train: generation}

    upload(gcs_bucket, "t/train.jsonl", good(40))  # overwritten after the job trained on it
    now = str(gcs_bucket.get_blob("t/train.jsonl").generation)
    assert main(["status", "--state-dir", str(state), "--check-datasets"]) == 0
    told = capsys.readouterr().out
    assert f"data-job: trained on {train} generation {generation}, now {now}" in told
    assert main(["status", "--state-dir", str(state), "--check-datasets", "--format", "json"]) == 0
    [shown] = json.loads(capsys.readouterr().out)["jobs"]
    assert shown["datasetsChanged"] == {train: {"trainedOn": generation, "now": now}}
    gcs_bucket.blob("t/train.jsonl").delete()
    assert main(["status", "--state-dir", str(state), "--check-datasets"]) == 0
    assert f"generation {generation}, now unreadable (" in capsys.readouterr().out
