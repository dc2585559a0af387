"""States derived from timestamps: the natural run, a scripted failure and a cancel."""

from __future__ import annotations

import pytest

from tuning_operator.emulator.timeline import JobRecord, observe

START = 1_000.0


def record(**changes: object) -> JobRecord:
    fields: dict[str, object] = {
        "seq": 1,
        "name": "projects/p/locations/us-central1/tuningJobs/1",
        "submitted": {},
        "labels": {},
        "created_at": START,
        "duration": 10.0,
    }
    fields.update(changes)
    return JobRecord(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("elapsed", "state"),
    [
        (-5.0, "JOB_STATE_QUEUED"),
        (0.0, "JOB_STATE_QUEUED"),
        (0.99, "JOB_STATE_QUEUED"),
        (1.0, "JOB_STATE_PENDING"),
        (2.0, "JOB_STATE_RUNNING"),
        (9.99, "JOB_STATE_RUNNING"),
        (10.0, "JOB_STATE_SUCCEEDED"),
        (1e6, "JOB_STATE_SUCCEEDED"),
    ],
)
def test_natural_run(elapsed: float, state: str) -> None:
    """QUEUED 10 %, PENDING 10 %, RUNNING to the end, then SUCCEEDED."""
    assert observe(record(), START + elapsed).state == state


def test_success_reports_times_and_no_error() -> None:
    """A finished job has start at 20 %, end at 100 %, update = end, no error."""
    seen = observe(record(), START + 20)
    assert (seen.start_time, seen.end_time, seen.entered_at) == (START + 2, START + 10, START + 10)
    assert seen.error_code == 0 and not seen.active


def test_scripted_failure_ends_failed_with_an_error() -> None:
    """outcome=fail ends FAILED with a non-zero error code and a message."""
    seen = observe(record(outcome="fail"), START + 10)
    assert seen.state == "JOB_STATE_FAILED"
    assert seen.error_code != 0 and "emulator-outcome=fail" in seen.error_message


@pytest.mark.parametrize(
    ("elapsed", "state", "code"),
    [
        (4.9, "JOB_STATE_RUNNING", 0),
        (5.0, "JOB_STATE_CANCELLING", 0),
        (5.4, "JOB_STATE_CANCELLING", 0),
        (5.5, "JOB_STATE_CANCELLED", 1),
        (50.0, "JOB_STATE_CANCELLED", 1),
    ],
)
def test_cancel_goes_through_cancelling(elapsed: float, state: str, code: int) -> None:
    """A cancel at 5 s: CANCELLING for cancel_seconds, then CANCELLED (code 1), never SUCCEEDED."""
    cancelled = record(cancel_requested_at=START + 5, cancel_seconds=0.5)
    seen = observe(cancelled, START + elapsed)
    assert (seen.state, seen.error_code) == (state, code)


def test_cancel_before_start_leaves_no_start_time() -> None:
    """A job cancelled while queued never reports a start_time."""
    seen = observe(record(cancel_requested_at=START + 0.5, cancel_seconds=0.0), START + 30)
    assert seen.state == "JOB_STATE_CANCELLED"
    assert seen.start_time is None and seen.end_time == START + 0.5


def test_zero_duration_is_finished_at_once() -> None:
    """A zero-second job is SUCCEEDED at its create instant."""
    assert observe(record(duration=0.0), START).state == "JOB_STATE_SUCCEEDED"
