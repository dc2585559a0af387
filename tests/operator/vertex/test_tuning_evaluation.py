"""Evaluation during tuning on the wire: the config a create sends, the runs Vertex reports."""

from __future__ import annotations

from typing import Any

import pytest
from google.cloud import aiplatform_v1
from google.rpc import status_pb2

from tuning_operator.errors import PermanentError
from tuning_operator.planning.model import TuningEvaluationRun
from tuning_operator.specs.model import TuningJob
from tuning_operator.vertex.mapping import observed_job, vertex_job

OUTPUT = "gs://bucket/ops/evaluations/support-v3/during-tuning/"


def job_file(evaluation: dict[str, Any]) -> TuningJob:
    return TuningJob.model_validate({
        "apiVersion": "tuning-operator/v1", "kind": "TuningJob",
        "metadata": {"name": "support-v3"},
        "spec": {"baseModel": "gemini-2.5-flash", "trainingDataset": "gs://data/s/train.jsonl",
                 "validationDataset": "gs://data/s/val.jsonl",
                 "evaluation": {"dataset": "gs://data/s/evals.jsonl", **evaluation}}})


def test_the_create_sends_the_metrics_and_the_output_location() -> None:
    """duringTuning: one Metric per string metric (AVERAGE), the output under --artifacts."""
    sent = vertex_job(job_file({"duringTuning": True}), team="t", evaluation_output=OUTPUT)
    config = sent.supervised_tuning_spec.evaluation_config
    assert config.output_config.gcs_destination.output_uri_prefix == OUTPUT
    kinds = [aiplatform_v1.Metric.pb(m).WhichOneof("metric_spec") for m in config.metrics]
    assert kinds == ["exact_match_spec", "bleu_spec", "rouge_spec"]
    assert config.metrics[2].rouge_spec.rouge_type == "rougeL"
    assert all(list(m.aggregation_metrics) == [aiplatform_v1.Metric.AggregationMetric.AVERAGE]
               for m in config.metrics)
    # It survives the wire as Vertex would read it.
    again = aiplatform_v1.TuningJob.deserialize(aiplatform_v1.TuningJob.serialize(sent))
    assert again.supervised_tuning_spec.evaluation_config == config


def test_without_duringtuning_no_config_is_sent() -> None:
    """A job that does not ask sends no evaluation_config, output location or not."""
    sent = vertex_job(job_file({}), team="t", evaluation_output=OUTPUT)
    assert "evaluation_config" not in sent.supervised_tuning_spec


def test_a_create_without_an_output_location_is_refused() -> None:
    """Vertex requires output_config: without one the create is refused before any call."""
    with pytest.raises(PermanentError, match="--artifacts"):
        vertex_job(job_file({"duringTuning": True}), team="t")


def _result(kind: str, score: float,
            aggregation: str = "AVERAGE") -> aiplatform_v1.AggregationResult:
    value = {"exact_match_metric_value": aiplatform_v1.ExactMatchMetricValue,
             "bleu_metric_value": aiplatform_v1.BleuMetricValue,
             "rouge_metric_value": aiplatform_v1.RougeMetricValue}[kind](score=score)
    return aiplatform_v1.AggregationResult(
        aggregation_metric=getattr(aiplatform_v1.Metric.AggregationMetric, aggregation),
        **{kind: value})


def test_runs_are_read_per_checkpoint_with_their_errors() -> None:
    """Each evaluate_dataset_run: its checkpoint, each metric's average, or its error."""
    done = aiplatform_v1.EvaluateDatasetRun(
        checkpoint_id="2",
        evaluate_dataset_response=aiplatform_v1.EvaluateDatasetResponse(
            aggregation_output=aiplatform_v1.AggregationOutput(aggregation_results=[
                _result("exact_match_metric_value", 0.5),
                _result("bleu_metric_value", 0.41234567),
                _result("rouge_metric_value", 0.9, "MEDIAN"),  # not the figure recorded
                _result("rouge_metric_value", 0.7),
            ])))
    failed = aiplatform_v1.EvaluateDatasetRun(
        checkpoint_id="3", error=status_pb2.Status(code=13, message="evaluation failed"))
    message = aiplatform_v1.TuningJob(
        name="projects/p/locations/us-central1/tuningJobs/1", state="JOB_STATE_SUCCEEDED",
        evaluate_dataset_runs=[done, failed, aiplatform_v1.EvaluateDatasetRun()])
    assert observed_job(message).evaluation_runs == (
        TuningEvaluationRun("2", {"exactMatch": 0.5, "bleu": 0.4123, "rougeL": 0.7}),
        TuningEvaluationRun("3", {}, "code 13: evaluation failed"),
        TuningEvaluationRun(None),
    )


def test_a_job_without_runs_observes_none() -> None:
    """A job that asked for nothing (or has no results yet) has no runs."""
    message = aiplatform_v1.TuningJob(name="projects/p/locations/us-central1/tuningJobs/1",
                                      state="JOB_STATE_RUNNING")
    assert observed_job(message).evaluation_runs == ()
