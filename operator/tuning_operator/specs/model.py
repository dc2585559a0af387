"""The job file, apiVersion `tuning-operator/v1`, kind `TuningJob`, as typed models.

These models check what a single file can check on its own (shape, types, enums, formats).
What needs outside knowledge — the model catalog, the team policy, other files — is checked by
the loader, so the models stay pure and the JSON Schema printed from them is exact.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from tuning_operator.specs import during
from tuning_operator.specs.evaluation import EvaluationSpec, SmokeTest
from tuning_operator.specs.gcs import gcs_segments
from tuning_operator.specs.shapes import DEFERRED, WhenPresent

# GCS_JSONL and _Strict are re-exported: the other blocks of the job file and the emulator
# import them from here.
from tuning_operator.specs.shapes import GCS_JSONL as GCS_JSONL  # noqa: PLC0414
from tuning_operator.specs.shapes import _Strict as _Strict  # noqa: PLC0414

API_VERSION = "tuning-operator/v1"

DNS_LABEL = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
REGION = r"^[a-z]+-[a-z]+[0-9]+$"
SERVICE_ACCOUNT = r"^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.-]+\.iam\.gserviceaccount\.com$"
KMS_KEY = r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$"
# Pydantic runs these patterns with Rust's regex, where `$` matches only at the very end (no
# trailing newline slips through, tests/operator/specs/test_hostile_corpus.py pins it); Python
# code that reuses one must call re.fullmatch.
NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"  # newlines and tabs allowed
# A tuned model: projects/P/locations/L/models/M, optionally @VERSION or @ALIAS (Vertex's
# PreTunedModel.tuned_model_name; without a version Vertex takes the default one).
TUNED_MODEL = r"^projects/[^/]+/locations/([^/]+)/models/[^/@]+(@[^/@]+)?$"  # group 1: region
CHECKPOINT_ID = r"^[A-Za-z0-9_-]{1,63}$"

DnsLabel = Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=63)]


# A URI this matches passes `gcs_segments` (a valid bucket, then non-empty segments without
# '%' or control characters that are not '.' or '..'); any other goes through it for its message.
_PLAIN_GCS = re.compile(
    r"gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](?:/(?!\.\.?(?:/|$))[^/%\x00-\x1f\x7f]+)+")


def _safe_segments(uri: str) -> str:
    if _PLAIN_GCS.fullmatch(uri) is None:
        gcs_segments(uri)  # raises (a ValueError) on '..', '.', empty or percent-encoded segments
    return uri


GcsJsonlUri = Annotated[str, StringConstraints(pattern=GCS_JSONL), AfterValidator(_safe_segments)]
AdapterSize = Literal[1, 2, 4, 8, 16, 32]


class Metadata(_Strict):
    name: DnsLabel = Field(description="Unique in the jobs directory; DNS label, ≤ 63 chars.")
    labels: dict[str, str] = Field(
        default_factory=dict, description="Copied to the Vertex job; Vertex label rules apply."
    )


class HyperParameters(_Strict):
    preset: Literal["recommended"] | None = Field(
        default=None, description="`recommended`: the best-practice values for the dataset."
    )
    epoch_count: Annotated[int, Field(gt=0, le=100)] | None = None
    adapter_size: AdapterSize | None = None
    learning_rate_multiplier: Annotated[float, Field(gt=0, le=100)] | None = None

    @model_validator(mode="after")
    def _preset_or_values(self) -> HyperParameters:
        explicit = (self.epoch_count, self.adapter_size, self.learning_rate_multiplier)
        if self.preset is not None and any(v is not None for v in explicit):
            raise ValueError(
                "`preset: recommended` chooses every value itself; remove the explicit"
                " epochCount/adapterSize/learningRateMultiplier or remove the preset"
            )
        return self


class PreTunedModel(_Strict):
    """Continue tuning a tuned model: a model resource, or the tuned model of another job file.

    `{tunedModel, checkpointId}` is sent as written. `{job, checkpoint}` names another job in
    the directory; the operator resolves it to that job's tuned model once it has succeeded
    (`best`: the checkpoint the operator judged best, `last`: the final one, or a checkpoint
    id), and the job waits until then.
    """

    model_config = DEFERRED  # built when a file has the block (`shapes.WhenPresent`)

    tuned_model: Annotated[str, StringConstraints(pattern=TUNED_MODEL)] | None = Field(
        default=None, description="projects/P/locations/L/models/M[@VERSION]: a tuned model.")
    checkpoint_id: Annotated[str, StringConstraints(pattern=CHECKPOINT_ID)] | None = Field(
        default=None, description="With tunedModel: start from this checkpoint of it.")
    job: DnsLabel | None = Field(
        default=None, description="metadata.name of another job: continue from its tuned model.")
    checkpoint: Annotated[str, StringConstraints(pattern=CHECKPOINT_ID)] | None = Field(
        default=None, description="With job: `best`, `last` or a checkpoint id of that job.")

    @model_validator(mode="after")
    def _one_source(self) -> PreTunedModel:
        if (self.tuned_model is None) == (self.job is None):
            raise ValueError(
                "set exactly one of `tunedModel` (a model resource) and `job` (another job"
                " file's tuned model)")
        if self.job is not None and self.checkpoint_id is not None:
            raise ValueError("`checkpointId` goes with `tunedModel`; with `job`, write"
                             " `checkpoint: best|last|ID`")
        if self.tuned_model is not None and self.checkpoint is not None:
            raise ValueError("`checkpoint` goes with `job`; with `tunedModel`, write"
                             " `checkpointId: ID`")
        return self


class Spec(_Strict):
    base_model: str | None = Field(
        default=None,
        description="A base model of the catalog, e.g. gemini-2.5-flash (or preTunedModel).")
    pre_tuned_model: Annotated[PreTunedModel | None, WhenPresent(PreTunedModel)] = Field(
        default=None, description="Continue tuning a tuned model instead of a base model.")
    region: Annotated[str, StringConstraints(pattern=REGION)] | None = Field(
        default=None, description="Vertex region; default: the operator's region."
    )
    training_dataset: GcsJsonlUri
    validation_dataset: GcsJsonlUri | None = None
    hyper_parameters: HyperParameters | None = None
    tuned_model_display_name: Annotated[
        str, StringConstraints(max_length=128, pattern=NO_CONTROL)] | None = None
    description: Annotated[str, StringConstraints(max_length=2048, pattern=TEXT)] | None = None
    service_account: Annotated[str, StringConstraints(pattern=SERVICE_ACCOUNT)] | None = None
    encryption_key: Annotated[str, StringConstraints(pattern=KMS_KEY)] | None = None
    export_last_checkpoint_only: bool | None = Field(
        default=None,
        description="true: keep only the final checkpoint; false: one per epoch (default: as"
        " Vertex).")
    priority: int = Field(default=0, description="Admission order when quota is full.")
    cancel: bool = Field(default=False, description="true: the job must be cancelled.")
    on_delete: Literal["Orphan", "Cancel"] = Field(
        default="Orphan", description="What removing the file does to a running job."
    )
    on_spec_change: Literal["Conflict", "Replace"] = Field(
        default="Conflict",
        description="Conflict: a changed spec stops and is reported. Replace: cancel + create.",
    )
    # Built when a file first has the block (`WhenPresent`, issue 31), as `preTunedModel`.
    evaluation: Annotated[EvaluationSpec | None, WhenPresent(EvaluationSpec)] = Field(
        default=None, description="Judge the tuned model on an evaluation set, with a gate.")
    smoke_test: Annotated[SmokeTest | None, WhenPresent(SmokeTest)] = Field(
        default=None, description="The prompt of the endpoint check when there is no evaluation.")

    @model_validator(mode="after")
    def _one_starting_model(self) -> Spec:
        if (self.base_model is None) == (self.pre_tuned_model is None):
            raise ValueError(
                "set exactly one of `baseModel` and `preTunedModel` (as in the Vertex API):"
                " baseModel starts from a base model, preTunedModel continues tuning a tuned"
                " model")
        problem = during.spec_problem(self)
        if problem is not None:
            raise ValueError(problem)
        return self


# Fields that steer the operator but are not sent to Vertex: changing them is no conflict.
# (`evaluation.duringTuning: true` is sent: `_sent` adds it and its metrics, `specs.during`.)
OPERATOR_ONLY = frozenset({"priority", "cancel", "on_delete", "on_spec_change", "evaluation",
                           "smoke_test"})

# The spec hash names what was sent to Vertex; its label carries the first 16 hex digits.
# v2 (current): "v2\n" + canonical JSON of the sent fields, absent (None) fields left out, so
# a new optional field leaves every existing hash unchanged. v1 (the first release): the same
# fields with every None written out; frozen here so the labels it wrote are still recognised.
HASH_VERSION = "v2"
_V1_SPEC_FIELDS = (
    "base_model", "region", "training_dataset", "validation_dataset", "hyper_parameters",
    "tuned_model_display_name", "description", "service_account", "encryption_key",
)
_V1_HYPER_FIELDS = ("preset", "epoch_count", "adapter_size", "learning_rate_multiplier")


def _canonical(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


class TuningJob(_Strict):
    """One job file."""

    api_version: Literal["tuning-operator/v1"]
    kind: Literal["TuningJob"]
    metadata: Metadata
    spec: Spec

    @property
    def name(self) -> str:
        return self.metadata.name

    def _sent(self) -> dict[str, object]:
        spec = self.spec.model_dump(mode="json", exclude_none=True, exclude=set(OPERATOR_ONLY))
        evaluation = during.hashed(self.spec.evaluation)
        if evaluation is not None:  # absent otherwise: a file without it keeps its hash
            spec["evaluation"] = evaluation
        return {"metadata": self.metadata.model_dump(mode="json", exclude_none=True),
                "spec": spec}

    def spec_hash(self) -> str:
        """sha256 of what is sent to Vertex (v2); equal hashes mean the same Vertex job."""
        return _v2_hash(self._sent())

    def legacy_spec_hash(self) -> str | None:
        """The first release's (v1) hash of this spec; None when it uses a field v1 lacked."""
        return _v1_hash(self._sent())

    def spec_labels(self) -> frozenset[str]:
        """The spec label values that mean "this spec" (current and earlier hash versions),
        from one dump of the sent fields."""
        sent = self._sent()
        return frozenset(h[:16] for h in (_v2_hash(sent), _v1_hash(sent)) if h is not None)


def _v2_hash(sent: dict[str, object]) -> str:
    return hashlib.sha256(f"{HASH_VERSION}\n".encode() + _canonical(sent)).hexdigest()


def _v1_hash(sent: dict[str, object]) -> str | None:
    spec = dict(sent["spec"])  # type: ignore[call-overload]
    if set(spec) - set(_V1_SPEC_FIELDS):
        return None
    hyper = spec.get("hyper_parameters")
    if hyper is not None:
        spec["hyper_parameters"] = {k: hyper.get(k) for k in _V1_HYPER_FIELDS}
    v1 = {"metadata": sent["metadata"], "spec": {k: spec.get(k) for k in _V1_SPEC_FIELDS}}
    return hashlib.sha256(_canonical(v1)).hexdigest()


def json_schema() -> dict[str, object]:
    """The JSON Schema of a job file, for editors and CI."""
    schema = TuningJob.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://tuning-operator.dev/schema/tuningjob-v1.json"
    schema["title"] = "TuningJob (tuning-operator/v1)"
    return schema
