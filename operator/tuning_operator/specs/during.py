"""`evaluation.duringTuning`: what of a job's evaluation is sent to Vertex with the create, and
why a job file or a create cannot have it.

Vertex can evaluate every checkpoint while it tunes (`SupervisedTuningSpec.evaluation_config`,
results in `TuningJob.evaluate_dataset_runs`; preview, us-central1 only) with metrics it
computes itself. Of the operator's metrics, the string metrics map onto Vertex's own exact
match, BLEU and ROUGE-L; the model-based ones are not sent, because Vertex's aggregated results
name no metric (one pointwise result could not be told from another): they are judged after
tuning, as without `duringTuning`. Vertex requires an output location, so a create needs the
operator's `--artifacts`; the planner refuses it otherwise. This module imports no cloud
library (`validate` and `plan` use it); `vertex/` builds the messages from these names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tuning_operator.specs.evaluation import EvaluationSpec
    from tuning_operator.specs.model import Spec
    from tuning_operator.specs.summary import Evaluated

REGIONS = ("us-central1",)  # where Vertex offers evaluation during tuning (preview)
# The operator's string metric → the `Metric` oneof field Vertex computes it with.
VERTEX_METRICS = {"exactMatch": "exact_match_spec", "bleu": "bleu_spec", "rougeL": "rouge_spec"}
OUTPUT_FOLDER = "during-tuning"  # under `<artifacts>/evaluations/<job>/`


def asked(evaluation: EvaluationSpec | None) -> bool:
    return evaluation is not None and evaluation.during_tuning


def sent_metrics(evaluation: EvaluationSpec) -> tuple[str, ...]:
    """The metrics sent to Vertex, in the file's order (the string metrics Vertex computes)."""
    return tuple(m for m in evaluation.metrics if m in VERTEX_METRICS)


def hashed(evaluation: EvaluationSpec | None) -> dict[str, object] | None:
    """What of the evaluation enters the spec hash: nothing unless `duringTuning` is true."""
    if evaluation is None or not evaluation.during_tuning:
        return None
    return {"during_tuning": True, "metrics": list(sent_metrics(evaluation))}


def spec_problem(spec: Spec) -> str | None:
    """Why this file cannot ask for evaluation during tuning (with the fix), or None."""
    evaluation = spec.evaluation
    if evaluation is None or not evaluation.during_tuning:
        return None
    unmapped = [m for m in evaluation.metrics if m not in VERTEX_METRICS]
    if unmapped:
        return (f"`evaluation.duringTuning`: Vertex cannot compute {', '.join(unmapped)} during"
                f" tuning (it computes {', '.join(VERTEX_METRICS)}); remove them from"
                " `evaluation.metrics` or set `duringTuning: false`")
    if spec.validation_dataset is None:
        return ("`evaluation.duringTuning`: Vertex evaluates each checkpoint on the job's"
                " validation set; add `validationDataset` or set `duringTuning: false`")
    if spec.region is not None and spec.region not in REGIONS:
        return region_problem(spec.region)
    return None


def region_problem(region: str) -> str:
    return (f"`evaluation.duringTuning`: Vertex evaluates during tuning only in"
            f" {', '.join(REGIONS)} (preview), not in {region}; tune there or set"
            " `duringTuning: false`")


def create_problem(job: Evaluated, *, region: str, artifacts: str | None) -> str | None:
    """Why the create of `job` in `region` cannot send its evaluation config, or None: the
    region (a file naming none runs in the operator's default) and the output location."""
    if not asked(job.spec.evaluation):
        return None
    if region not in REGIONS:
        return region_problem(region)
    if not artifacts:
        return ("`evaluation.duringTuning` needs the operator's --artifacts gs://BUCKET/PREFIX:"
                " Vertex writes the evaluation of each checkpoint there (its output location is"
                " required); run the operator (and `plan`) with --artifacts, or set"
                " `duringTuning: false`")
    return None


def output_uri(artifacts: str, job: str) -> str:
    """`<artifacts>/evaluations/<job>/during-tuning/`: where Vertex writes a job's results,
    beside the operator's own answers of that job."""
    return f"{artifacts.rstrip('/')}/evaluations/{job}/{OUTPUT_FOLDER}/"
