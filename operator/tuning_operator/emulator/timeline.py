"""How an emulated tuning job moves through its states, derived from timestamps alone.

A job stores only when it was created, how long it runs, its scripted outcome and when a cancel
was asked; its state at any instant is computed from those. Nothing ticks in the background, so
a restarted emulator (state file) sees each job exactly where wall-clock time has taken it.
Timeline of a job that runs `duration` seconds from create:
QUEUED [0, 10 %) → PENDING [10 %, 20 %) → RUNNING [20 %, 100 %) → SUCCEEDED (or FAILED).
A cancel of an active job: CANCELLING for `cancel_seconds`, then CANCELLED with error code 1.
This module never stores or validates anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tuning_operator.emulator.datastats import CountedData

QUEUED = "JOB_STATE_QUEUED"
PENDING = "JOB_STATE_PENDING"
RUNNING = "JOB_STATE_RUNNING"
SUCCEEDED = "JOB_STATE_SUCCEEDED"
FAILED = "JOB_STATE_FAILED"
CANCELLING = "JOB_STATE_CANCELLING"
CANCELLED = "JOB_STATE_CANCELLED"
ACTIVE_STATES = frozenset({QUEUED, PENDING, RUNNING, CANCELLING})

CANCELLED_CODE = 1  # google.rpc.Code.CANCELLED, as Vertex sets on a cancelled job
FAILED_CODE = 13  # google.rpc.Code.INTERNAL for the scripted failure
SCRIPTED_FAILURE = "the tuning job failed (scripted by the label emulator-outcome=fail)"

Outcome = Literal["succeed", "fail"]


@dataclass(frozen=True)
class JobRecord:
    """One stored job: what the client sent plus the facts its timeline is derived from."""

    seq: int  # create order, the list order
    name: str  # projects/{p}/locations/{l}/tuningJobs/{id}
    submitted: Mapping[str, Any]  # the TuningJob as sent (REST JSON, output-only fields cleared)
    labels: Mapping[str, str]
    created_at: float  # epoch seconds
    duration: float
    outcome: Outcome = "succeed"
    cancel_requested_at: float | None = None
    cancel_seconds: float = 1.0
    # The training file as counted at create (None: not read; `datastats` then has defaults).
    counted: CountedData | None = None
    # Cached wire form of `submitted`; not part of equality or of the state file.
    wire: bytes = field(default=b"", compare=False, repr=False)

    @property
    def parent(self) -> str:
        return self.name.rsplit("/tuningJobs/", 1)[0]

    @property
    def job_id(self) -> str:
        return self.name.rsplit("/", 1)[1]


@dataclass(frozen=True)
class Observation:
    """A job's state at one instant, with the times output-only fields report."""

    state: str
    entered_at: float  # update_time
    start_time: float | None
    end_time: float | None
    error_code: int = 0
    error_message: str = ""

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


def active_until(record: JobRecord) -> float:
    """When the job leaves the active states (it holds a quota slot while now is before)."""
    if record.cancel_requested_at is None:
        return record.created_at + record.duration
    return record.cancel_requested_at + record.cancel_seconds


def _transitions(record: JobRecord) -> list[tuple[float, str]]:
    start, length = record.created_at, record.duration
    final = FAILED if record.outcome == "fail" else SUCCEEDED
    natural = [
        (start, QUEUED),
        (start + 0.1 * length, PENDING),
        (start + 0.2 * length, RUNNING),
        (start + length, final),
    ]
    asked = record.cancel_requested_at
    if asked is None:
        return natural
    before = [step for step in natural if step[0] <= asked and step[1] != final]
    return [*before, (asked, CANCELLING), (asked + record.cancel_seconds, CANCELLED)]


def observe(record: JobRecord, now: float) -> Observation:
    """The state of `record` at `now` (epoch seconds)."""
    steps = _transitions(record)
    reached = [step for step in steps if step[0] <= now] or steps[:1]
    entered_at, state = reached[-1]
    start_time = next((at for at, name in reached if name == RUNNING), None)
    if state in ACTIVE_STATES:
        return Observation(state, entered_at, start_time, None)
    if state == CANCELLED:
        return Observation(state, entered_at, start_time, entered_at, CANCELLED_CODE, "CANCELLED")
    if state == FAILED:
        return Observation(state, entered_at, start_time, entered_at, FAILED_CODE, SCRIPTED_FAILURE)
    return Observation(state, entered_at, start_time, entered_at)
