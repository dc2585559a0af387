"""What the planner reasons about: observed Vertex jobs, operator phases, planned actions.

Vertex states are strings (the `JobState` enum names, e.g. `JOB_STATE_RUNNING`) so this layer
needs no Google library; the Vertex adapter maps its enums to these names by name, never by
number.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from tuning_operator.specs import labels as owner

if TYPE_CHECKING:  # `validate` and `plan --offline` never import judging (issue 31)
    from tuning_operator.judging.curves import Checkpoint


class Phase(StrEnum):
    """The operator's status of one job; every change is one event."""

    INVALID = "Invalid"
    CONFLICT = "Conflict"
    WAITING = "Waiting"
    BLOCKED = "Blocked"  # needs a human: e.g. the parent it continues failed
    SUBMITTED = "Submitted"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLING = "Cancelling"
    CANCELLED = "Cancelled"
    ORPHANED = "Orphaned"


FINAL_PHASES = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED})

_STATE_PHASE = {
    "JOB_STATE_QUEUED": Phase.SUBMITTED,
    "JOB_STATE_PENDING": Phase.SUBMITTED,
    "JOB_STATE_UNSPECIFIED": Phase.SUBMITTED,
    "JOB_STATE_RUNNING": Phase.RUNNING,
    "JOB_STATE_UPDATING": Phase.RUNNING,
    "JOB_STATE_PAUSED": Phase.RUNNING,
    "JOB_STATE_SUCCEEDED": Phase.SUCCEEDED,
    "JOB_STATE_PARTIALLY_SUCCEEDED": Phase.SUCCEEDED,
    "JOB_STATE_FAILED": Phase.FAILED,
    "JOB_STATE_EXPIRED": Phase.FAILED,
    "JOB_STATE_CANCELLING": Phase.CANCELLING,
    "JOB_STATE_CANCELLED": Phase.CANCELLED,
}
TERMINAL_STATES = frozenset(
    {
        "JOB_STATE_SUCCEEDED",
        "JOB_STATE_FAILED",
        "JOB_STATE_CANCELLED",
        "JOB_STATE_EXPIRED",
        "JOB_STATE_PARTIALLY_SUCCEEDED",
    }
)


def normalize_state(state: str) -> str:
    """`RUNNING` or `JOB_STATE_RUNNING` → `JOB_STATE_RUNNING`; unknown names raise ValueError."""
    full = state if state.startswith("JOB_STATE_") else f"JOB_STATE_{state}"
    if full not in _STATE_PHASE:
        raise ValueError(f"unknown Vertex job state {state!r}")
    return full


@dataclass(frozen=True)
class DataStats:
    """Vertex's own count of a job's dataset (`tuning_data_stats`), once it has read it."""

    examples: int  # tuning_dataset_example_count
    billable_tokens: int  # total_billable_token_count
    truncated_examples: int  # total_truncated_example_count: cut at the token limit


@dataclass(frozen=True)
class TuningEvaluationRun:
    """Vertex's evaluation of one checkpoint during tuning (`evaluate_dataset_runs[]`), when the
    create asked for it (`evaluation.duringTuning`): the operator's metric names → the average
    Vertex computed, or the error of the run."""

    checkpoint_id: str | None  # None: Vertex named no checkpoint (the tuned model's)
    metrics: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, slots=True)  # slots: one per Vertex job, 10,000s of them
class ObservedJob:
    """A Vertex tuning job as one List call returns it."""

    name: str  # projects/{p}/locations/{r}/tuningJobs/{id}
    state: str  # JobState enum name
    labels: Mapping[str, str] = field(default_factory=dict)
    create_time: datetime | None = None
    tuned_model: str | None = None
    tuned_endpoint: str | None = None
    error: str | None = None
    experiment: str | None = None  # metadataStores/default/contexts/… once the job runs
    checkpoints: tuple[Checkpoint, ...] = ()  # tuned_model.checkpoints, by step
    data_stats: DataStats | None = None  # None until Vertex has processed the dataset
    base_model: str | None = None  # the root base model (Vertex's, also for pre_tuned_model)
    # pre_tuned_model (tuned model, checkpoint id) as sent: what a continuation continued
    continued_from: tuple[str, str | None] | None = None
    evaluation_runs: tuple[TuningEvaluationRun, ...] = ()  # evaluate_dataset_runs, in order

    region: str = field(init=False, repr=False, compare=False)  # from `name`

    def __post_init__(self) -> None:
        # One spelling from here on: `active` and `phase` are plain lookups on every pass.
        object.__setattr__(self, "state", normalize_state(self.state))
        parts = self.name.split("/")
        object.__setattr__(self, "region", sys.intern(parts[3]) if len(parts) > 3 else "")

    @property
    def managed(self) -> bool:
        return self.labels.get(owner.MANAGED_BY) == owner.MANAGED_BY_VALUE

    @property
    def job_name(self) -> str | None:
        return self.labels.get(owner.JOB) if self.managed else None

    @property
    def spec_hash(self) -> str | None:
        return self.labels.get(owner.SPEC)

    @property
    def active(self) -> bool:
        return self.state not in TERMINAL_STATES

    @property
    def phase(self) -> Phase:
        return _STATE_PHASE[self.state]


@dataclass(frozen=True)
class Lineage:
    """The parent a job was created from: what was sent, and how the file spelled it."""

    tuned_model: str  # the parent's tuned model resource, as sent
    checkpoint_id: str | None = None  # as sent (None: Vertex's default checkpoint)
    base_model: str | None = None  # the chain's root base model, when known
    job: str | None = None  # the parent job's name, for `{job: X}`
    checkpoint: str | None = None  # as written with `job`: best | last | an id

    @property
    def sent(self) -> tuple[str, str | None]:
        """(tuned model, checkpoint id): Vertex's `pre_tuned_model`."""
        return self.tuned_model, self.checkpoint_id

    def short(self) -> str:
        """The parent in a table cell: `parent @ 2`, or the model's id for a raw tunedModel."""
        parent = self.job or self.tuned_model.rsplit("/", 1)[-1]
        return parent + (f" @ {self.checkpoint_id}" if self.checkpoint_id else "")

    def describe(self) -> str:
        """One line for the create's reason, the audit trail and `status`."""
        via = ""
        if self.job:
            written = f" (checkpoint: {self.checkpoint})" if self.checkpoint else ""
            via = f"job {self.job!r}{written}: "
        at = f" checkpoint {self.checkpoint_id}" if self.checkpoint_id else ""
        root = f", root base model {self.base_model}" if self.base_model else ""
        return f"continues {via}tuned model {self.tuned_model}{at}{root}"
