"""Turns the reconciler's phase changes and actions into status events and audit records.

Events of one pass are stored in the outbox together (one fsync) by `flush`, which the
reconciler calls before it persists its own state: after a crash, a transition is either in the
outbox or recomputed by the next pass with the same deterministic id — never lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tuning_operator.events import AuditRecord, AuditTrail, GitProvenance, Outbox, StatusEvent
from tuning_operator.events.model import source_for
from tuning_operator.events.provenance import Provenance
from tuning_operator.planning.model import Phase
from tuning_operator.state.ledger import cost_details
from tuning_operator.state.records import AliasRecord, lineage_to_json
from tuning_operator.state.store import JobRecord

OPERATOR_JOB = "(operator)"  # the audit trail's name for lines about the operator itself
NO_PROVENANCE = Provenance(None, None, None)  # outside git, or never committed


_COSTED = frozenset({Phase.SUBMITTED.value, Phase.SUCCEEDED.value})


def _details(record: JobRecord) -> dict[str, Any] | None:
    """A continuing job's parent, on each of its phase changes (from Submitted on); what the
    job is expected to cost and what Vertex billed, when it is submitted and when it succeeds;
    at Submitted, the dataset objects' generations the job trains on."""
    details: dict[str, Any] = {}
    if record.lineage:
        details["lineage"] = lineage_to_json(record.lineage)
    if record.phase in _COSTED:
        details["cost"] = cost_details(record)
    if record.phase == Phase.SUBMITTED and record.preflight and record.preflight.generations:
        details["datasetGenerations"] = dict(record.preflight.generations)
    return details or None


class EventRecorder:
    def __init__(self, *, outbox: Outbox, audit: AuditTrail, jobs_dir: Path, instance: str,
                 source: str | None = None, provenance: GitProvenance | None = None) -> None:
        """`source`: the deployment's `ce-source` (the same for every replica and restart);
        `instance`: this process, carried in each event's data and audit line."""
        self.outbox = outbox
        self.audit = audit
        self.jobs_dir = jobs_dir
        self.instance = instance
        self.source = source_for(source or "local")
        self.provenance = provenance or GitProvenance()
        self.pending: list[StatusEvent] = []

    def transition(self, record: JobRecord, *, previous: str | None, reason: str) -> None:
        assert record.phase is not None  # the reconciler sets the phase before reporting it
        prov, now = self._provenance(record), datetime.now(UTC)
        self.pending.append(StatusEvent(
            job=record.name, phase=Phase(record.phase), team=record.team,
            previous_phase=Phase(previous) if previous else None,
            vertex_state=record.vertex_state, vertex_job=record.vertex_name,
            tuned_model=record.tuned_model, endpoint=record.endpoint,
            error=record.vertex_error or record.last_error,
            spec_hash=record.spec_hash[:16] if record.spec_hash else None,
            git_revision=record.last_applied_revision, operator_instance=self.instance,
            reason=reason, sequence=record.transitions, source=self.source, time=now,
            git_commit=prov.commit, git_author=prov.author, provenance_unknown=prov.unknown,
            details=_details(record),
        ))
        self._audit(record, action="phase-changed", reason=reason, previous=previous, now=now)

    def action(self, record: JobRecord, *, action: str, reason: str) -> None:
        self._audit(record, action=action, reason=reason, previous=None, now=datetime.now(UTC))

    def verdict(self, record: JobRecord, *, type: str, reason: str,
                details: Mapping[str, Any]) -> None:
        """A judgment of the job (its curves, its evaluation): an event and an audit line."""
        assert record.phase is not None
        prov, now = self._provenance(record), datetime.now(UTC)
        self.pending.append(StatusEvent(
            job=record.name, phase=Phase(record.phase), team=record.team,
            vertex_state=record.vertex_state, vertex_job=record.vertex_name,
            tuned_model=record.tuned_model, endpoint=record.endpoint,
            spec_hash=record.spec_hash[:16] if record.spec_hash else None,
            git_revision=record.last_applied_revision, operator_instance=self.instance,
            reason=reason, source=self.source, time=now, type=type, details=dict(details),
            git_commit=prov.commit, git_author=prov.author, provenance_unknown=prov.unknown))
        verdict = details.get("verdict") or details.get("evaluation", {}).get("verdict")
        self._audit(record, action=type.split(".")[2], reason=f"{verdict}: {reason}",
                    previous=None, now=now)

    def alias(self, record: AliasRecord, *, key: str, type: str, reason: str,
              details: Mapping[str, Any]) -> None:
        """An alias promoted, held or removed: an event (subject: the alias) and an audit line."""
        now = datetime.now(UTC)
        self.pending.append(StatusEvent(
            job=key, phase=Phase.SUCCEEDED, team=record.team, tuned_model=record.model_version,
            endpoint=record.endpoint, git_author=record.git_author,
            git_revision=record.git_revision, operator_instance=self.instance, reason=reason,
            source=self.source, time=now, type=type, details=dict(details)))
        self.alias_action(record, key=key, action=type.split(".")[2], reason=reason)

    def alias_action(self, record: AliasRecord, *, key: str, action: str, reason: str) -> None:
        """An act on an alias (written before its request goes out)."""
        self.audit.record(AuditRecord(time=datetime.now(UTC), operator_instance=self.instance,
                                      job=key, action=action, reason=reason, team=record.team,
                                      git_revision=record.git_revision))

    def audit_operator(self, *, action: str, reason: str) -> None:
        """An act of the operator itself (e.g. state recovered), not of one job."""
        self.audit.record(AuditRecord(time=datetime.now(UTC), operator_instance=self.instance,
                                      job=OPERATOR_JOB, action=action, reason=reason))

    def flush(self) -> None:
        if self.pending:
            self.outbox.append_all(self.pending)
            self.pending = []

    def _provenance(self, record: JobRecord) -> Provenance:
        """Who asked for the job: its file's last commit, or why that is unknown."""
        prov = self.provenance.of(self.jobs_dir / record.path) if record.path else None
        return prov or NO_PROVENANCE

    def _audit(self, record: JobRecord, *, action: str, reason: str, previous: str | None,
               now: datetime) -> None:
        prov = self._provenance(record)
        self.audit.record(AuditRecord(
            time=now, operator_instance=self.instance, job=record.name, action=action,
            reason=reason, team=record.team, phase=record.phase, previous_phase=previous,
            vertex_job=record.vertex_name,
            spec_hash=record.spec_hash[:16] if record.spec_hash else None,
            git_revision=record.last_applied_revision,
        ).with_provenance(prov))
