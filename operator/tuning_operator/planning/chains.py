"""Continuous tuning: which tuned model and checkpoint a `preTunedModel` job continues.

A job that continues another (`preTunedModel: {job: X, checkpoint}`) can be created only once
its parent succeeded, from a checkpoint the parent has; a parent that failed or was cancelled
will not succeed by waiting, so the child is `Blocked` until a human fixes one of the two. A
raw `{tunedModel, checkpointId}` names its parent directly; its root base model, which the
team policy judges, is what Vertex reported for the job that tuned it. Whatever the create
sends is its `Lineage`: recorded on the job's record, it says where the model came from after
the parent's file has left, and it makes the two spellings of one parent the same job.
Pure, like the rest of the planner; `parent_of` is the planner's one question to this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from tuning_operator.planning import identity
from tuning_operator.planning.actions import PlanSettings
from tuning_operator.planning.identity import current_job, newest
from tuning_operator.planning.model import Lineage, ObservedJob, Phase
from tuning_operator.specs.loader import DirectoryLoad, LoadedJob
from tuning_operator.specs.policy import POLICY_FILE, TeamPolicy

ENDED_BADLY = frozenset({Phase.FAILED, Phase.CANCELLED})


@dataclass(frozen=True)
class Held:
    """Why the create does not go out: the phase the job is in, and the reason."""

    phase: Phase  # WAITING (the parent may still succeed), INVALID or BLOCKED
    reason: str
    retry_after: float | None = None


def resolve(loaded: LoadedJob, parent: ObservedJob | None, *, best: str | None,
            diagnosed: bool, verdict: str | None = None) -> Lineage | Held:
    """For `preTunedModel: {job: X, checkpoint}`: the lineage to create from, or why not.

    `parent`: X's Vertex job (None: not created); `best`: the checkpoint the operator judged
    best; `diagnosed`: X's final curves have been read (or it has none to read); `verdict`: the
    diagnosis of those curves. `checkpoint: best` of a parent whose curves diverged is
    `Blocked`: its weights carry the NaN or the explosion, and a tuning job started from them
    is paid for and cannot be taken back, so a person decides (`last` or an id, or tune the
    parent again). A healthy parent with no best checkpoint is continued from its final model.
    """
    pre = loaded.spec.pre_tuned_model
    assert pre is not None and pre.job is not None
    if parent is not None and parent.phase in ENDED_BADLY:
        state = parent.state.removeprefix("JOB_STATE_")
        error = f" ({parent.error})" if parent.error else ""
        return Held(Phase.BLOCKED, f"continues job {pre.job!r}, whose Vertex job"
                    f" {parent.name} ended {state}{error}; it will not succeed by waiting: tune"
                    " the parent again (a new name) and point `preTunedModel.job` at it, or"
                    " remove this job")
    if parent is None or parent.phase != Phase.SUCCEEDED or not parent.tuned_model:
        state = parent.state.removeprefix("JOB_STATE_") if parent else "not created yet"
        return Held(Phase.WAITING, f"continues job {pre.job!r}, which has not succeeded"
                    f" ({state})", retry_after=5.0)
    choice = pre.checkpoint or "last"
    lineage = Lineage(parent.tuned_model, base_model=loaded.base_model or parent.base_model,
                      job=pre.job, checkpoint=pre.checkpoint)
    if choice == "best":
        if parent.experiment and not diagnosed:
            return Held(Phase.WAITING, f"waits for the final diagnosis of {pre.job!r}"
                        " (checkpoint: best)", retry_after=5.0)
        from tuning_operator.judging.asking import trusted_best  # off the validate path

        trusted, why = trusted_best(verdict, best)
        if verdict == "diverged":
            return Held(Phase.BLOCKED, f"continues {pre.job!r} from its best checkpoint, but"
                        f" {why}: nothing is continued from a diverged run; set"
                        " preTunedModel.checkpoint to `last` or a checkpoint id to continue"
                        f" anyway, or tune {pre.job!r} again")
        return replace(lineage, checkpoint_id=trusted)
    if choice == "last":
        last = max(parent.checkpoints, key=lambda c: c.step, default=None)
        return replace(lineage, checkpoint_id=last.checkpoint_id if last else None)
    known = [c.checkpoint_id for c in parent.checkpoints]
    if known and choice not in known:
        return Held(Phase.INVALID, f"`spec.preTunedModel.checkpoint`: job {pre.job!r} has no"
                    f" checkpoint {choice!r}; its checkpoints are {', '.join(known)}: use one"
                    " of them, `best` or `last`")
    return replace(lineage, checkpoint_id=choice)


def resolve_tuned_model(loaded: LoadedJob, actual: Iterable[ObservedJob],
                        rules: TeamPolicy | None) -> Lineage | Held:
    """For `preTunedModel: {tunedModel, checkpointId}`: the lineage, its root base model taken
    from the Vertex job that tuned it; invalid when that job lacks the checkpoint, held when
    the team policy cannot be judged or refuses."""
    pre = loaded.spec.pre_tuned_model
    assert pre is not None and pre.tuned_model is not None
    jobs = list(actual)
    root = root_of(pre.tuned_model, jobs)
    lineage = Lineage(pre.tuned_model, pre.checkpoint_id, base_model=root)
    maker = next((o for o in jobs if o.tuned_model == pre.tuned_model), None)  # that version
    known = [c.checkpoint_id for c in maker.checkpoints] if maker else []
    if pre.checkpoint_id is not None and known and pre.checkpoint_id not in known:
        return Held(Phase.INVALID, f"`spec.preTunedModel.checkpointId`: {pre.tuned_model} has"
                    f" no checkpoint {pre.checkpoint_id!r}; its checkpoints are"
                    f" {', '.join(known)}: use one of them")
    if rules is None or rules.base_models is None:
        return lineage
    allowed = ", ".join(rules.base_models)
    if root is None:
        return Held(Phase.BLOCKED, f"`spec.preTunedModel.tunedModel`: the base model"
                    f" {pre.tuned_model} was tuned from is not known (no tuning job the"
                    f" operator lists made it), and team {loaded.team!r} may use only"
                    f" {allowed} ({POLICY_FILE}): continue it through `preTunedModel.job`, or"
                    " ask the platform team to lift the rule")
    if not rules.admits_base_model(root):
        return Held(Phase.INVALID, f"`spec.preTunedModel.tunedModel`: {pre.tuned_model} was"
                    f" tuned from {root}, and team {loaded.team!r} may use only {allowed}"
                    f" ({POLICY_FILE}): continue a model tuned from one of those")
    return lineage


def root_of(tuned_model: str, actual: Iterable[ObservedJob]) -> str | None:
    """The root base model Vertex reported for a job that tuned this model (any version of
    it: the versions of one model continue one another, so they share the root)."""
    wanted = tuned_model.split("@", 1)[0]
    for observed in actual:
        if observed.tuned_model and observed.tuned_model.split("@", 1)[0] == wanted and (
                observed.base_model):
            return observed.base_model
    return None


def parent_of(loaded: LoadedJob, desired: DirectoryLoad, *,
              managed: Mapping[str, list[ObservedJob]], settings: PlanSettings,
              rules: TeamPolicy | None) -> Lineage | Held | None:
    """What a `preTunedModel` job is created from (None: it starts from a base model)."""
    pre = loaded.spec.pre_tuned_model
    if pre is None:
        return None
    if pre.job is None:
        return resolve_tuned_model(loaded, (o for jobs in managed.values() for o in jobs), rules)
    parent_file = desired.jobs.get(pre.job)
    observed = managed.get(pre.job, [])
    parent = (current_job(parent_file, observed, lineage_of(settings, pre.job)) if parent_file
              else None) or (newest(observed) if observed else None)
    progress = settings.progress.get(pre.job)
    return resolve(loaded, parent, best=progress.best_checkpoint if progress else None,
                   diagnosed=bool(progress and progress.metrics_final),
                   verdict=progress.diagnosis if progress else None)


def respelled(desired: DirectoryLoad, managed: Mapping[str, list[ObservedJob]],
              settings: PlanSettings) -> dict[str, Lineage]:
    """What the `job:` of each file created from a `tunedModel` resolves to now (rare: only
    these need their parent resolved to be recognised)."""
    found: dict[str, Lineage] = {}
    for name, loaded in desired.jobs.items():
        if identity.respelled_as_job(loaded, lineage_of(settings, name)):
            parent = parent_of(loaded, desired, managed=managed, settings=settings, rules=None)
            if isinstance(parent, Lineage):
                found[name] = parent
    return found


def lineage_of(settings: PlanSettings, name: str) -> Lineage | None:
    """The parent `name` was created from, as the status store remembers it."""
    remembered = settings.remembered.get(name)
    return remembered.lineage if remembered else None
