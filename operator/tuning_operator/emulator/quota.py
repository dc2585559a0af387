"""The emulated concurrent-tuning-job quota: how many jobs hold a slot now, per scope.

Vertex counts active tuning jobs per project across every region (the "global" scope), or, as
an emulator setting, per project and region. A create over the limit fails as Vertex's does,
with RESOURCE_EXHAUSTED. The count must stay cheap with many thousands of jobs, so it is kept
incrementally (see `ActiveJobs`) rather than by scanning every record on each create.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import grpc

from tuning_operator.emulator.status import ApiError
from tuning_operator.emulator.timeline import JobRecord, active_until
from tuning_operator.emulator.validation import Location


class ConcurrentJobQuota:
    """Active jobs per quota scope, the limit they are held to, and the most ever active."""

    def __init__(self, *, max_active: int | None, quota_scope: str,
                 current: Callable[[str], JobRecord]) -> None:
        self._max_active = max_active
        self._quota_scope = quota_scope
        self._current = current  # a job's record as it is now, by name
        self._active = ActiveJobs()
        self._peaks: dict[str, int] = {}  # most jobs active at once, per quota scope key

    @property
    def peaks(self) -> dict[str, int]:
        return self._peaks

    def add(self, record: JobRecord, *, moved: bool = False) -> None:
        """A new job, or (`moved`) a cancelled one whose active time changed."""
        self._active.add(record, moved=moved)

    def scope_key(self, location: Location) -> str:
        """What one quota count covers: the project (global) or the project and region."""
        if self._quota_scope == "global":
            return f"projects/{location.project}"
        return location.parent

    def check(self, location: Location, now: float) -> None:
        """Raise RESOURCE_EXHAUSTED when a create in `location` would exceed the quota."""
        limit = self._max_active
        if limit is None:
            return
        key = self.scope_key(location)
        active = self.active_in(key, now)
        if active >= limit:
            where = (f"project {location.project} (global: all regions)"
                     if self._quota_scope == "global" else location.parent)
            raise ApiError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"Quota exceeded for aiplatform.googleapis.com/concurrent_tuning_jobs in {where}:"
                f" {active} of {limit} concurrent tuning jobs are active.",
            )

    def note_peak(self, location: Location, now: float) -> None:
        """Sample the count of `location`'s scope (after a create, where it can grow)."""
        key = self.scope_key(location)
        self._peaks[key] = max(self._peaks.get(key, 0), self.active_in(key, now))

    def active_in(self, scope: str, now: float) -> int:
        """Active jobs under `scope`: a parent (one region) or `projects/P` (every region)."""
        return self._active.count(scope, now, current=self._current)


class ActiveJobs:
    """Jobs holding a quota slot, counted per region and per project without scanning every
    record on each create (10,000 creates took minutes that way).

    A job is active until `active_until(record)`; a cancel moves that time, so each scope keeps
    a heap of (until, name) whose entries are checked against the job's current record when
    they fall due: an outdated entry is dropped without counting. Time only moves forward here.
    """

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._due: dict[str, list[tuple[float, str]]] = {}

    def add(self, record: JobRecord, *, moved: bool = False) -> None:
        """A new job, or (`moved`) a cancelled one whose earlier entry is now outdated."""
        parent = record.parent
        for scope in (parent, parent.split("/locations/")[0]):
            heapq.heappush(self._due.setdefault(scope, []), (active_until(record), record.name))
            if not moved:
                self._counts[scope] = self._counts.get(scope, 0) + 1

    def count(self, scope: str, now: float, *, current: Callable[[str], JobRecord]) -> int:
        due = self._due.get(scope, [])
        while due and due[0][0] <= now:
            until, name = heapq.heappop(due)
            if active_until(current(name)) == until:
                self._counts[scope] -= 1
        return self._counts.get(scope, 0)
