"""Actual state, read the same way by the operator and by a live `plan`.

One filtered, paged List per region, never a Get per job; the regions are the operator's
default, those the job files name, those where the status store last saw a job, and any extra
regions given for the global quota. The plan settings come from the status store the same way
too, so `plan` against live Vertex shows exactly what the next pass will do.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol

from tuning_operator.planning.aftercare import Progress
from tuning_operator.planning.gates import Timing
from tuning_operator.planning.model import ObservedJob
from tuning_operator.planning.planner import PlanSettings, Remembered
from tuning_operator.specs import DirectoryLoad
from tuning_operator.specs.catalog import Catalog
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


def plan_settings(records: Mapping[str, JobRecord], *, default_region: str,
                  max_concurrent_jobs: int | None,
                  quota_scope: Literal["global", "region"] = "global",
                  allow_mass_deletion: bool = False,
                  unmanaged: Mapping[str, int] | None = None,
                  blocks: Mapping[str, str] | None = None,
                  notes: Mapping[str, str] | None = None,
                  checked: frozenset[str] | None = None,
                  timing: Timing | None = None,
                  not_before: Mapping[str, float] | None = None,
                  fence_all_from: float | None = None,
                  catalog: Catalog | None = None) -> PlanSettings:
    """The planner's settings from the status store's memory of each job.

    `fence_all_from`: the state was lost or recovered at that time, so any create may have
    been sent without a surviving intent: every create is fenced as if intended then.
    """
    not_before = not_before or {}

    def intent(record: JobRecord) -> float | None:
        times = [t for t in (record.create_intent_at, fence_all_from) if t is not None]
        return max(times, default=None)

    remembered = {
        n: Remembered(path=r.path, team=r.team or "", on_delete=r.on_delete,
                      in_directory=r.file_removed_at is None, phase=r.phase,
                      create_intent_at=intent(r), stalled_spec=r.stalled_spec,
                      stalled_reason=r.stalled_reason, not_before=not_before.get(n))
        for n, r in records.items()
    }
    return PlanSettings(
        default_region=default_region,
        max_concurrent_jobs=max_concurrent_jobs,
        quota_scope=quota_scope,
        remembered=remembered,
        first_seen={n: r.first_seen for n, r in records.items()},
        allow_mass_deletion=allow_mass_deletion,
        extra_active=dict(unmanaged or {}),
        dataset_blocks=dict(blocks or {}),
        dataset_notes=dict(notes or {}),
        datasets_checked=checked,
        timing=timing,
        progress={n: progress_of(r, smoke_not_before=not_before.get(f"smoke:{n}"))
                  for n, r in records.items()},
        catalog=catalog,
    )


def progress_of(record: JobRecord, *, smoke_not_before: float | None = None) -> Progress:
    """What the store remembers of a job's post-success steps."""
    smoke = record.smoke_test or {}
    evaluation = record.evaluation or {}
    best = (record.diagnosis or {}).get("bestCheckpoint") or {}
    return Progress(metrics_read_at=record.metrics_read_at, metrics_final=record.metrics_final,
                    best_checkpoint=best.get("id"), smoke=smoke.get("endpoint"),
                    smoke_not_before=smoke_not_before, evaluation_verdict=evaluation.get("verdict"),
                    evaluation_key=evaluation.get("key"))


def refresh_record(record: JobRecord, observed: ObservedJob) -> None:
    """What Vertex says of the job, refreshed every pass (never kept from an older pass)."""
    record.vertex_name = observed.name
    record.vertex_state = observed.state
    record.tuned_model = observed.tuned_model
    record.endpoint = observed.tuned_endpoint
    record.vertex_error = observed.error
    record.region = observed.region or record.region
    record.experiment = observed.experiment
    record.checkpoints = [c.to_dict() for c in observed.checkpoints]
    if observed.data_stats is not None:
        record.data_stats = dict(asdict(observed.data_stats))
    record.create_intent_at = None  # the List shows the job: the intent is fulfilled
