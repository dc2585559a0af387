"""The planner: desired (the jobs directory) × actual (one List of Vertex) → actions.

Pure and deterministic: the same inputs give the same plan, so `plan` on a pull request, or
against live state with the operator's memory (`--state-dir`), shows exactly what the next pass
does. Everything that decides whether an action goes out is an input here (quota, policy, team
ownership, stalled specs, backoff, the create fence, the settle window, the dataset pre-flight);
the reconciler only executes. Its safety rules are the product's promise: a file that fails to
load is not a deleted job, an empty or unreadable directory or a mass disappearance cancels
nothing, a team never touches another team's Vertex job, and unmanaged jobs only count against
the quota.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import partial

from tuning_operator.planning import aftercare, chains, gates
from tuning_operator.planning.actions import (
    _AFTERCARE,
    CHANGING,
    Action,
    ActionKind,
    Plan,
    PlanSettings,
    Quota,
    Remembered,
)
from tuning_operator.planning.aftercare import Progress
from tuning_operator.planning.aliases import alias_steps
from tuning_operator.planning.budgets import Budgets
from tuning_operator.planning.identity import current_job, newest, owned_by
from tuning_operator.planning.model import FINAL_PHASES, Lineage, ObservedJob, Phase
from tuning_operator.specs import during
from tuning_operator.specs import labels as owner
from tuning_operator.specs.loader import DirectoryLoad, LoadedJob
from tuning_operator.specs.rules import region_problem, tuned_model_region

__all__ = ["CHANGING", "Action", "ActionKind", "Plan", "PlanSettings", "Remembered", "plan"]


def plan(desired: DirectoryLoad, actual: Sequence[ObservedJob], settings: PlanSettings) -> Plan:
    """Compute the actions that make Vertex match the directory."""
    managed: dict[str, list[ObservedJob]] = defaultdict(list)
    for observed in actual:
        if observed.job_name:
            managed[observed.job_name].append(observed)

    actions = list(_invalid_actions(desired, managed))
    candidates: list[LoadedJob] = []
    respelled = chains.respelled(desired, managed, settings)
    for loaded in desired.jobs.values():
        step = _desired_action(loaded, managed.get(loaded.name, []), settings,
                               resolved=respelled.get(loaded.name))
        if step is None:
            candidates.append(loaded)
        else:
            actions.append(step)
    quota = Quota(actual, settings)
    budgets = Budgets(desired.policy, settings.spent, settings.estimates)
    actions.extend(_admit(candidates, desired, settings, (quota, budgets), managed))
    removals, held = _removal_actions(desired, managed, settings)
    actions.extend(removals)
    later, holding, owing, recheck = _aftercare(desired, managed, settings,
                                                 respelled=respelled)
    actions.extend(later)
    promotions, alias_holds = alias_steps(desired, {
        name: current_job(loaded, managed.get(name, []), chains.lineage_of(settings, name),
                          respelled.get(name)) for name, loaded in desired.jobs.items()
    }, settings.aliases)
    actions.extend(promotions)
    holding = [*holding, *alias_holds]
    if settings.dataset_notes or settings.estimates:
        actions = [replace(a, dataset=settings.dataset_notes.get(a.job or ""),
                           estimate=settings.estimates.get(a.job or "")) for a in actions]
    order = {kind: i for i, kind in enumerate(ActionKind)}
    actions.sort(key=lambda a: (order[a.kind], a.team or "", a.job or "", a.file or ""))
    return Plan(actions=tuple(actions), held=tuple(held), quota=quota.describe(),
                owing=owing, recheck_after=recheck, holding=tuple(holding),
                money=budgets.teams())


def _aftercare(desired: DirectoryLoad, managed: Mapping[str, list[ObservedJob]],
               settings: PlanSettings, *, respelled: Mapping[str, Lineage],
               ) -> tuple[list[Action], list[Action], tuple[str, ...], float | None]:
    """Post-success steps due this pass, those held (for `plan`), the jobs that still owe some,
    the next recheck. The pacing of curve reads while a job runs is no hold worth showing."""
    if settings.timing is None:
        return [], [], (), None
    actions: list[Action] = []
    holding: list[Action] = []
    owing: list[str] = []
    recheck: float | None = None
    for name, loaded in desired.jobs.items():
        current = current_job(loaded, managed.get(name, []), chains.lineage_of(settings, name),
                              respelled.get(name))
        if current is None or loaded.spec.cancel:
            continue
        progress = settings.progress.get(name, Progress())
        if aftercare.owed(loaded, current, progress):
            owing.append(name)
        base = _template(job=name, team=loaded.team, file=loaded.path, region=current.region,
                         vertex_name=current.name, spec_hash=loaded.spec_hash)
        for step in aftercare.due(loaded, current, progress, settings.timing):
            action = replace(base, kind=_AFTERCARE[step.step], phase=current.phase,
                             reason=step.reason, retry_after=step.retry_after)
            if not step.held:
                actions.append(replace(action, retry_after=None))
                continue
            if step.retry_after is not None:  # None: nothing to wait for, the next pass looks
                recheck = (step.retry_after if recheck is None
                           else min(recheck, step.retry_after))
            if not step.pacing:
                holding.append(action)
    return actions, holding, tuple(sorted(owing)), recheck


def _region(loaded: LoadedJob, settings: PlanSettings) -> str:
    """Where the job tunes: its file's region, its parent's (by the chain, or by the tuned
    model it was created from once the parent's file has left), or the operator's default."""
    lineage = chains.lineage_of(settings, loaded.name)
    return (loaded.region or (tuned_model_region(lineage.tuned_model) if lineage else None)
            or settings.default_region)


def _team_of_file(desired: DirectoryLoad, file: str) -> str | None:
    rel = os.path.relpath(file, desired.root).replace(os.sep, "/")
    parts = rel.split("/")
    return parts[0] if len(parts) > 1 and parts[0] not in ("", "..") else None


def _invalid_actions(
    desired: DirectoryLoad, managed: Mapping[str, list[ObservedJob]]
) -> Iterable[Action]:
    first_error: dict[str, str] = {}
    for error in desired.errors:
        first_error.setdefault(error.file, error.message)
    for file, message in first_error.items():
        job = next((e.job for e in desired.errors if e.file == file and e.job), None)
        current = newest(managed[job]) if job and managed.get(job) else None
        keep = f"; Vertex job {current.name} is left as it is" if current else ""
        yield Action(
            kind=ActionKind.INVALID, reason=message + keep, phase=Phase.INVALID, job=job,
            team=_team_of_file(desired, file), file=file,
            vertex_name=current.name if current else None,
        )


def _template(*, job: str, team: str | None, region: str, spec_hash: str | None,
              file: str | None = None, vertex_name: str | None = None) -> Action:
    """The who-and-where of a job's actions; each action replaces kind, phase and reason."""
    return Action(kind=ActionKind.NOOP, reason="", phase=None, job=job, team=team,
                  region=region, file=file, vertex_name=vertex_name, spec_hash=spec_hash)


def _desired_action(
    loaded: LoadedJob, observed: list[ObservedJob], settings: PlanSettings, *,
    resolved: Lineage | None = None,
) -> Action | None:
    """The action for a valid job, or None when it is absent and must be admitted."""
    spec = loaded.spec
    remembered = settings.remembered.get(loaded.name)
    if not observed and not spec.cancel and (
            remembered is None or remembered.stalled_spec != loaded.spec_hash):
        return None  # the usual new job, decided before any Action is built (issue 31)
    base = _template(job=loaded.name, team=loaded.team, file=loaded.path,
                     region=_region(loaded, settings), spec_hash=loaded.spec_hash)
    foreign = [o for o in observed if not owned_by(o, loaded.team)]
    if foreign:
        other = newest(foreign)
        return replace(
            base, kind=ActionKind.CONFLICT, phase=Phase.CONFLICT, vertex_name=other.name,
            reason=f"Vertex job {other.name} named {loaded.name!r} belongs to team"
            f" {other.labels.get(owner.TEAM)!r}; a file of team {loaded.team!r} can neither"
            " adopt, cancel nor replace it: choose another name (jobs never move between"
            " teams, see the README)")
    active = [o for o in observed if o.active]
    if spec.cancel:
        if active:
            return _cancel(newest(active), "spec.cancel is true", path=loaded.path,
                           remembered=remembered, settings=settings, base=base)
        last = newest(observed) if observed else None
        return replace(base, kind=ActionKind.NOOP, phase=last.phase if last else Phase.CANCELLED,
                      vertex_name=last.name if last else None,
                      reason="spec.cancel is true; no active job to cancel, none is created")
    current = current_job(loaded, observed, remembered.lineage if remembered else None, resolved)
    if current is not None:
        return replace(base, kind=ActionKind.NOOP, phase=current.phase, vertex_name=current.name,
                      reason=f"Vertex job is {current.state.removeprefix('JOB_STATE_')}",
                      retry_after=None if current.phase in FINAL_PHASES else 5.0, poll=True)
    if not observed:
        if remembered and remembered.stalled_spec == loaded.spec_hash:
            return replace(base, kind=ActionKind.INVALID, phase=Phase.INVALID, stalled=True,
                          reason=f"Vertex refused this spec: {remembered.stalled_reason};"
                          " change the spec to try again")
        return None
    latest = newest(observed)
    if spec.on_spec_change == "Replace":
        if active:
            return _cancel(newest(active), "spec changed and onSpecChange is Replace: cancel"
                           " the old job, then create the new one", path=loaded.path,
                           remembered=remembered, settings=settings, base=base)
        return None
    return replace(
        base, kind=ActionKind.CONFLICT, phase=Phase.CONFLICT, vertex_name=latest.name,
        reason=f"spec changed since {latest.name} was created (spec {latest.spec_hash} →"
        f" {loaded.spec_hash[:16]}); Vertex jobs cannot be updated: rename the job to tune"
        " again (e.g. -v4), revert the change, or set onSpecChange: Replace")


def _cancel(target: ObservedJob, reason: str, *, path: str | None,
            remembered: Remembered | None, settings: PlanSettings, base: Action) -> Action:
    """A cancel of `target`, unless it is already cancelling or a gate holds it back."""
    base = replace(base, vertex_name=target.name)
    if target.state == "JOB_STATE_CANCELLING":
        return replace(base, kind=ActionKind.NOOP, phase=Phase.CANCELLING, retry_after=5.0,
                       poll=True, reason=f"{reason}; cancel requested, Vertex is cancelling")
    gate = (gates.settling(settings.timing, path)
            or gates.backing_off(settings.timing, remembered.not_before if remembered else None,
                                 "call"))
    if gate is not None:
        return replace(base, kind=ActionKind.NOOP, phase=target.phase,
                       retry_after=gate.retry_after,
                       reason=f"{reason}; the cancel waits: {gate.reason}")
    return replace(base, kind=ActionKind.CANCEL, phase=Phase.CANCELLING, reason=reason)


def _admit(candidates: list[LoadedJob], desired: DirectoryLoad, settings: PlanSettings,
           limits: tuple[Quota, Budgets],
           managed: Mapping[str, list[ObservedJob]]) -> Iterable[Action]:
    """Create absent jobs while quota and budgets allow: priority first, then first seen,
    across regions.

    An admitted job whose create is held back by a gate (fence, settle, backoff, pre-flight)
    keeps its slot: a fenced create may have landed, and the slot must not go to another job.
    """
    quota, budgets = limits
    candidates.sort(key=lambda j: (-j.spec.priority,
                                   settings.first_seen.get(j.name, math.inf), j.name))
    for loaded in candidates:
        region = _region(loaded, settings)
        # Each outcome is one Action built once (a replace() per step was most of the cost of
        # planning 10,000 creates, issue 31).
        action = partial(Action, job=loaded.name, team=loaded.team, file=loaded.path,
                         region=region, spec_hash=loaded.spec_hash)
        team_rules = desired.policy.for_team(loaded.team) if desired.policy else None
        team_cap = team_rules.max_concurrent_jobs if team_rules else None
        dataset = settings.dataset_blocks.get(loaded.name)
        blocked = (loaded.uncreatable if loaded.uncreatable is not None
                   else f"dataset pre-flight failed: {dataset}" if dataset is not None
                   else _region_rule(loaded, region, settings)
                   or during.create_problem(loaded, region=region,
                                            artifacts=settings.artifacts))
        if blocked is not None:
            yield action(kind=ActionKind.INVALID, phase=Phase.INVALID, reason=blocked)
            continue
        parent = chains.parent_of(loaded, desired, managed=managed, settings=settings,
                                  rules=team_rules)
        if isinstance(parent, chains.Held):
            yield action(kind=_HELD[parent.phase], phase=parent.phase, reason=parent.reason,
                         retry_after=parent.retry_after)
            continue
        full = quota.full(region)
        if desired.policy_broken:
            reason = "the policy file is invalid; no job is created until it is fixed"
        elif full is not None:
            reason = full
        elif team_cap is not None and quota.team_used[loaded.team] >= team_cap:
            reason = (f"team cap: {quota.team_used[loaded.team]}/{team_cap} jobs of team"
                      f" {loaded.team!r} active")
        elif (admission := budgets.admit(loaded.team, loaded.name)).wait is not None:
            yield action(kind=ActionKind.WAIT, phase=Phase.WAITING, reason=admission.wait,
                         budget_wait=admission.settled, lineage=parent)
            continue
        else:
            quota.take(region, loaded.team)
            budgets.take(loaded.team, loaded.name)
            warned = f"; warning: {admission.warning}" if admission.warning else ""
            yield _gated_create(loaded, settings, action, lineage=parent, warned=warned)
            continue
        yield action(kind=ActionKind.WAIT, phase=Phase.WAITING, reason=reason, lineage=parent)


_HELD = {Phase.WAITING: ActionKind.WAIT, Phase.INVALID: ActionKind.INVALID,
         Phase.BLOCKED: ActionKind.BLOCK}


def _region_rule(loaded: LoadedJob, region: str, settings: PlanSettings) -> str | None:
    """A job that names no region runs in its parent's region or the operator's default: the
    model may not tune there (`validate` cannot know the default)."""
    if settings.catalog is None or loaded.spec.region or not loaded.base_model:
        return None
    model = settings.catalog.get(loaded.base_model)
    return region_problem(model, region) if model is not None else None


def _gated_create(loaded: LoadedJob, settings: PlanSettings, action: Callable[..., Action], *,
                  lineage: Lineage | None, warned: str) -> Action:
    """The create, or the wait a gate (backoff, pre-flight, settle, fence) puts before it."""
    remembered = settings.remembered.get(loaded.name)
    timing = settings.timing
    gate = (gates.backing_off(timing, remembered.not_before if remembered else None, "create")
            or gates.dataset_unchecked(settings.datasets_checked, loaded.name)
            or gates.settling(timing, loaded.path)
            or gates.fenced(timing, remembered.create_intent_at if remembered else None))
    if gate is not None:
        return action(kind=ActionKind.WAIT, phase=Phase.WAITING, reason=gate.reason + warned,
                      retry_after=gate.retry_after, lineage=lineage)
    described = f"; {lineage.describe()}" if lineage else ""
    return action(kind=ActionKind.CREATE, phase=Phase.SUBMITTED, lineage=lineage,
                  reason="no Vertex job with this name yet" + described + warned)


def _removal_actions(
    desired: DirectoryLoad, managed: Mapping[str, list[ObservedJob]], settings: PlanSettings
) -> tuple[list[Action], list[str]]:
    """Jobs whose file is gone: cancel or orphan the active ones, retire the ended ones.

    The mass-deletion guard compares with the jobs of the previous pass (records still in the
    directory), never with every job ever seen.
    """
    present = desired.jobs.keys() | desired.invalid_names
    previous = {n for n, r in settings.remembered.items() if r.in_directory and r.path}
    if not settings.remembered:
        previous = {n for n, js in managed.items() if any(j.active for j in js)}
    held: list[str] = []
    if not desired.readable or desired.file_count == 0:
        held.append("the jobs directory is empty or unreadable: nothing is cancelled")
    vanished = previous - present
    if len(previous) >= 2 and len(vanished) * 2 > len(previous) and not (
        settings.allow_mass_deletion
    ):
        held.append(f"{len(vanished)} of {len(previous)} jobs vanished at once: nothing is"
                    " cancelled (pass --allow-mass-deletion if this is intended)")
    if desired.unnamed_failures:
        held.append(f"{desired.unnamed_failures} file(s) or director(ies) failed before their"
                    " job names could be read: no removed job is cancelled until they load")
    gone = (set(managed) | set(settings.remembered)) - present
    actions = [a for name in sorted(gone)
               if (a := _removal(name, managed.get(name, []), settings, held)) is not None]
    return actions, held


def _removal(name: str, jobs: list[ObservedJob], settings: PlanSettings,
             held: list[str]) -> Action | None:
    remembered = settings.remembered.get(name)
    active = [j for j in jobs if j.active]
    if not active:
        if remembered is None or held:
            return None  # history, or nothing may be concluded while removals are held
        last = newest(jobs) if jobs else None
        ended = f"its Vertex job ended {last.state.removeprefix('JOB_STATE_')}" if last else (
            "it never reached Vertex")
        phase = None if last is None else (
            Phase.ORPHANED if remembered.phase == Phase.ORPHANED.value else last.phase)
        base = _template(job=name, team=remembered.team, region=last.region if last else "",
                         vertex_name=last.name if last else None, spec_hash=None)
        if phase is not None and remembered.phase != phase.value:
            # Tell the end first (an event, in the outbox); the record retires on a later pass.
            return replace(base, kind=ActionKind.NOOP, phase=phase, retry_after=1.0,
                           reason=f"file removed and {ended}")
        return replace(base, kind=ActionKind.RETIRE, phase=phase,
                       reason=f"file removed and {ended}: the record is retired")
    target = newest(active)
    team = remembered.team if remembered else target.labels.get(owner.TEAM)
    base = _template(job=name, team=team, region=target.region, vertex_name=target.name,
                     spec_hash=target.spec_hash)
    if remembered is None and not settings.removals_known:  # a plan without state or base
        return replace(base, kind=ActionKind.ORPHAN, phase=Phase.ORPHANED, unsure=True,
                       reason="no job file for this managed Vertex job: orphan or cancel"
                       " (onDelete unknown: pass --base)")
    if remembered is None:
        return replace(base, kind=ActionKind.ORPHAN, phase=Phase.ORPHANED,
                      reason="no job file for this managed Vertex job: it runs on, unmanaged")
    if remembered.on_delete != "Cancel":
        return replace(base, kind=ActionKind.ORPHAN, phase=Phase.ORPHANED,
                      reason="file removed; onDelete is Orphan: the Vertex job runs on, unmanaged")
    if not owned_by(target, remembered.team):
        return replace(base, kind=ActionKind.ORPHAN, phase=Phase.ORPHANED,
                      reason=f"file of team {remembered.team!r} removed, but Vertex job"
                      f" {target.name} belongs to team {target.labels.get(owner.TEAM)!r}:"
                      " it is not cancelled")
    if held:
        return replace(base, kind=ActionKind.NOOP, phase=target.phase, retry_after=5.0,
                      reason="file removed with onDelete: Cancel, but held: " + "; ".join(held))
    return _cancel(target, "file removed and its last spec said onDelete: Cancel", path=None,
                   remembered=remembered, settings=settings, base=base)
