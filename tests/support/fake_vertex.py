"""In-process fakes for fast unit tests of the reconciler (the e2e tests use the emulator).

`FakeVertex` keeps jobs in a dict and can be told to fail a method, to commit a create and then
time out (a ghost create), or to refuse on quota, so the reconciler's rules can be pinned in
milliseconds. It is never the only test of a path: the same scenarios run against the emulator.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tuning_operator.errors import OperatorError, OutcomeUnknown, QuotaExhausted
from tuning_operator.planning.model import ObservedJob
from tuning_operator.specs import TuningJob
from tuning_operator.specs.labels import ownership_labels
from tuning_operator.specs.model import HyperParameters
from tuning_operator.state.store import JobRecord


@dataclass(frozen=True)
class Listed:
    jobs: list[ObservedJob]
    active_unmanaged: int
    list_calls: int = 1


@dataclass
class FakeVertex:
    project: str = "p"
    max_active: int | None = None
    jobs: dict[str, ObservedJob] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    fail_next: dict[str, list[OperatorError]] = field(default_factory=dict)
    ghost_next_create: bool = False
    sent_hyper_parameters: dict[str, HyperParameters | None] = field(default_factory=dict)
    sent_evaluation_output: dict[str, str | None] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def list_managed(self, region: str) -> Listed:
        self.calls["list"] += 1
        self._maybe_fail("list")
        managed, active_unmanaged = [], 0
        for job in self.jobs.values():
            if job.region != region:
                continue
            if job.managed:
                managed.append(job)
            elif job.active:
                active_unmanaged += 1
        return Listed(jobs=managed, active_unmanaged=active_unmanaged)

    def create(self, job: TuningJob, *, team: str, region: str,
               hyper_parameters: HyperParameters | None = None,
               pre_tuned_model: tuple[str, str | None] | None = None,
               evaluation_output: str | None = None) -> ObservedJob:
        self.calls["create"] += 1
        self.sent_evaluation_output[job.name] = evaluation_output
        self.sent_hyper_parameters[job.name] = hyper_parameters
        self._maybe_fail("create")
        active = sum(1 for j in self.jobs.values() if j.active and j.region == region)
        if self.max_active is not None and active >= self.max_active:
            raise QuotaExhausted("concurrent tuning jobs quota", retry_after=0.0)
        name = f"projects/{self.project}/locations/{region}/tuningJobs/{next(self._ids)}"
        labels = {**job.metadata.labels,
                  **ownership_labels(job=job.name, spec_hash=job.spec_hash(), team=team)}
        observed = ObservedJob(name=name, state="JOB_STATE_PENDING", labels=labels)
        self.jobs[name] = observed
        if self.ghost_next_create:
            self.ghost_next_create = False
            raise OutcomeUnknown("deadline exceeded", retry_after=0.0)
        return observed

    def cancel(self, name: str) -> None:
        self.calls["cancel"] += 1
        self._maybe_fail("cancel")
        self.set_state(name, "JOB_STATE_CANCELLED")

    def set_state(self, name: str, state: str) -> None:
        old = self.jobs[name]
        self.jobs[name] = ObservedJob(name=name, state=state, labels=old.labels)

    def add_unmanaged(self, region: str = "us-central1") -> str:
        name = f"projects/{self.project}/locations/{region}/tuningJobs/{next(self._ids)}"
        self.jobs[name] = ObservedJob(name=name, state="JOB_STATE_RUNNING", labels={"x": "y"})
        return name

    def by_job(self, job: str) -> list[ObservedJob]:
        return [j for j in self.jobs.values() if j.job_name == job]

    def _maybe_fail(self, method: str) -> None:
        queue = self.fail_next.get(method)
        if queue:
            raise queue.pop(0)


@dataclass
class RecordingRecorder:
    """Keeps transitions and actions in lists, for assertions."""

    transitions: list[tuple[str, str | None, str]] = field(default_factory=list)
    actions: list[tuple[str, str]] = field(default_factory=list)
    verdicts: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    flushes: int = 0

    def verdict(self, record: JobRecord, *, type: str, reason: str,
                details: Mapping[str, Any]) -> None:
        del reason
        self.verdicts.append((record.name, type, dict(details)))

    def transition(self, record: JobRecord, *, previous: str | None, reason: str) -> None:
        del reason
        self.transitions.append((record.name, previous, record.phase or ""))

    def action(self, record: JobRecord, *, action: str, reason: str) -> None:
        del reason
        self.actions.append((record.name, action))

    def flush(self) -> None:
        self.flushes += 1
