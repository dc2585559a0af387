"""A job with `evaluation.duringTuning`: the create names Vertex's output location under
--artifacts, is refused without it, and the record follows Vertex's runs every pass."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.operator.reconciling.test_reconciler import World
from tests.support.job_files import write_job
from tuning_operator.planning.model import TuningEvaluationRun

DURING = ("  validationDataset: gs://datasets/t/val.jsonl\n"
          "  evaluation: {dataset: gs://bucket/evals/t.jsonl, duringTuning: true}\n")


def test_the_create_sends_the_output_under_artifacts(tmp_path: Path) -> None:
    """With --artifacts, the create carries `<artifacts>/evaluations/<job>/during-tuning/`; a
    job that does not ask gets none."""
    world = World(tmp_path, artifacts="gs://bucket/ops")
    write_job(world.jobs, "a", DURING, team="t")
    write_job(world.jobs, "b", team="t")
    world.reconciler.reconcile()
    assert world.vertex.sent_evaluation_output == {
        "a": "gs://bucket/ops/evaluations/a/during-tuning/", "b": None}


def test_without_artifacts_nothing_is_created(tmp_path: Path) -> None:
    """No output location: the job is Invalid with the fix, and Vertex is never asked."""
    world = World(tmp_path)
    write_job(world.jobs, "a", DURING, team="t")
    world.reconciler.reconcile()
    assert world.vertex.calls["create"] == 0
    assert world.phase("a") == "Invalid"
    assert "--artifacts" in (world.reconciler.status.records()["a"].reason or "")


def test_the_record_follows_the_runs_vertex_reports(tmp_path: Path) -> None:
    """Each pass copies Vertex's runs into the record (and the store keeps them)."""
    world = World(tmp_path, artifacts="gs://bucket/ops")
    write_job(world.jobs, "a", DURING, team="t")
    world.reconciler.reconcile()
    [job] = world.vertex.by_job("a")
    runs = (TuningEvaluationRun("1", {"exactMatch": 0.5}),
            TuningEvaluationRun("2", {}, "code 13: failed"))
    world.vertex.jobs[job.name] = replace(job, state="JOB_STATE_SUCCEEDED", evaluation_runs=runs)
    world.reconciler.reconcile()
    assert world.reconciler.status.records()["a"].during_tuning == runs
    world.restart()
    assert world.reconciler.status.records()["a"].during_tuning == runs
