"""The client-side request budget on a fake clock: bursts, pacing, and refusal."""

from __future__ import annotations

import pytest

from tuning_operator.errors import TemporaryError
from tuning_operator.vertex.budget import RequestBudget


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def budget(time: FakeTime, **limits: float) -> RequestBudget:
    return RequestBudget(clock=time.clock, sleep=time.sleep, **limits)


def test_a_burst_then_the_steady_rate() -> None:
    """600/min with 6 s of burst: 60 calls at once, then one every 0.1 s."""
    time = FakeTime()
    crud = budget(time)
    for _ in range(60):
        assert crud.spend("us-central1") == 0
    assert crud.spend("us-central1") == pytest.approx(0.1)
    assert crud.spend("us-central1") == pytest.approx(0.1)
    assert time.now == pytest.approx(0.2)


def test_submissions_are_paced_by_their_own_lower_quota() -> None:
    """A create spends a submission token: 60/min allows 6 at once, then one per second."""
    time = FakeTime()
    creates = budget(time)
    waits = [creates.spend("us-central1", submission=True) for _ in range(8)]
    assert waits[:6] == [0] * 6
    assert waits[6:] == [pytest.approx(1.0), pytest.approx(1.0)]


def test_regions_have_separate_budgets() -> None:
    """Spending in one region leaves another's budget whole."""
    time = FakeTime()
    shared = budget(time, crud_per_minute=6, burst_seconds=10)
    assert shared.spend("us-central1") == 0
    assert shared.spend("europe-west4") == 0
    assert shared.spend("us-central1") == pytest.approx(10.0)


def test_a_wait_longer_than_max_wait_is_refused_without_spending() -> None:
    """Rather than block, the budget raises TemporaryError with the wait as retry-after."""
    time = FakeTime()
    tight = budget(time, submissions_per_minute=1, burst_seconds=1, max_wait=5)
    tight.spend("us-central1", submission=True)
    with pytest.raises(TemporaryError) as caught:
        tight.spend("us-central1", submission=True)
    assert caught.value.retry_after == pytest.approx(60.0)
    time.now += 60
    assert tight.spend("us-central1", submission=True) == 0


def test_tokens_refill_over_time_up_to_the_burst() -> None:
    """After a quiet minute the burst is available again, but not more than the burst."""
    time = FakeTime()
    crud = budget(time, crud_per_minute=60, burst_seconds=2)
    crud.spend("r")
    crud.spend("r")
    time.now += 600
    assert [crud.spend("r") for _ in range(3)] == [0, 0, pytest.approx(1.0)]


def test_resync_interval_grows_with_list_pages() -> None:
    """Ten List pages per cycle within a quarter of 600/min: at least 4 s between cycles."""
    assert RequestBudget().min_resync_seconds(10) == pytest.approx(4.0)
