"""The operator's own budget of Vertex requests, so it never burns the project's request quota.

Vertex allows, per project and region, 600 resource-management (CRUD) requests and 60 job
submissions per minute (SFT facts). Two token buckets per region pace the adapter's calls: every
call spends a CRUD token, a create spends a submission token too. A call that would wait longer
than `max_wait` is not made: it raises TemporaryError with the wait as its retry-after, so the
reconciler requeues instead of blocking. Clock and sleep are passed in; nothing here talks to
Vertex.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tuning_operator.errors import TemporaryError


@dataclass
class _Bucket:
    rate: float  # tokens per second
    capacity: float
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for_one(self) -> float:
        return max(0.0, (1.0 - self.tokens) / self.rate)


class RequestBudget:
    """Per-region token buckets for Vertex's CRUD and job-submission request quotas."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        crud_per_minute: float = 600.0,
        submissions_per_minute: float = 60.0,
        burst_seconds: float = 6.0,
        max_wait: float = 10.0,
    ) -> None:
        if crud_per_minute <= 0 or submissions_per_minute <= 0 or burst_seconds <= 0:
            raise ValueError("request rates and burst_seconds must be positive")
        self._clock = clock
        self._sleep = sleep
        self._limits = {"crud": crud_per_minute / 60.0, "submission": submissions_per_minute / 60.0}
        self._burst_seconds = burst_seconds
        self.max_wait = max_wait
        self.crud_per_minute = crud_per_minute
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def _bucket(self, region: str, kind: str, now: float) -> _Bucket:
        key = (region, kind)
        if key not in self._buckets:
            rate = self._limits[kind]
            capacity = max(1.0, rate * self._burst_seconds)
            self._buckets[key] = _Bucket(rate, capacity, capacity, now)
        bucket = self._buckets[key]
        bucket.refill(now)
        return bucket

    def spend(self, region: str, *, submission: bool = False) -> float:
        """Take the tokens of one call (waiting if needed); the seconds waited."""
        kinds = ("crud", "submission") if submission else ("crud",)
        with self._lock:
            now = self._clock()
            buckets = [self._bucket(region, kind, now) for kind in kinds]
            wait = max(bucket.wait_for_one() for bucket in buckets)
            if wait > self.max_wait:
                raise TemporaryError(
                    f"client-side Vertex request budget for {region} is spent;"
                    f" next call possible in {wait:.1f} s",
                    retry_after=wait,
                )
            for bucket in buckets:
                bucket.tokens -= 1.0  # may go negative: the wait below pays the debt
        if wait > 0:
            self._sleep(wait)
        return wait

    def min_resync_seconds(self, list_calls: int, *, share: float = 0.25) -> float:
        """The shortest resync interval that keeps List cycles within `share` of CRUD quota."""
        return list_calls * 60.0 / (self.crud_per_minute * share)
