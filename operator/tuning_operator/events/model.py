"""`StatusEvent`: one phase change of one job, as a CloudEvents 1.0 message.

Consumers (platform teams, the BigQuery trail, `events tail`) learn what happened from these
events, so their shape is a contract: binary mode on Pub/Sub (CloudEvents context in message
attributes, JSON data in the body), structured mode (one JSON object) in files and the outbox.
The id is derived from the transition itself, never from a clock, so the same transition
republished after a crash or an outage carries the same id and consumers can dedupe; it includes
the transition's sequence number in the job's record, so two real transitions with the same
phases (a policy toggled twice) never share one. The source names the deployment (project and
jobs repository), not the process: CloudEvents identifies an event by source and id together.
This module must never import a Google library: the `file:` and `stdout:` sinks use it alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from tuning_operator.planning.model import Phase

SPEC_VERSION = "1.0"
EVENT_TYPE = "tuning-operator.job.phase-changed.v1"
DIAGNOSED_TYPE = "tuning-operator.job.diagnosed.v1"  # data adds the diagnosis of the curves
EVALUATED_TYPE = "tuning-operator.job.evaluated.v1"  # data adds the evaluation and its gate
# A ModelAlias moved, held (one event per cause) or removed: subject and ordering key are the
# alias (`team/alias`), data adds the alias record (`state.records.alias_to_json`).
ALIAS_PROMOTED_TYPE = "tuning-operator.alias.promoted.v1"
ALIAS_HELD_TYPE = "tuning-operator.alias.held.v1"
ALIAS_REMOVED_TYPE = "tuning-operator.alias.removed.v1"
EVENT_TYPES = frozenset({EVENT_TYPE, DIAGNOSED_TYPE, EVALUATED_TYPE, ALIAS_PROMOTED_TYPE,
                         ALIAS_HELD_TYPE, ALIAS_REMOVED_TYPE})
CONTENT_TYPE = "application/json"
SOURCE_PREFIX = "//tuning-operator/"

# JSON data key ↔ dataclass field, in the order they are written.
_DATA_FIELDS = (
    ("job", "job"),
    ("team", "team"),
    ("phase", "phase"),
    ("previousPhase", "previous_phase"),
    ("vertexState", "vertex_state"),
    ("vertexJob", "vertex_job"),
    ("tunedModel", "tuned_model"),
    ("endpoint", "endpoint"),
    ("error", "error"),
    ("specHash", "spec_hash"),
    ("gitCommit", "git_commit"),
    ("gitAuthor", "git_author"),
    ("provenanceUnknown", "provenance_unknown"),
    ("gitRevision", "git_revision"),
    ("operatorInstance", "operator_instance"),
    ("reason", "reason"),
    ("sequence", "sequence"),
)


def source_for(deployment: str) -> str:
    """The `ce-source` of one deployment: `//tuning-operator/PROJECT/JOBS-REPOSITORY`.

    Every replica and every restart of one deployment says the same source, so source + id
    identify one transition; a value that already is a URI reference (`//…`, `scheme:…`) is
    taken as it is (the `--source` setting).
    """
    if deployment.startswith("//") or ":" in deployment.split("/", 1)[0]:
        return deployment
    return f"{SOURCE_PREFIX}{deployment}"


def transition_id(
    *,
    job: str,
    spec_hash: str | None,
    vertex_job: str | None,
    previous_phase: Phase | None,
    phase: Phase,
    sequence: int | None = None,
) -> str:
    """The deterministic `ce-id` of one transition: same inputs, same id, on any host.

    `sequence` is the transition's number in the job's record; events written before it
    existed (None) keep the ids they were published with.
    """
    parts: tuple[str, ...] = (job, spec_hash or "", vertex_job or "", previous_phase or "", phase)
    if sequence is not None:
        parts = (*parts, str(sequence))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def rfc3339(moment: datetime) -> str:
    """UTC, millisecond precision, `Z` suffix (what CloudEvents and BigQuery parse)."""
    if moment.tzinfo is None:
        raise ValueError("event times must be timezone-aware")
    utc = moment.astimezone(UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True, kw_only=True)
class StatusEvent:
    """One phase change of one job, with who asked for it and what Vertex says."""

    job: str
    phase: Phase
    previous_phase: Phase | None = None
    team: str | None = None
    vertex_state: str | None = None
    vertex_job: str | None = None
    tuned_model: str | None = None
    endpoint: str | None = None
    error: str | None = None
    spec_hash: str | None = None
    git_commit: str | None = None
    git_author: str | None = None
    provenance_unknown: str | None = None  # why gitCommit and gitAuthor are null (shallow)
    git_revision: str | None = None  # the jobs directory's commit the pass reconciled
    operator_instance: str = ""
    reason: str = ""
    sequence: int | None = None  # the transition's number in the job's record (1, 2, …)
    source: str = source_for("local")
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    type: str = EVENT_TYPE
    # A verdict event's own data (camelCase keys beside the job's), e.g. the diagnosis.
    details: Mapping[str, Any] | None = None

    @property
    def event_id(self) -> str:
        if self.type != EVENT_TYPE:  # the same verdict of the same job run: the same id
            body = orjson.dumps(self.details or {}, option=orjson.OPT_SORT_KEYS)
            parts = (self.job, self.type, self.vertex_job or "", body.decode())
            return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
        return transition_id(
            job=self.job,
            spec_hash=self.spec_hash,
            vertex_job=self.vertex_job,
            previous_phase=self.previous_phase,
            phase=self.phase,
            sequence=self.sequence,
        )

    @property
    def ordering_key(self) -> str:
        """Pub/Sub keeps order per key; order matters per job, so the key is the job name."""
        return self.job

    def data(self) -> dict[str, Any]:
        """The JSON data, camelCase keys; absent values are `null`, never omitted."""
        data = {key: getattr(self, attr) for key, attr in _DATA_FIELDS}
        return {**data, **self.details} if self.details else data

    def data_bytes(self) -> bytes:
        return orjson.dumps(self.data())

    def attributes(self) -> dict[str, str]:
        """Pub/Sub binary mode: the CloudEvents context as `ce-` message attributes.

        `ce-team` and `ce-phase` are CloudEvents extensions, so a team can subscribe with a
        filter such as `attributes.ce-team = "support"`.
        """
        attrs = {
            "ce-specversion": SPEC_VERSION,
            "ce-id": self.event_id,
            "ce-source": self.source,
            "ce-type": self.type,
            "ce-subject": self.job,
            "ce-time": rfc3339(self.time),
            "content-type": CONTENT_TYPE,
            "ce-phase": str(self.phase),
        }
        if self.team:
            attrs["ce-team"] = self.team
        return attrs

    def to_structured(self) -> dict[str, Any]:
        """CloudEvents structured mode (one JSON object), for files and the outbox."""
        return {
            "specversion": SPEC_VERSION,
            "id": self.event_id,
            "source": self.source,
            "type": self.type,
            "subject": self.job,
            "time": rfc3339(self.time),
            "datacontenttype": CONTENT_TYPE,
            "data": self.data(),
        }

    def to_json_line(self) -> bytes:
        return orjson.dumps(self.to_structured()) + b"\n"

    @classmethod
    def from_structured(cls, document: Mapping[str, Any]) -> StatusEvent:
        """Inverse of `to_structured`; raises ValueError on anything else."""
        _check_context(document.get("specversion"), document.get("type"))
        return cls._from_data(document.get("data"), source=document["source"],
                              time=document["time"], type=document["type"])

    @classmethod
    def from_pubsub(cls, data: bytes, attributes: Mapping[str, str]) -> StatusEvent:
        """Inverse of (`data_bytes`, `attributes`): a received binary-mode message."""
        _check_context(attributes.get("ce-specversion"), attributes.get("ce-type"))
        return cls._from_data(orjson.loads(data), source=attributes["ce-source"],
                              time=attributes["ce-time"], type=attributes["ce-type"])

    @classmethod
    def _from_data(cls, data: object, *, source: str, time: str,
                   type: str = EVENT_TYPE) -> StatusEvent:
        if not isinstance(data, dict):
            raise ValueError("CloudEvent data must be a JSON object")
        values: dict[str, Any] = {attr: data.get(key) for key, attr in _DATA_FIELDS}
        values["phase"] = Phase(str(values["phase"]))
        if values["previous_phase"] is not None:
            values["previous_phase"] = Phase(str(values["previous_phase"]))
        values["operator_instance"] = values["operator_instance"] or ""
        values["reason"] = values["reason"] or ""
        if values["sequence"] is not None:
            values["sequence"] = int(values["sequence"])
        known = {key for key, _ in _DATA_FIELDS}
        details = {k: v for k, v in data.items() if k not in known} or None
        return cls(**values, source=source, time=parse_rfc3339(time), type=type,
                   details=details)


def _check_context(spec_version: object, event_type: object) -> None:
    if spec_version != SPEC_VERSION or event_type not in EVENT_TYPES:
        raise ValueError(
            f"not a tuning-operator CloudEvent {SPEC_VERSION}"
            f" (specversion={spec_version!r}, type={event_type!r})"
        )
