"""The planner: desired (the jobs directory) × actual (one List of Vertex) → actions.

Pure and deterministic: the same inputs give the same plan, so `plan` on a pull request shows
exactly what the operator will do after merge. It never performs an action. Its safety rules
are the product's promise: a file that fails to load is not a deleted job, an empty or
unreadable directory or a mass disappearance cancels nothing, and unmanaged jobs only count
against the quota.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from tuning_operator.planning.model import ObservedJob, Phase
from tuning_operator.specs import labels as owner
from tuning_operator.specs.loader import DirectoryLoad, LoadedJob


class ActionKind(StrEnum):
    CREATE = "create"
    CANCEL = "cancel"
    WAIT = "wait"
    CONFLICT = "conflict"
    INVALID = "invalid"
    ORPHAN = "orphan"
    NOOP = "noop"


CHANGING = frozenset({ActionKind.CREATE, ActionKind.CANCEL})


@dataclass(frozen=True)
class Action:
    """One planned step for one job (or one broken file), with the phase it leads to."""

    kind: ActionKind
    reason: str
    phase: Phase | None
    job: str | None = None
    team: str | None = None
    region: str | None = None
    file: str | None = None
    vertex_name: str | None = None
    spec_hash: str | None = None
    dataset: str | None = None  # the dataset pre-flight's summary, when it ran


@dataclass(frozen=True)
class Remembered:
    """What the state store remembers of a job's last valid file, to judge its removal."""

    path: str
    team: str
    on_delete: str  # "Orphan" | "Cancel"


@dataclass(frozen=True)
class PlanSettings:
    default_region: str = "us-central1"
    max_concurrent_jobs: int | None = None  # per region; None: no limit known
    remembered: Mapping[str, Remembered] = field(default_factory=dict)
    first_seen: Mapping[str, float] = field(default_factory=dict)
    allow_mass_deletion: bool = False
    extra_active: Mapping[str, int] = field(default_factory=dict)  # region → unlisted active jobs
    dataset_blocks: Mapping[str, str] = field(default_factory=dict)  # job → why it may not start
    dataset_notes: Mapping[str, str] = field(default_factory=dict)  # job → pre-flight summary


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    held: tuple[str, ...]  # why removals were not acted on, for the operator's log and `plan`

    @property
    def changes(self) -> bool:
        return any(a.kind in CHANGING for a in self.actions)

    def counts(self) -> Counter[ActionKind]:
        return Counter(a.kind for a in self.actions)


def plan(desired: DirectoryLoad, actual: Sequence[ObservedJob], settings: PlanSettings) -> Plan:
    """Compute the actions that make Vertex match the directory."""
    managed: dict[str, list[ObservedJob]] = defaultdict(list)
    for observed in actual:
        if observed.job_name:
            managed[observed.job_name].append(observed)

    actions = list(_invalid_actions(desired, managed))
    candidates: list[LoadedJob] = []
    for loaded in desired.jobs.values():
        step = _desired_action(loaded, managed.get(loaded.name, []), settings)
        if step is None:
            candidates.append(loaded)
        else:
            actions.append(step)
    actions.extend(_admit(candidates, actual, desired, settings))
    removals, held = _removal_actions(desired, managed, settings)
    actions.extend(removals)
    if settings.dataset_notes:
        actions = [replace(a, dataset=settings.dataset_notes.get(a.job or "")) for a in actions]
    order = {kind: i for i, kind in enumerate(ActionKind)}
    actions.sort(key=lambda a: (order[a.kind], a.team or "", a.job or "", a.file or ""))
    return Plan(actions=tuple(actions), held=tuple(held))


def _newest(jobs: Iterable[ObservedJob]) -> ObservedJob:
    # Resource ids grow with creation; create_time breaks no tie the id does not.
    return max(jobs, key=lambda j: (j.create_time.timestamp() if j.create_time else 0, j.name))


def _invalid_actions(
    desired: DirectoryLoad, managed: Mapping[str, list[ObservedJob]]
) -> Iterable[Action]:
    first_error: dict[str, str] = {}
    for error in desired.errors:
        first_error.setdefault(error.file, error.message)
    for file, message in first_error.items():
        job = next((e.job for e in desired.errors if e.file == file and e.job), None)
        current = _newest(managed[job]) if job and managed.get(job) else None
        keep = f"; Vertex job {current.name} is left as it is" if current else ""
        yield Action(
            kind=ActionKind.INVALID, reason=message + keep, phase=Phase.INVALID, job=job,
            file=file, vertex_name=current.name if current else None,
        )


def _desired_action(
    loaded: LoadedJob, observed: list[ObservedJob], settings: PlanSettings
) -> Action | None:
    """The action for a valid job, or None when it is absent and must be admitted."""
    spec = loaded.job.spec
    base = {
        "job": loaded.name, "team": loaded.team, "file": loaded.path,
        "region": spec.region or settings.default_region, "spec_hash": loaded.spec_hash,
    }
    active = [o for o in observed if o.active]
    if spec.cancel:
        if active:
            target = _newest(active)
            return Action(kind=ActionKind.CANCEL, phase=Phase.CANCELLING,
                          vertex_name=target.name, reason="spec.cancel is true", **base)
        last = _newest(observed) if observed else None
        return Action(kind=ActionKind.NOOP, phase=last.phase if last else Phase.CANCELLED,
                      vertex_name=last.name if last else None,
                      reason="spec.cancel is true; no active job to cancel, none is created",
                      **base)
    accepted = loaded.spec_labels or {loaded.spec_hash[:16]}
    matching = [o for o in observed if o.spec_hash in accepted]
    if matching:
        current = _newest(matching)
        return Action(kind=ActionKind.NOOP, phase=current.phase, vertex_name=current.name,
                      reason=f"Vertex job is {current.state.removeprefix('JOB_STATE_')}", **base)
    if not observed:
        return None
    latest = _newest(observed)
    if spec.on_spec_change == "Replace":
        if active:
            target = _newest(active)
            return Action(kind=ActionKind.CANCEL, phase=Phase.CANCELLING, vertex_name=target.name,
                          reason="spec changed and onSpecChange is Replace: cancel the old job,"
                          " then create the new one", **base)
        return None
    return Action(
        kind=ActionKind.CONFLICT, phase=Phase.CONFLICT, vertex_name=latest.name,
        reason=f"spec changed since {latest.name} was created (spec {latest.spec_hash} →"
        f" {loaded.spec_hash[:16]}); Vertex jobs cannot be updated: rename the job to tune"
        " again (e.g. -v4), revert the change, or set onSpecChange: Replace",
        **base,
    )


def _admit(
    candidates: list[LoadedJob], actual: Sequence[ObservedJob], desired: DirectoryLoad,
    settings: PlanSettings,
) -> Iterable[Action]:
    """Create absent jobs while quota allows: priority first, then first seen."""
    used: Counter[str] = Counter(o.region for o in actual if o.active)
    used.update(settings.extra_active)
    team_used: Counter[str] = Counter(
        o.labels.get(owner.TEAM, "") for o in actual if o.active and o.managed
    )
    candidates.sort(key=lambda j: (-j.job.spec.priority,
                                   settings.first_seen.get(j.name, math.inf), j.name))
    limit = settings.max_concurrent_jobs
    for loaded in candidates:
        region = loaded.job.spec.region or settings.default_region
        base = {"job": loaded.name, "team": loaded.team, "file": loaded.path, "region": region,
                "spec_hash": loaded.spec_hash}
        team_rules = desired.policy.for_team(loaded.team) if desired.policy else None
        team_cap = team_rules.max_concurrent_jobs if team_rules else None
        blocked = settings.dataset_blocks.get(loaded.name)
        if blocked is not None:
            yield Action(kind=ActionKind.INVALID, phase=Phase.INVALID,
                         reason=f"dataset pre-flight failed: {blocked}", **base)
            continue
        if desired.policy_broken:
            reason = "the policy file is invalid; no job is created until it is fixed"
        elif limit is not None and used[region] >= limit:
            reason = f"quota: {used[region]}/{limit} concurrent tuning jobs active in {region}"
        elif team_cap is not None and team_used[loaded.team] >= team_cap:
            reason = (f"team cap: {team_used[loaded.team]}/{team_cap} of team"
                      f" {loaded.team!r}'s jobs active")
        else:
            used[region] += 1
            team_used[loaded.team] += 1
            yield Action(kind=ActionKind.CREATE, phase=Phase.SUBMITTED,
                         reason="no Vertex job with this name yet", **base)
            continue
        yield Action(kind=ActionKind.WAIT, phase=Phase.WAITING, reason=reason, **base)


def _removal_actions(
    desired: DirectoryLoad, managed: Mapping[str, list[ObservedJob]], settings: PlanSettings
) -> tuple[list[Action], list[str]]:
    """Active managed jobs whose file is gone: orphan them, or cancel if their file said so."""
    gone = {
        name: jobs for name, jobs in managed.items()
        if name not in desired.jobs and name not in desired.invalid_names
        and any(j.active for j in jobs)
    }
    previous = set(settings.remembered) or {n for n, js in managed.items()
                                            if any(j.active for j in js)}
    held: list[str] = []
    if not desired.readable or desired.file_count == 0:
        held.append("the jobs directory is empty or unreadable: nothing is cancelled")
    vanished = [n for n in previous if n not in desired.jobs and n not in desired.invalid_names]
    if len(previous) >= 2 and len(vanished) * 2 > len(previous) and not (
        settings.allow_mass_deletion
    ):
        held.append(f"{len(vanished)} of {len(previous)} jobs vanished at once: nothing is"
                    " cancelled (pass --allow-mass-deletion if this is intended)")
    if desired.unnamed_failures:
        held.append(f"{desired.unnamed_failures} file(s) failed before their job name could be"
                    " read: no removed job is cancelled until they load")
    actions = []
    for name, jobs in sorted(gone.items()):
        target = _newest([j for j in jobs if j.active])
        remembered = settings.remembered.get(name)
        team = remembered.team if remembered else target.labels.get(owner.TEAM)
        base = {"job": name, "team": team, "region": target.region, "vertex_name": target.name,
                "spec_hash": target.spec_hash}
        if remembered is None or remembered.on_delete != "Cancel":
            yield_reason = "file removed; onDelete is Orphan: the Vertex job runs on, unmanaged"
            if remembered is None:
                yield_reason = "no job file for this managed Vertex job: it runs on, unmanaged"
            actions.append(Action(kind=ActionKind.ORPHAN, phase=Phase.ORPHANED,
                                  reason=yield_reason, **base))
        elif held:
            actions.append(Action(kind=ActionKind.NOOP, phase=target.phase,
                                  reason="file removed with onDelete: Cancel, but held: "
                                  + "; ".join(held), **base))
        else:
            actions.append(Action(kind=ActionKind.CANCEL, phase=Phase.CANCELLING,
                                  reason="file removed and its last spec said onDelete: Cancel",
                                  **base))
    return actions, held
