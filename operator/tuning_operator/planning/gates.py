"""Why an admitted create or a cancel may not go out on this pass, decided from facts.

The reconciler used to re-decide these after the planner, so `plan` showed `create` for a job
the operator then held back. Now they are planner inputs: the time, the create fence, the settle
window, the backoff of a failed call, the dataset pre-flight and specs Vertex refused for good.
An offline `plan` has no clock (`Timing` is None) and no such gate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Timing:
    """The clock and the operator's windows, for a live plan or a pass."""

    now: float
    create_fence_seconds: float = 60.0
    settle_seconds: float = 0.5
    file_ages: Mapping[str, float] = field(default_factory=dict)  # seconds since a file changed


@dataclass(frozen=True)
class Gate:
    """An action held back this pass: why, and when to look again."""

    reason: str
    retry_after: float


def settling(timing: Timing | None, path: str | None) -> Gate | None:
    """A file changed so recently that it may be half-written: neither create nor cancel."""
    if timing is None or path is None or path not in timing.file_ages:
        return None
    age = timing.file_ages[path]
    if age >= timing.settle_seconds:
        return None
    return Gate(f"the file changed {max(age, 0.0):.1f} s ago: waiting"
                f" {timing.settle_seconds:g} s for it to settle", timing.settle_seconds - age)


def backing_off(timing: Timing | None, not_before: float | None, what: str) -> Gate | None:
    if timing is None or not_before is None or not_before <= timing.now:
        return None
    wait = not_before - timing.now
    return Gate(f"backoff after a failed {what}: next attempt in {wait:.0f} s", wait)


def fenced(timing: Timing | None, intent_at: float | None) -> Gate | None:
    """A create was sent (or may have been) and no List after the fence window showed it."""
    if timing is None or intent_at is None:
        return None
    wait = intent_at + timing.create_fence_seconds - timing.now
    if wait <= 0:
        return None
    return Gate(f"an earlier create may still land: no new create until a List"
                f" {timing.create_fence_seconds:g} s after it ({wait:.0f} s left)", wait)


def dataset_unchecked(checked: frozenset[str] | None, job: str) -> Gate | None:
    if checked is None or job in checked:
        return None
    return Gate("the dataset pre-flight has not run for this spec yet", 1.0)
