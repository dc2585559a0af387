"""Continuous tuning: which tuned model and checkpoint a `preTunedModel` job continues.

A job that continues another (`preTunedModel: {job: X, checkpoint}`) can be created only once
its parent succeeded, from a checkpoint the parent has; a parent that failed or was cancelled
will not succeed by waiting, so the child is `Blocked` until a human fixes one of the two. A
raw `{tunedModel, checkpointId}` names its parent directly; its root base model, which the
team policy judges, is what Vertex reported for the job that tuned it. Whatever the create
sends is its `Lineage`: recorded on the job's record, it says where the model came from after
the parent's file has left, and it makes the two spellings of one parent the same job.
Pure, like the rest of the planner.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from tuning_operator.planning.model import ObservedJob, Phase
from tuning_operator.specs.loader import LoadedJob
from tuning_operator.specs.model import PreTunedModel
from tuning_operator.specs.policy import POLICY_FILE, TeamPolicy

ENDED_BADLY = frozenset({Phase.FAILED, Phase.CANCELLED})


@dataclass(frozen=True)
class Lineage:
    """The parent a job was created from: what was sent, and how the file spelled it."""

    tuned_model: str  # the parent's tuned model resource, as sent
    checkpoint_id: str | None = None  # as sent (None: Vertex's default checkpoint)
    base_model: str | None = None  # the chain's root base model, when known
    job: str | None = None  # the parent job's name, for `{job: X}`
    checkpoint: str | None = None  # as written with `job`: best | last | an id

    @property
    def sent(self) -> tuple[str, str | None]:
        """(tuned model, checkpoint id): Vertex's `pre_tuned_model`."""
        return self.tuned_model, self.checkpoint_id

    def short(self) -> str:
        """The parent in a table cell: `parent @ 2`, or the model's id for a raw tunedModel."""
        parent = self.job or self.tuned_model.rsplit("/", 1)[-1]
        return parent + (f" @ {self.checkpoint_id}" if self.checkpoint_id else "")

    def describe(self) -> str:
        """One line for the create's reason, the audit trail and `status`."""
        via = f"job {self.job!r}" + (f" (checkpoint: {self.checkpoint})"
                                     if self.checkpoint else "") if self.job else "it"
        at = f" checkpoint {self.checkpoint_id}" if self.checkpoint_id else ""
        root = f", root base model {self.base_model}" if self.base_model else ""
        return f"continues {via}: tuned model {self.tuned_model}{at}{root}"


@dataclass(frozen=True)
class Held:
    """Why the create does not go out: the phase the job is in, and the reason."""

    phase: Phase  # WAITING (the parent may still succeed), INVALID or BLOCKED
    reason: str
    retry_after: float | None = None


def resolve(loaded: LoadedJob, parent: ObservedJob | None, *, best: str | None,
            diagnosed: bool) -> Lineage | Held:
    """For `preTunedModel: {job: X, checkpoint}`: the lineage to create from, or why not.

    `parent`: X's Vertex job (None: not created); `best`: the checkpoint the operator judged
    best; `diagnosed`: X's final curves have been read (or it has none to read).
    """
    pre = loaded.job.spec.pre_tuned_model
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
        return replace(lineage, checkpoint_id=best)
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
    from the Vertex job that tuned it; held when the team policy cannot be judged or refuses."""
    pre = loaded.job.spec.pre_tuned_model
    assert pre is not None and pre.tuned_model is not None
    root = root_of(pre.tuned_model, actual)
    lineage = Lineage(pre.tuned_model, pre.checkpoint_id, base_model=root)
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
    """The root base model Vertex reported for the job whose tuned model this is."""
    wanted = tuned_model.split("@", 1)[0]
    for observed in actual:
        if observed.tuned_model and observed.tuned_model.split("@", 1)[0] == wanted and (
                observed.base_model):
            return observed.base_model
    return None


def spellings(loaded: LoadedJob, lineage: Lineage | None,
              resolved: Lineage | None = None) -> frozenset[str]:
    """The spec labels this file also answers to: the other spelling of the parent the job was
    created from. Created from `{job: X}` and now naming the very `{tunedModel, checkpointId}`
    that resolved to; or created from a `{tunedModel, checkpointId}` and now naming a job that
    `resolved` (its resolution now) to exactly that. Either way Vertex got the same request."""
    pre = loaded.job.spec.pre_tuned_model
    if pre is None or lineage is None:
        return frozenset()
    if pre.tuned_model is not None and lineage.job is not None and (
            (pre.tuned_model, pre.checkpoint_id) == lineage.sent):
        written = PreTunedModel(job=lineage.job, checkpoint=lineage.checkpoint)
    elif pre.job is not None and lineage.job is None and resolved is not None and (
            resolved.sent == lineage.sent):
        written = PreTunedModel(tuned_model=lineage.tuned_model,
                                checkpoint_id=lineage.checkpoint_id)
    else:
        return frozenset()
    spec = loaded.job.spec.model_copy(update={"pre_tuned_model": written})
    return loaded.job.model_copy(update={"spec": spec}).spec_labels()


def respelled_as_job(loaded: LoadedJob, lineage: Lineage | None) -> bool:
    """Created from a `tunedModel`, the file now names a `job`: only that job's resolution can
    tell whether it is the same parent."""
    pre = loaded.job.spec.pre_tuned_model
    return (pre is not None and pre.job is not None and lineage is not None
            and lineage.job is None)
