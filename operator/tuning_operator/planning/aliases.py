"""Plan the aliases: promote when the gate holds, hold when it fails, wait while it cannot tell.

An alias moves only on a reviewed file and a passed gate: the job it names must have
succeeded and, unless the file says `requireEvaluation: none`, its evaluation must be `passed`
for the job's current evaluation spec and set (a verdict of an older set is no verdict). A
failed gate holds the alias where it is, with the reason a reviewer reads in the plan (flagged
"no longer passing" when the alias already sits on that job: its set changed since); a job
still running or being evaluated is a wait. A removed alias file takes the alias off Vertex,
unless the directory looks damaged (the same guard that holds job removals). Pure, like the
planner: the reconciler executes the promotions (`reconciling/promotion.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from tuning_operator.planning.actions import Action, ActionKind
from tuning_operator.planning.aftercare import FINAL_VERDICTS, evaluation_key
from tuning_operator.planning.alias_model import (
    NO_LONGER_PASSING,
    AliasInputs,
    AliasMove,
    AliasTarget,
    GateResult,
)
from tuning_operator.planning.model import ObservedJob, Phase
from tuning_operator.specs.aliases import LoadedAlias
from tuning_operator.specs.loader import DirectoryLoad


def alias_steps(desired: DirectoryLoad, current: Mapping[str, ObservedJob | None],
                inputs: AliasInputs) -> tuple[list[Action], list[Action]]:
    """(actions: promotions, removals and waits; holds, shown but never executed).

    `current`: each valid job's Vertex job for its current spec (None: not created yet).
    """
    actions: list[Action] = []
    holds: list[Action] = []
    for _, loaded in sorted(desired.aliases.items()):
        step = _step(loaded, desired, current.get(loaded.job), inputs)
        if step is not None:
            (holds if step.kind == ActionKind.PROMOTE and step.alias is None else actions
             ).append(step)
    for removal in _removals(desired, inputs):
        (actions if removal.alias is not None else holds).append(removal)
    return actions, holds


def _was(target: AliasTarget | None) -> str:
    return f"stays on {target.job}" if target else "stays unset"


def _step(loaded: LoadedAlias, desired: DirectoryLoad, observed: ObservedJob | None,
          inputs: AliasInputs) -> Action | None:
    target = inputs.targets.get(loaded.key)
    job, spec = loaded.job, loaded.alias.spec

    def wait(why: str) -> Action:
        return _action(ActionKind.WAIT, loaded, f"{why}; {_was(target)}")

    def hold(why: str) -> Action:  # a PROMOTE without a move: listed as held, never executed
        return _action(ActionKind.PROMOTE, loaded, f"{why}; {_was(target)}")

    job_file = desired.jobs.get(job)
    if job_file is None:
        return hold(f"the file of job {job} is invalid")
    if observed is None or observed.phase not in (Phase.SUCCEEDED, Phase.FAILED,
                                                  Phase.CANCELLED):
        return wait(f"{job} is {observed.phase.value if observed else 'not created yet'}")
    if observed.phase != Phase.SUCCEEDED or not observed.tuned_model:
        return hold(f"{job} ended {observed.phase.value}")
    gate = inputs.gates.get(job)
    judged = gate is not None and gate.key == evaluation_key(job_file) and (
        gate.verdict in FINAL_VERDICTS)
    if not judged and (spec.require_evaluation == "passed" or spec.checkpoint == "evaluated"):
        return wait(f"the evaluation of {job} is pending")
    if spec.require_evaluation == "passed" and gate is not None and gate.verdict != "passed":
        there = target is not None and (target.job, target.model_version) == (
            job, observed.tuned_model)
        flag = f"{NO_LONGER_PASSING}: " if there else ""
        return hold(f"{flag}evaluation of {job}"
                    f" {_VERDICT_WORDS.get(gate.verdict, gate.verdict)} ({gate.reason})")
    from tuning_operator.judging.asking import CheckpointUnavailable  # off the validate path

    try:
        endpoint, checkpoint = _checkpoint(spec.checkpoint, observed, gate,
                                           inputs.best_checkpoints.get(job))
    except CheckpointUnavailable as exc:
        return hold(str(exc))
    if target is not None and (target.job, target.model_version, target.checkpoint) == (
            job, observed.tuned_model, checkpoint):
        return None  # already there
    gate_word = "evaluation passed" if spec.require_evaluation == "passed" else "no gate"
    shown = checkpoint or "final"
    was = f", was {target.job}" if target else ""
    move = AliasMove(key=loaded.key, alias=loaded.name, job=job,
                     model_version=observed.tuned_model, checkpoint=checkpoint,
                     endpoint=endpoint, gate=spec.require_evaluation, previous=target,
                     path=loaded.path)
    return _action(ActionKind.PROMOTE, loaded,
                   f"→ {job} (checkpoint {shown}, {gate_word}{was})",
                   move=move)


_VERDICT_WORDS = {"failed": "failed", "error": "ended in an error"}


def _checkpoint(choice: str, observed: ObservedJob, gate: GateResult | None,
                best: str | None) -> tuple[str | None, str | None]:
    """(endpoint, checkpoint id or None for the final model) of `checkpoint: choice`:
    `evaluated` is the checkpoint the evaluation asked, `best` the diagnosis's (when it can be
    trusted), `last` or an id as the tuned model lists them."""
    tuned = observed.tuned_endpoint or ""
    if choice == "evaluated":
        wanted = gate.checkpoint if gate else None
        for c in observed.checkpoints:
            if c.checkpoint_id == wanted and c.endpoint:
                return c.endpoint, wanted
        return tuned or None, None
    from tuning_operator.judging.asking import resolve_checkpoint

    endpoint, checkpoint = resolve_checkpoint(choice, tuned_endpoint=tuned,
                                              checkpoints=observed.checkpoints, best=best)
    return endpoint or None, checkpoint


def _removals(desired: DirectoryLoad, inputs: AliasInputs) -> Iterator[Action]:
    """Aliases whose file is gone: taken off Vertex, unless the directory looks damaged (the
    job removals' guard: unreadable or empty, a file failed unnamed, most vanished at once)."""
    gone = [k for k in sorted(inputs.targets)
            if k not in desired.aliases and k not in desired.invalid_aliases]
    held = None
    if not desired.readable or desired.file_count == 0:
        held = "the jobs directory is empty or unreadable"
    elif desired.unnamed_failures:
        held = f"{desired.unnamed_failures} file(s) failed before their names could be read"
    elif (len(inputs.targets) >= 2 and len(gone) * 2 > len(inputs.targets)
          and not inputs.allow_mass_deletion):
        held = (f"{len(gone)} of {len(inputs.targets)} aliases vanished at once (pass"
                " --allow-mass-deletion if this is intended)")
    for key in gone:
        target = inputs.targets[key]
        team, _, name = key.partition("/")
        if held is not None:
            yield Action(kind=ActionKind.PROMOTE, team=team, file=key, phase=None,
                         reason=f"not removed: {held}; stays on {target.job}")
            continue
        yield Action(kind=ActionKind.PROMOTE, team=team, file=key, phase=None,
                     reason=f"remove: its file is gone; off {target.job}",
                     alias=AliasMove(key=key, alias=name, job=None, model_version=None,
                                     previous=target, remove=True))


def _action(kind: ActionKind, loaded: LoadedAlias, reason: str, *,
            move: AliasMove | None = None) -> Action:
    return Action(kind=kind, reason=reason, phase=None, team=loaded.team, file=loaded.key,
                  alias=move)
