"""Actual state, read the same way by the operator and by a live `plan`.

One filtered, paged List per region, never a Get per job; the regions are the operator's
default, those the job files name, those where the status store last saw a job, and any extra
regions given for the global quota. Every other tuning region of the catalog is listed too, at
most once per create fence (`RegionSweep`): a job whose file moved to another region is found
in none of the regions above when the state directory is fresh (a new replica, a recovery),
and a create then would run a second Vertex job beside the first. The plan settings are
gathered by `inputs.plan_inputs`, for the operator and for a live `plan` alike.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from tuning_operator.planning.model import Lineage, ObservedJob
from tuning_operator.specs import DirectoryLoad
from tuning_operator.specs.rules import tuned_model_region

if TYPE_CHECKING:  # `plan --offline` (FileAges) imports no status store (issue 31, P7)
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
                    records: Mapping[str, JobRecord],
                    extra: Iterable[str] = ()) -> list[str]:
    regions = {default_region, *extra}
    regions |= {j.region for j in load.jobs.values() if j.region}
    regions |= {r.region for r in records.values() if r.region}
    # A continuing job lives where its parent's tuned model does, even once the parent's file
    # (the only other word on its region) has left.
    regions |= {tuned_model_region(r.lineage.tuned_model) or default_region
                for r in records.values() if r.lineage}
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


class RegionSweep:
    """The catalog's other tuning regions, listed once per `max_age` seconds and kept between.

    The regions listed every pass already are left out; so a steady fleet pays one more List
    per region per create fence, and no create goes out before every region was listed once.
    """

    def __init__(self, regions: Iterable[str], *, max_age: float) -> None:
        self.regions = frozenset(regions)
        self.max_age = max_age
        self._listed: tuple[float, frozenset[str], Observed] | None = None

    def observe(self, vertex: Lister, *, listed: Iterable[str], now: float) -> Observed:
        """The other regions' jobs: a fresh List when the last is older than `max_age` (or of
        other regions), else the last one again (with no calls counted)."""
        others = self.regions - set(listed)
        last = self._listed
        if last is not None and last[1] == others and now - last[0] < self.max_age:
            return Observed(jobs=list(last[2].jobs), unmanaged=Counter(last[2].unmanaged))
        fresh = observe(vertex, sorted(others))
        self._listed = (now, others, fresh)
        return fresh


def merged(first: Observed, second: Observed) -> Observed:
    return Observed(jobs=[*first.jobs, *second.jobs], unmanaged=first.unmanaged + second.unmanaged,
                    list_calls=first.list_calls + second.list_calls)


class FileAges(Mapping[str, float]):
    """Seconds since each job file changed (wall clock), read only for what the planner asks."""

    def __init__(self, root: str) -> None:
        self.root = root

    def __getitem__(self, path: str) -> float:
        try:
            return time.time() - os.stat(os.path.join(self.root, path)).st_mtime
        except OSError:
            raise KeyError(path) from None

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and os.path.exists(os.path.join(self.root, path))

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def refresh_record(record: JobRecord, observed: ObservedJob) -> None:
    """What Vertex says of the job, refreshed every pass (never kept from an older pass)."""
    record.vertex_name = observed.name
    record.vertex_state = observed.state
    record.tuned_model = observed.tuned_model
    record.endpoint = observed.tuned_endpoint
    record.vertex_error = observed.error
    record.region = observed.region or record.region
    record.experiment = observed.experiment
    record.checkpoints = observed.checkpoints
    record.during_tuning = observed.evaluation_runs
    if observed.data_stats is not None:
        record.data_stats = observed.data_stats
    sent = observed.continued_from
    if sent is not None and (record.lineage is None or record.lineage.sent != sent):
        # Vertex's word on what was sent: a record lost (or written by an older release)
        # gets its lineage back, without the spelling only the file knew.
        record.lineage = Lineage(*sent, base_model=observed.base_model)
    record.create_intent_at = None  # the List shows the job: the intent is fulfilled
