"""Evaluation during tuning on the wire: the `evaluation_config` a create sends, and what
Vertex's `evaluate_dataset_runs` say of each checkpoint.

Which metrics are sent, and why only those, is `specs.during`'s decision; this module only
spells it in aiplatform_v1 messages. Each metric asks for its AVERAGE over the validation set,
the one figure the operator records per checkpoint. A result is told apart by the kind of
value Vertex returns (an exact match, a BLEU, a ROUGE value), since an aggregation result
names no metric. This module makes no calls.
"""

from __future__ import annotations

from google.cloud import aiplatform_v1

from tuning_operator.planning.model import TuningEvaluationRun
from tuning_operator.specs import during
from tuning_operator.specs.evaluation import EvaluationSpec

_AVERAGE = "AVERAGE"
# The oneof field of an AggregationResult → the operator's metric name.
_RESULT_METRICS = {"exact_match_metric_value": "exactMatch", "bleu_metric_value": "bleu",
                   "rouge_metric_value": "rougeL"}


def _metric(name: str) -> aiplatform_v1.Metric:
    average = aiplatform_v1.Metric.AggregationMetric.AVERAGE
    field = during.VERTEX_METRICS[name]
    spec = {"exact_match_spec": aiplatform_v1.ExactMatchSpec(),
            "bleu_spec": aiplatform_v1.BleuSpec(),
            "rouge_spec": aiplatform_v1.RougeSpec(rouge_type="rougeL")}[field]
    return aiplatform_v1.Metric(aggregation_metrics=[average], **{field: spec})


def evaluation_config(evaluation: EvaluationSpec, *,
                      output_uri: str) -> aiplatform_v1.EvaluationConfig:
    """`supervised_tuning_spec.evaluation_config`: the metrics Vertex computes per checkpoint
    and where it writes them (both required by Vertex)."""
    return aiplatform_v1.EvaluationConfig(
        metrics=[_metric(name) for name in during.sent_metrics(evaluation)],
        output_config=aiplatform_v1.OutputConfig(
            gcs_destination=aiplatform_v1.GcsDestination(output_uri_prefix=output_uri)))


def evaluation_runs(message: aiplatform_v1.TuningJob) -> tuple[TuningEvaluationRun, ...]:
    """Each of the job's `evaluate_dataset_runs`: its checkpoint, the average of each metric
    recognised, and its error (a run without results yet has neither)."""
    return tuple(_run(run) for run in message.evaluate_dataset_runs)


def _run(run: aiplatform_v1.EvaluateDatasetRun) -> TuningEvaluationRun:
    metrics: dict[str, float] = {}
    response = run.evaluate_dataset_response
    for result in response.aggregation_output.aggregation_results:
        kind = aiplatform_v1.AggregationResult.pb(result).WhichOneof("aggregation_result")
        name = _RESULT_METRICS.get(kind or "")
        aggregation = getattr(result.aggregation_metric, "name", "")
        if name is None or aggregation not in (_AVERAGE, "AGGREGATION_METRIC_UNSPECIFIED"):
            continue
        value = getattr(result, kind or "")
        if "score" in value:
            metrics[name] = round(float(value.score), 4)
    error = None
    if "error" in run and run.error.code:
        error = f"code {run.error.code}: {run.error.message}"
    return TuningEvaluationRun(checkpoint_id=run.checkpoint_id or None, metrics=metrics,
                               error=error)
