"""Job files ↔ Vertex messages: what a create sends and what a List answer means.

Enums are mapped by *name*, never by number: `AdapterSize` numbers are out of order (FOUR=2,
TWO=6) and a job state the installed client does not know must not become a wrong one.
`hyperParameters: {preset: recommended}` and an absent block send no hyperparameters at all,
so Vertex applies its defaults (the dataset pre-flight will resolve the preset into values).
This module makes no calls.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime

from google.cloud import aiplatform_v1

from tuning_operator.errors import PermanentError
from tuning_operator.judging.curves import Checkpoint
from tuning_operator.planning.model import TERMINAL_STATES, DataStats, ObservedJob
from tuning_operator.specs import during
from tuning_operator.specs import labels as owner
from tuning_operator.specs.model import HyperParameters, TuningJob
from tuning_operator.vertex.tuning_evaluation import evaluation_config, evaluation_runs

ADAPTER_SIZE_NAMES = {
    1: "ADAPTER_SIZE_ONE",
    2: "ADAPTER_SIZE_TWO",
    4: "ADAPTER_SIZE_FOUR",
    8: "ADAPTER_SIZE_EIGHT",
    16: "ADAPTER_SIZE_SIXTEEN",
    32: "ADAPTER_SIZE_THIRTY_TWO",
}
UNKNOWN_STATE = "JOB_STATE_UNSPECIFIED"
_JOB_NAME = re.compile(r"^projects/[^/]+/locations/(?P<region>[^/]+)/tuningJobs/[^/]+$")


def non_terminal_states() -> list[str]:
    """Every JobState name the installed client knows that still holds a quota slot."""
    return sorted(
        name
        for name in aiplatform_v1.JobState.__members__
        if name not in TERMINAL_STATES and name != UNKNOWN_STATE
    )


def managed_or_active_filter() -> str:
    """One List filter for both needs of a cycle: the operator's jobs, and every active job.

    Vertex documents ListTuningJobs' filter only as "the standard list filter"; OR and `state`
    are documented for Vertex's other job lists, not for this one. The split of the answer is
    done client-side and does not depend on the filter, so an empty filter stays correct.
    """
    managed = f'labels.{owner.MANAGED_BY} = "{owner.MANAGED_BY_VALUE}"'
    active = [f'state = "{state}"' for state in non_terminal_states()]
    return " OR ".join([managed, *active])


def region_of(name: str) -> str:
    """The region of a tuning job's resource name; PermanentError when malformed."""
    match = _JOB_NAME.fullmatch(name)
    if match is None:
        raise PermanentError(
            f"{name!r} is not a tuning job name"
            " (projects/{project}/locations/{region}/tuningJobs/{id})"
        )
    return match["region"]


def vertex_job(job: TuningJob, *, team: str, hyper_parameters: HyperParameters | None = None,
               pre_tuned_model: tuple[str, str | None] | None = None,
               evaluation_output: str | None = None) -> aiplatform_v1.TuningJob:
    """The TuningJob message a create sends for this job file, ownership labels included.

    `hyper_parameters` replaces the file's (a resolved `preset: recommended`); the spec hash
    label stays that of the file, so the job is still recognised as this file's.
    `pre_tuned_model` = (tuned model name, checkpoint id or None): what `preTunedModel: {job:
    OTHER}` resolved to (the planner resolves it once OTHER succeeded); a `tunedModel` written
    in the file is sent as written when it is not given. `evaluation_output`: where Vertex
    writes the evaluation during tuning (`specs.during.output_uri`), for a job that asks for one.
    """
    problems = owner.label_problems(job.metadata.labels)
    if problems:
        raise PermanentError(f"job {job.name}: " + "; ".join(problems))
    spec = job.spec
    tuning = aiplatform_v1.SupervisedTuningSpec(training_dataset_uri=spec.training_dataset)
    if spec.validation_dataset:
        tuning.validation_dataset_uri = spec.validation_dataset
    chosen = hyper_parameters or spec.hyper_parameters
    if chosen is not None and chosen.preset is None:
        hyper = aiplatform_v1.SupervisedHyperParameters()
        if chosen.epoch_count is not None:
            hyper.epoch_count = chosen.epoch_count
        if chosen.learning_rate_multiplier is not None:
            hyper.learning_rate_multiplier = chosen.learning_rate_multiplier
        if chosen.adapter_size is not None:
            sizes = aiplatform_v1.SupervisedHyperParameters.AdapterSize
            hyper.adapter_size = getattr(sizes, ADAPTER_SIZE_NAMES[chosen.adapter_size])
        tuning.hyper_parameters = hyper
    if spec.export_last_checkpoint_only is not None:
        tuning.export_last_checkpoint_only = spec.export_last_checkpoint_only
    if spec.evaluation is not None and during.asked(spec.evaluation):
        if not evaluation_output:  # the planner refuses the create first
            raise PermanentError(f"job {job.name}: evaluation.duringTuning needs an output"
                                 " location (--artifacts)")
        tuning.evaluation_config = evaluation_config(spec.evaluation,
                                                     output_uri=evaluation_output)
    message = aiplatform_v1.TuningJob(
        supervised_tuning_spec=tuning,
        tuned_model_display_name=spec.tuned_model_display_name or job.name,
        labels={
            **job.metadata.labels,
            **owner.ownership_labels(job=job.name, spec_hash=job.spec_hash(), team=team),
        },
    )
    _starting_model(message, job, pre_tuned_model)
    if spec.description:
        message.description = spec.description
    if spec.service_account:
        message.service_account = spec.service_account
    if spec.encryption_key:
        message.encryption_spec = aiplatform_v1.EncryptionSpec(kms_key_name=spec.encryption_key)
    return message


def _starting_model(message: aiplatform_v1.TuningJob, job: TuningJob,
                    resolved: tuple[str, str | None] | None) -> None:
    """base_model, or pre_tuned_model {tuned_model_name, checkpoint_id} (a oneof in the API)."""
    spec = job.spec
    if spec.base_model is not None:
        message.base_model = spec.base_model
        return
    written = spec.pre_tuned_model
    if resolved is None and written is not None and written.tuned_model is not None:
        resolved = (written.tuned_model, written.checkpoint_id)
    if resolved is None:
        upstream = written.job if written is not None else None
        raise PermanentError(f"job {job.name} continues job {upstream}: its tuned model must be"
                             " resolved (pre_tuned_model) before the create")
    model, checkpoint = resolved
    message.pre_tuned_model = aiplatform_v1.PreTunedModel(tuned_model_name=model)
    if checkpoint:
        message.pre_tuned_model.checkpoint_id = checkpoint


def data_stats(message: aiplatform_v1.TuningJob) -> DataStats | None:
    """Vertex's supervised tuning data stats of a job; None until it has read the dataset."""
    if "tuning_data_stats" not in message:
        return None
    stats = message.tuning_data_stats
    if "supervised_tuning_data_stats" not in stats:
        return None
    sft = stats.supervised_tuning_data_stats
    return DataStats(examples=int(sft.tuning_dataset_example_count),
                     billable_tokens=int(sft.total_billable_token_count),
                     truncated_examples=int(sft.total_truncated_example_count))


def state_name(state: object) -> str:
    """The JobState name of a state field; a number this client does not know → UNSPECIFIED."""
    name = getattr(state, "name", None)
    return name if isinstance(name, str) and name.startswith("JOB_STATE_") else UNKNOWN_STATE


def _time(value: datetime | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value.timestamp(), tz=value.tzinfo)


def checkpoints_of(message: aiplatform_v1.TuningJob) -> tuple[Checkpoint, ...]:
    """`tuned_model.checkpoints` (one per epoch unless only the last is exported), by step."""
    if "tuned_model" not in message:
        return ()
    found = (
        Checkpoint(
            checkpoint_id=c.checkpoint_id,
            epoch=int(c.epoch),
            step=int(c.step),
            endpoint=c.endpoint or None,
        )
        for c in message.tuned_model.checkpoints
    )
    return tuple(sorted(found, key=lambda c: (c.step, c.epoch)))


_OWN_VALUES = frozenset({owner.JOB, owner.SPEC})  # label values no other job shares


def observed_job(message: aiplatform_v1.TuningJob) -> ObservedJob:
    """What the planner needs of one Vertex tuning job."""
    has_model = "tuned_model" in message
    error = None
    if "error" in message and message.error.code:
        error = f"code {message.error.code}: {message.error.message}"
    return ObservedJob(
        name=message.name,
        state=state_name(message.state),
        # Keys and most values repeat across every job: one copy each (issue 17, P5). The job
        # name and spec hash are one job's own: interned, they would only grow the table.
        labels={sys.intern(k): v if k in _OWN_VALUES else sys.intern(v)
                for k, v in message.labels.items()},
        create_time=_time(message.create_time),
        tuned_model=(message.tuned_model.model or None) if has_model else None,
        tuned_endpoint=(message.tuned_model.endpoint or None) if has_model else None,
        error=error,
        experiment=message.experiment or None,
        checkpoints=checkpoints_of(message),
        data_stats=data_stats(message),
        base_model=root_base_model(message),
        continued_from=continued_from(message),
        evaluation_runs=evaluation_runs(message),
    )


def continued_from(message: aiplatform_v1.TuningJob) -> tuple[str, str | None] | None:
    """The (tuned model, checkpoint id) a continuation was sent with; None for a base model."""
    if "pre_tuned_model" not in message or not message.pre_tuned_model.tuned_model_name:
        return None
    sent = message.pre_tuned_model
    return sent.tuned_model_name, sent.checkpoint_id or None


def root_base_model(message: aiplatform_v1.TuningJob) -> str | None:
    """The base model a job tunes in the end: `base_model`, or for a continuation the
    output-only `pre_tuned_model.base_model` Vertex fills in (the chain's root)."""
    if message.base_model:
        return sys.intern(message.base_model)
    if "pre_tuned_model" in message and message.pre_tuned_model.base_model:
        return sys.intern(message.pre_tuned_model.base_model)
    return None
