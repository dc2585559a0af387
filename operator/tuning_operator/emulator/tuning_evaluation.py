"""Evaluation during tuning, emulated: the `evaluation_config` check of a create, and the
`evaluate_dataset_runs` a job that asked for one reports once it has succeeded.

The check is what Vertex's API marks required (metrics, each with a metric spec, and an output
location in Cloud Storage) and where the preview runs (us-central1). The results are one run
per checkpoint, derived from the job alone like its curves (`experiments`): each metric's
AVERAGE follows the validation loss at the checkpoint's step, without noise, so an `overfit`
job's last checkpoint scores below its middle one and a test can compute every figure
(`scores`). The label `emulator-eval-error=<checkpoint id>` makes that checkpoint's run end in
an error instead. Nothing is written to Cloud Storage; this module stores nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.cloud import aiplatform_v1
from google.rpc import status_pb2

from tuning_operator.emulator import experiments
from tuning_operator.emulator.status import invalid_argument
from tuning_operator.emulator.timeline import JobRecord
from tuning_operator.specs import during

ERROR_LABEL = "emulator-eval-error"  # a checkpoint id: its evaluation run fails
FAILED_CODE = 13  # google.rpc.Code.INTERNAL
# The Metric oneof field → (the AggregationResult field of its value, its type, its scale of the
# exact match average).
_RESULTS: dict[str, tuple[str, Any, float]] = {
    "exact_match_spec": ("exact_match_metric_value", aiplatform_v1.ExactMatchMetricValue, 1.0),
    "bleu_spec": ("bleu_metric_value", aiplatform_v1.BleuMetricValue, 0.8),
    "rouge_spec": ("rouge_metric_value", aiplatform_v1.RougeMetricValue, 1.05)}


def check_evaluation_config(spec: aiplatform_v1.SupervisedTuningSpec, *,
                            region: str | None) -> None:
    """INVALID_ARGUMENT for an `evaluation_config` Vertex would refuse; nothing without one."""
    if "evaluation_config" not in spec:
        return
    if region is not None and region not in during.REGIONS:
        raise invalid_argument(f"Evaluation during tuning is not supported in {region}:"
                               f" supported regions are {', '.join(during.REGIONS)}.")
    config = spec.evaluation_config
    if not config.metrics:
        raise invalid_argument("evaluation_config.metrics is required.")
    for index, metric in enumerate(config.metrics):
        if aiplatform_v1.Metric.pb(metric).WhichOneof("metric_spec") is None:
            raise invalid_argument(f"evaluation_config.metrics[{index}] has no metric spec.")
    prefix = config.output_config.gcs_destination.output_uri_prefix
    if not prefix.startswith("gs://") or len(prefix) <= len("gs://"):
        raise invalid_argument("evaluation_config.output_config.gcs_destination"
                               ".output_uri_prefix is required (a gs:// URI).")


def asked(record: JobRecord) -> bool:
    spec = record.submitted.get("supervisedTuningSpec")
    return isinstance(spec, Mapping) and "evaluationConfig" in spec


def scores(record: JobRecord, step: int) -> float:
    """The exact match average at `step`: 1.1 - 0.4 × the validation loss, within [0.01, 0.99]
    (BLEU is 0.8 of it, ROUGE-L 1.05, capped alike)."""
    plan = experiments.RunPlan.of(record)
    _, evals = experiments.SHAPES[plan.curve]
    loss = evals((step - 1) / max(1, plan.total_steps - 1))
    return min(0.99, max(0.01, 1.1 - 0.4 * loss))


def evaluate_dataset_runs(record: JobRecord) -> list[aiplatform_v1.EvaluateDatasetRun]:
    """One run per checkpoint of a succeeded job that asked (none otherwise)."""
    if not asked(record):
        return []
    config: Any = record.submitted["supervisedTuningSpec"]["evaluationConfig"]
    prefix = str(config.get("outputConfig", {}).get("gcsDestination", {})
                 .get("outputUriPrefix", ""))
    kinds = [next((k for k in _RESULTS if _camel(k) in m), None)
             for m in config.get("metrics", [])]
    runs = []
    for checkpoint in experiments.checkpoints(record):
        run = aiplatform_v1.EvaluateDatasetRun(
            checkpoint_id=checkpoint.checkpoint_id,
            evaluation_run=f"{record.parent}/evaluationRuns/{record.job_id}"
                           f"{int(checkpoint.epoch):03d}")
        if record.labels.get(ERROR_LABEL) == checkpoint.checkpoint_id:
            run.error = status_pb2.Status(
                code=FAILED_CODE, message=f"evaluation of checkpoint {checkpoint.checkpoint_id}"
                f" failed (scripted by the label {ERROR_LABEL})")
        else:
            run.evaluate_dataset_response = _response(
                kinds, scores(record, int(checkpoint.step)),
                f"{prefix.rstrip('/')}/checkpoint-{checkpoint.checkpoint_id}/")
        runs.append(run)
    return runs


def _response(kinds: list[str | None], base: float,
              directory: str) -> aiplatform_v1.EvaluateDatasetResponse:
    average = aiplatform_v1.Metric.AggregationMetric.AVERAGE
    results = []
    for kind in kinds:
        if kind is None:  # a metric this emulator does not compute: no result, as if skipped
            continue
        field, value, scale = _RESULTS[kind]
        results.append(aiplatform_v1.AggregationResult(
            aggregation_metric=average,
            **{field: value(score=round(min(0.99, base * scale), 4))}))
    return aiplatform_v1.EvaluateDatasetResponse(
        aggregation_output=aiplatform_v1.AggregationOutput(aggregation_results=results),
        output_info=aiplatform_v1.OutputInfo(gcs_output_directory=directory))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
