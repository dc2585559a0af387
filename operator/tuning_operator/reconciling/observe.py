"""Actual state, read the same way by the operator and by a live `plan`.

One filtered, paged List per region, never a Get per job; the regions are the operator's
default, those the job files name, those where the status store last saw a job, and any extra
regions given for the global quota. The plan settings are gathered by `inputs.plan_inputs`,
for the operator and for a live `plan` alike.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tuning_operator.planning.model import Lineage, ObservedJob
from tuning_operator.specs import DirectoryLoad
from tuning_operator.specs.rules import tuned_model_region
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
    if observed.data_stats is not None:
        record.data_stats = observed.data_stats
    sent = observed.continued_from
    if sent is not None and (record.lineage is None or record.lineage.sent != sent):
        # Vertex's word on what was sent: a record lost (or written by an older release)
        # gets its lineage back, without the spelling only the file knew.
        record.lineage = Lineage(*sent, base_model=observed.base_model)
    record.create_intent_at = None  # the List shows the job: the intent is fulfilled
