"""Actual state, read the same way by the operator and by a live `plan`.

One filtered, paged List per region, never a Get per job; the regions are the operator's
default, those the job files name, and those where the status store last saw a job. The plan
settings come from the status store the same way too, so `plan` against live Vertex shows
exactly what the next pass will do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tuning_operator.planning.model import ObservedJob
from tuning_operator.planning.planner import PlanSettings, Remembered
from tuning_operator.specs import DirectoryLoad
from tuning_operator.state.store import JobRecord


class ListedJobs(Protocol):
    @property
    def jobs(self) -> Sequence[ObservedJob]: ...

    @property
    def active_unmanaged(self) -> int: ...

    @property
    def list_calls(self) -> int: ...


class Lister(Protocol):
    def list_managed(self, region: str) -> ListedJobs: ...


@dataclass
class Observed:
    jobs: list[ObservedJob] = field(default_factory=list)
    unmanaged: Counter[str] = field(default_factory=Counter)  # region → active unmanaged jobs
    list_calls: int = 0


def regions_to_list(load: DirectoryLoad, *, default_region: str,
                    records: Mapping[str, JobRecord]) -> list[str]:
    regions = {default_region}
    regions |= {j.job.spec.region for j in load.jobs.values() if j.job.spec.region}
    regions |= {r.region for r in records.values() if r.region}
    return sorted(regions)


def observe(vertex: Lister, regions: Iterable[str]) -> Observed:
    """One List cycle per region (TemporaryError propagates: without it nothing may act)."""
    observed = Observed()
    for region in regions:
        listed = vertex.list_managed(region)
        observed.jobs.extend(listed.jobs)
        observed.unmanaged[region] += listed.active_unmanaged
        observed.list_calls += listed.list_calls
    return observed


def plan_settings(records: Mapping[str, JobRecord], *, default_region: str,
                  max_concurrent_jobs: int | None, allow_mass_deletion: bool = False,
                  unmanaged: Mapping[str, int] | None = None,
                  blocks: Mapping[str, str] | None = None,
                  notes: Mapping[str, str] | None = None) -> PlanSettings:
    """The planner's settings from the status store's memory of each job."""
    return PlanSettings(
        default_region=default_region,
        max_concurrent_jobs=max_concurrent_jobs,
        remembered={n: Remembered(path=r.path, team=r.team or "", on_delete=r.on_delete)
                    for n, r in records.items() if r.path is not None},
        first_seen={n: r.first_seen for n, r in records.items()},
        allow_mass_deletion=allow_mass_deletion,
        extra_active=dict(unmanaged or {}),
        dataset_blocks=dict(blocks or {}),
        dataset_notes=dict(notes or {}),
    )
