"""Evaluation during tuning through the operator and the emulator, over the wire.

One operator run (`--artifacts` on fake-gcs-server) settles two jobs: `during-bot` asks Vertex
to evaluate each checkpoint while it tunes (an overfit curve; the run of checkpoint 1 is
scripted to fail), `plain-bot` does not. The emulator must have received the first's
`evaluation_config` (the metrics, the output under the artifacts prefix) and nothing for the
second; `status` must then show each checkpoint's figures, or its error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.cloud import aiplatform_v1
from google.protobuf import json_format

from tests.e2e.conftest import REGION
from tests.e2e.test_aftercare_e2e import job_file, settle, status
from tests.support.emulator_process import EmulatorProcess
from tuning_operator.emulator.timeline import JobRecord
from tuning_operator.emulator.tuning_evaluation import scores
from tuning_operator.specs import labels as owner
from tuning_operator.vertex.clients import emulator_factory

pytestmark = pytest.mark.timeout(300)
EVALUATION = ("  validationDataset: gs://datasets/team/val.jsonl\n"
              "  hyperParameters: {epochCount: 3}\n"
              "  evaluation:\n    dataset: evals/tickets.jsonl\n"
              "    metrics: [exactMatch, rougeL]\n    baseline: false\n")


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(job_seconds=2, cancel_seconds=0.3) as process:
        yield process


def received(emulator: EmulatorProcess, project: str) -> dict[str, aiplatform_v1.TuningJob]:
    """The jobs as the emulator holds them, by job name, through the real client."""
    client = emulator_factory(emulator.grpc_endpoint)(REGION)
    try:
        listed = client.list_tuning_jobs(parent=f"projects/{project}/locations/{REGION}")
        return {job.labels[owner.JOB]: job for job in listed}
    finally:
        client.transport.close()


def expected_exact_match(job: aiplatform_v1.TuningJob, step: int) -> float:
    """What the emulator computes for this job at `step` (its unit tests pin the formula)."""
    record = JobRecord(seq=1, name=job.name, labels=dict(job.labels), created_at=0.0,
                       duration=1.0,
                       submitted=json_format.MessageToDict(aiplatform_v1.TuningJob.pb(job)))
    return round(scores(record, step), 4)


def test_the_config_reaches_vertex_and_each_checkpoint_reaches_status(
        emulator: EmulatorProcess, project: str, gcs_bucket: Any, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """duringTuning sends evaluation_config (the file's metrics, the output under
    --artifacts); once the job succeeded, `status` shows every checkpoint's averages under
    `evaluation.duringTuning`, the failed run with its error; a job without it sends none."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    evals = jobs / "team" / "evals"
    evals.mkdir(parents=True)
    (evals / "tickets.jsonl").write_text(json.dumps({"contents": [
        {"role": "user", "parts": [{"text": "q"}]},
        {"role": "model", "parts": [{"text": "a"}]}]}) + "\n")
    job_file(jobs, "during-bot", labels="emulator-curve: overfit, emulator-eval-error: '1'",
             spec=EVALUATION + "    duringTuning: true\n")
    job_file(jobs, "plain-bot", spec=EVALUATION)
    artifacts = f"gs://{gcs_bucket.name}/ops"
    settle(emulator, project, jobs, state, "--artifacts", artifacts, "--check-datasets", "off")

    sent = received(emulator, project)
    config = sent["during-bot"].supervised_tuning_spec.evaluation_config
    assert config.output_config.gcs_destination.output_uri_prefix == (
        f"{artifacts}/evaluations/during-bot/during-tuning/")
    assert [aiplatform_v1.Metric.pb(m).WhichOneof("metric_spec") for m in config.metrics] == [
        "exact_match_spec", "rouge_spec"]
    assert "evaluation_config" not in sent["plain-bot"].supervised_tuning_spec

    shown = status(state, capsys)
    during = shown["during-bot"]["evaluation"]["duringTuning"]  # type: ignore[index]
    assert list(during) == ["1", "2", "3"]
    assert "scripted" in during["1"]["error"] and during["1"]["metrics"] == {}
    steps = {c.checkpoint_id: int(c.step) for c in sent["during-bot"].tuned_model.checkpoints}
    for checkpoint in ("2", "3"):
        figures = during[checkpoint]["metrics"]
        exact = expected_exact_match(sent["during-bot"], steps[checkpoint])
        assert figures["exactMatch"] == pytest.approx(exact, abs=1e-4)
        assert figures["rougeL"] == pytest.approx(min(0.99, round(exact * 1.05, 4)), abs=2e-4)
    # Overfit: the validation loss rises at the end, and so Vertex's figures fall.
    assert during["2"]["metrics"]["exactMatch"] > during["3"]["metrics"]["exactMatch"]
    # The operator's own evaluation ran beside it, as without duringTuning.
    assert shown["during-bot"]["evaluation"]["verdict"] in ("passed", "failed")  # type: ignore[index]
    assert "duringTuning" not in (shown["plain-bot"]["evaluation"] or {})  # type: ignore[operator]
