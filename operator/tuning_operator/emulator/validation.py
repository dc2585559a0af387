"""What the emulated Vertex rejects with INVALID_ARGUMENT: malformed names and bad creates.

The rules come from the same places the operator's own validator reads — the model catalog
(base models, retired models, adapter sizes), the job model's gs:// JSONL pattern and the
Vertex label rules — so the emulator cannot drift from them. It checks what Vertex checks, not
the operator's extra policy: the ownership labels the operator reserves are ordinary labels
here. A retired model refuses new jobs only; jobs that exist on it (a state file) are still
served.
This module never stores anything and never decides about quota.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from google.cloud import aiplatform_v1

from tuning_operator.emulator.status import ApiError, invalid_argument
from tuning_operator.emulator.tuning_evaluation import check_evaluation_config
from tuning_operator.specs import labels as vertex_labels
from tuning_operator.specs.catalog import BaseModel, Catalog
from tuning_operator.specs.model import GCS_JSONL, TUNED_MODEL
from tuning_operator.specs.rules import RULE_CMEK, RULE_REGIONS

_PARENT = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)$")
_NAME = re.compile(
    r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/tuningJobs/(?P<id>[^/]+)$"
)
_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_GCS_JSONL = re.compile(GCS_JSONL)
_TUNED_MODEL = re.compile(TUNED_MODEL)
_PUBLISHER_PREFIX = "publishers/google/models/"
_MAX_DISPLAY_NAME = 128

ADAPTER_SIZE_BY_NAME = {
    "ADAPTER_SIZE_ONE": 1,
    "ADAPTER_SIZE_TWO": 2,
    "ADAPTER_SIZE_FOUR": 4,
    "ADAPTER_SIZE_EIGHT": 8,
    "ADAPTER_SIZE_SIXTEEN": 16,
    "ADAPTER_SIZE_THIRTY_TWO": 32,
}


@dataclass(frozen=True)
class Location:
    """The project and region a parent or a job name points at."""

    project: str
    region: str

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.region}"


def parse_parent(parent: str) -> Location:
    """`projects/{p}/locations/{l}` → Location, else INVALID_ARGUMENT."""
    match = _PARENT.fullmatch(parent)
    if match is None:
        raise invalid_argument(
            f"Invalid parent {parent!r}: expected projects/{{project}}/locations/{{location}}."
        )
    return _location(match.group("project"), match.group("location"))


def parse_job_name(name: str) -> Location:
    """`projects/{p}/locations/{l}/tuningJobs/{numeric id}` → Location, else INVALID_ARGUMENT."""
    match = _NAME.fullmatch(name)
    if match is None or not match.group("id").isdigit():
        raise invalid_argument(
            f"Invalid resource name {name!r}: expected"
            " projects/{project}/locations/{location}/tuningJobs/{numeric id}."
        )
    return _location(match.group("project"), match.group("location"))


def _location(project: str, region: str) -> Location:
    if not _REGION.fullmatch(region):
        raise invalid_argument(f"Location {region!r} is not a Vertex AI region (e.g. us-central1).")
    return Location(project=project, region=region)


@dataclass(frozen=True)
class TunedModelFacts:
    """What a create that continues a tuned model needs to know about it."""

    base_model: str  # the catalog name it was tuned from (through its own parents)
    checkpoints: tuple[str, ...]  # its checkpoint ids, as tuned_model.checkpoints lists them


# A tuned model's name (`…/models/ID`, `@VERSION` or `@ALIAS`) → its facts, or None when this
# emulator does not know it (NOT_FOUND: e.g. an alias no version carries).
TunedModelLookup = Callable[[str], TunedModelFacts | None]


def check_create(job: aiplatform_v1.TuningJob, catalog: Catalog, *, region: str | None = None,
                 tuned_models: TunedModelLookup | None = None) -> str:
    """Raise INVALID_ARGUMENT (NOT_FOUND for an unknown tuned model) for a job Vertex would not
    accept, with Vertex-like wording; the base model the job tunes otherwise.

    `region`: where it is created (the model's region rule applies); `tuned_models`: resolves
    a `pre_tuned_model` (None: no tuned model is known).
    """
    model = _starting_model(job, catalog, region, tuned_models or (lambda _: None))
    base = model.name
    if region is not None and not model.allows_region(region):
        raise invalid_argument(
            f"Base model {base} does not support tuning in {region} ({RULE_REGIONS}):"
            f" supported regions are {', '.join(model.regions or ())}."
        )
    if "encryption_spec" in job and job.encryption_spec.kms_key_name and not model.cmek:
        raise invalid_argument(
            f"Base model {base} does not support customer-managed encryption keys ({RULE_CMEK}):"
            " remove encryption_spec.kms_key_name."
        )
    if "supervised_tuning_spec" not in job:
        raise invalid_argument("supervised_tuning_spec is required.")
    spec = job.supervised_tuning_spec
    _check_uri("training_dataset_uri", spec.training_dataset_uri, required=True)
    _check_uri("validation_dataset_uri", spec.validation_dataset_uri, required=False)
    check_evaluation_config(spec, region=region)
    hyper = spec.hyper_parameters
    size_name = getattr(hyper.adapter_size, "name", str(hyper.adapter_size))
    if size_name != "ADAPTER_SIZE_UNSPECIFIED":
        size = ADAPTER_SIZE_BY_NAME.get(size_name)
        if size is None:
            raise invalid_argument(f"Unknown adapter size {size_name}.")
        if size not in model.adapter_sizes:
            allowed = ", ".join(str(s) for s in model.adapter_sizes) or "none (omit it)"
            raise invalid_argument(
                f"Adapter size {size} is not supported for base model {base}."
                f" Supported adapter sizes: {allowed}."
            )
    if hyper.epoch_count < 0:
        raise invalid_argument(f"epoch_count must be positive, got {hyper.epoch_count}.")
    if hyper.learning_rate_multiplier < 0:
        raise invalid_argument(
            f"learning_rate_multiplier must be positive, got {hyper.learning_rate_multiplier}."
        )
    if len(job.tuned_model_display_name) > _MAX_DISPLAY_NAME:
        raise invalid_argument(
            f"tuned_model_display_name is {len(job.tuned_model_display_name)} characters;"
            f" the limit is {_MAX_DISPLAY_NAME}."
        )
    check_labels(dict(job.labels))
    return base


def _starting_model(job: aiplatform_v1.TuningJob, catalog: Catalog, region: str | None,
                    tuned_models: TunedModelLookup) -> BaseModel:
    """The catalog entry of the job's base model, directly or through its pre_tuned_model."""
    has_pre_tuned = "pre_tuned_model" in job and bool(job.pre_tuned_model.tuned_model_name)
    if has_pre_tuned and job.base_model:
        raise invalid_argument("Set only one of base_model and pre_tuned_model.")
    if has_pre_tuned:
        name = job.pre_tuned_model.tuned_model_name
        match = _TUNED_MODEL.match(name)
        if match is None:
            raise invalid_argument(
                f"Invalid pre_tuned_model.tuned_model_name {name!r}: expected"
                " projects/{project}/locations/{location}/models/{model}[@{version}].")
        home = match.group(1)
        if region is not None and home != region:
            raise invalid_argument(
                f"pre_tuned_model {name} is in {home}; a tuning job that continues it must be"
                f" created in {home}, not {region}.")
        found = tuned_models(name)
        if found is None:
            raise ApiError(grpc.StatusCode.NOT_FOUND, f"Model {name} not found.")
        checkpoint = job.pre_tuned_model.checkpoint_id
        if checkpoint and checkpoint not in found.checkpoints:
            existing = ", ".join(found.checkpoints) or "none"
            raise invalid_argument(
                f"pre_tuned_model.checkpoint_id {checkpoint!r} does not exist on {name}:"
                f" its checkpoints are {existing}.")
        base = found.base_model
    elif job.base_model:
        base = job.base_model.removeprefix(_PUBLISHER_PREFIX)
    else:
        raise invalid_argument("One of base_model or pre_tuned_model is required.")
    model = catalog.get(base)
    if model is None:
        raise invalid_argument(
            f"Base model {base!r} is not supported for supervised tuning."
            f" Supported base models: {catalog.current()}."
        )
    if model.retired:
        via = f"pre_tuned_model {job.pre_tuned_model.tuned_model_name} is tuned from" if (
            has_pre_tuned) else "Base model"
        raise invalid_argument(
            f"{via} {base}, which is retired: it is no longer supported for new supervised"
            f" tuning jobs. Supported base models: {catalog.current()}."
        )
    return model


def _check_uri(field: str, uri: str, *, required: bool) -> None:
    if not uri and not required:
        return
    if not _GCS_JSONL.fullmatch(uri):
        raise invalid_argument(
            f"{field} {uri!r} must be a Cloud Storage URI of a JSONL file"
            " (gs://bucket/path/file.jsonl)."
        )


def check_labels(labels: dict[str, str]) -> None:
    """Vertex label rules: ≤ 64 labels; keys start with a lowercase letter; ≤ 63 characters."""
    if len(labels) > vertex_labels.MAX_LABELS:
        raise invalid_argument(
            f"A resource can have at most {vertex_labels.MAX_LABELS} labels; got {len(labels)}."
        )
    for key, value in labels.items():
        key_ok = key[:1].islower() and key[:1].isalpha() and vertex_labels.is_valid_label_value(key)
        if not key_ok or not vertex_labels.is_valid_label_value(value):
            raise invalid_argument(
                f"Invalid label {key!r}: {value!r}. Keys and values may contain only lowercase"
                " letters, digits, underscores and dashes, at most 63 characters; keys must start"
                " with a lowercase letter."
            )
