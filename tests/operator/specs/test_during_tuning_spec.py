"""`evaluation.duringTuning`: its shape, its rules, and the spec hash it enters only when true."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tuning_operator.specs import during, load_jobs_dir
from tuning_operator.specs.evaluation import METRICS
from tuning_operator.specs.model import TuningJob

BASE: dict[str, Any] = {
    "apiVersion": "tuning-operator/v1", "kind": "TuningJob", "metadata": {"name": "bot-v1"},
    "spec": {"baseModel": "gemini-2.5-flash",
             "trainingDataset": "gs://datasets/team/train.jsonl",
             "validationDataset": "gs://datasets/team/val.jsonl",
             "evaluation": {"dataset": "gs://datasets/team/evals.jsonl"}},
}


def job(*, evaluation: dict[str, Any] | None = None, **spec: Any) -> TuningJob:
    document = {**BASE, "spec": {**BASE["spec"], **spec}}
    if evaluation is not None:
        document["spec"]["evaluation"] = {**BASE["spec"]["evaluation"], **evaluation}
    return TuningJob.model_validate(document)


def test_duringtuning_defaults_to_false() -> None:
    """An evaluation without `duringTuning` does not ask Vertex to evaluate while tuning."""
    assert job().spec.evaluation is not None
    assert job().spec.evaluation.during_tuning is False  # type: ignore[union-attr]


def test_false_or_absent_leaves_the_spec_hash_unchanged() -> None:
    """`duringTuning: false` and no evaluation at all hash like today's file."""
    plain = job()
    assert job(evaluation={"duringTuning": False}).spec_hash() == plain.spec_hash()
    without = TuningJob.model_validate({**BASE, "spec": {
        k: v for k, v in BASE["spec"].items() if k != "evaluation"}})
    assert without.spec_hash() == plain.spec_hash()


def test_true_enters_the_spec_hash_with_the_metrics_it_sends() -> None:
    """`duringTuning: true` is sent to Vertex: it changes the hash, and so do its metrics."""
    plain = job()
    asked = job(evaluation={"duringTuning": True})
    assert asked.spec_hash() != plain.spec_hash()
    assert asked.legacy_spec_hash() is None  # the first release never sent it
    fewer = job(evaluation={"duringTuning": True, "metrics": ["exactMatch"]})
    assert fewer.spec_hash() != asked.spec_hash()
    # The operator-only parts of the evaluation still do not count.
    assert job(evaluation={"duringTuning": True, "maxExamples": 5}).spec_hash() == (
        asked.spec_hash())


def test_every_string_metric_maps_onto_a_vertex_metric() -> None:
    """Each metric the operator computes has a Vertex counterpart (a new one needs a decision)."""
    assert set(METRICS) <= set(during.VERTEX_METRICS)
    assert during.sent_metrics(job(evaluation={"duringTuning": True}).spec.evaluation) == (
        METRICS)  # type: ignore[arg-type]


@pytest.mark.parametrize(("spec", "message"), [
    ({"validationDataset": None}, "add `validationDataset`"),
    ({"region": "europe-west4"}, "only in us-central1"),
])
def test_files_vertex_could_not_evaluate_are_refused(spec: dict[str, Any], message: str) -> None:
    """No validation set, or a region without evaluation during tuning: refused with the fix."""
    document = {**BASE, "spec": {**BASE["spec"], **spec,
                                 "evaluation": {**BASE["spec"]["evaluation"],
                                                "duringTuning": True}}}
    document["spec"] = {k: v for k, v in document["spec"].items() if v is not None}
    with pytest.raises(ValueError, match=message):
        TuningJob.model_validate(document)


def test_validate_names_the_file_and_the_fix(tmp_path: Path) -> None:
    """`validate` reports the rule at the job file, with what to change."""
    path = tmp_path / "team" / "bot-v1.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(
        "apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata: {name: bot-v1}\nspec:\n"
        "  baseModel: gemini-2.5-flash\n  trainingDataset: gs://datasets/team/train.jsonl\n"
        "  evaluation:\n    dataset: gs://datasets/team/evals.jsonl\n    duringTuning: true\n")
    load = load_jobs_dir(tmp_path)
    assert not load.jobs
    (error,) = load.errors
    assert error.file.endswith("bot-v1.yaml")
    assert "duringTuning" in error.message and "validationDataset" in error.message


@pytest.mark.parametrize(("region", "artifacts", "expected"), [
    ("us-central1", "gs://bucket/ops", None),
    ("us-central1", None, "needs the operator's --artifacts"),
    ("europe-west4", "gs://bucket/ops", "only in us-central1"),
])
def test_a_create_needs_the_region_and_an_output_location(
        region: str, artifacts: str | None, expected: str | None) -> None:
    """The planner's rule: the region the job runs in, and --artifacts for Vertex's output."""
    problem = during.create_problem(job(evaluation={"duringTuning": True}), region=region,
                                    artifacts=artifacts)
    assert (problem is None) if expected is None else (expected in (problem or ""))
    assert during.create_problem(job(), region="europe-west4", artifacts=None) is None


def test_the_output_lies_beside_the_jobs_answers() -> None:
    """Vertex writes under `<artifacts>/evaluations/<job>/during-tuning/`."""
    assert during.output_uri("gs://bucket/ops/", "bot-v1") == (
        "gs://bucket/ops/evaluations/bot-v1/during-tuning/")
    assert during.output_uri("gs://bucket", "bot-v1") == (
        "gs://bucket/evaluations/bot-v1/during-tuning/")
