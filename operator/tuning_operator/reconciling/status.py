"""A read-only view of the reconciler's records: what the live table, /metrics and health read.

The records belong to the reconciler, and a pass changes them. Everything else (the loop's
metrics, the manager's live table and health file, tests) reads them through this view, which
hands out an immutable snapshot and counts derived from it, never the reconciler's own dict.
It must never write: a change of a record is a pass's business.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from tuning_operator.judging.diagnosis import Diagnosis
from tuning_operator.state.store import JobRecord


class StatusView:
    """Each job's record, its phase counts and the last contact with Vertex, read-only."""

    def __init__(self, records: Mapping[str, JobRecord], owner: Any) -> None:
        # `owner` is the reconciler: read for when it last reached Vertex and its pass number.
        self._records = records
        self._owner = owner

    def records(self) -> Mapping[str, JobRecord]:
        """A snapshot of every job's record: a read-only mapping, unaffected by later passes'
        additions and removals. The records in it are the reconciler's: read them only."""
        return MappingProxyType(dict(self._records))

    def phases(self) -> Counter[str]:
        """How many jobs are in each phase (jobs with no phase yet are not counted)."""
        return Counter(r.phase for r in self._records.values() if r.phase)

    def diagnoses(self) -> dict[str, Diagnosis]:
        """Each diagnosed job's last diagnosis of its curves."""
        return {n: r.diagnosis for n, r in self._records.items() if r.diagnosis}

    @property
    def generation(self) -> int:
        """The number of the last pass (0 before the first)."""
        generation: int = self._owner.generation
        return generation

    @property
    def vertex_reached(self) -> float | None:
        """When a List last succeeded."""
        reached: float | None = self._owner.vertex_reached
        return reached

    @property
    def vertex_failing(self) -> tuple[float, str] | None:
        """Since when, and why, Vertex could not be listed (None while it can)."""
        failing: tuple[float, str] | None = self._owner.vertex_failing
        return failing
