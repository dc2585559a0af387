"""alias_steps(): promote on a passed gate, hold on a failed one, wait while it cannot tell."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.support.job_files import EVALUATED, write_alias, write_job
from tuning_operator.judging.curves import Checkpoint
from tuning_operator.planning.aftercare import evaluation_key
from tuning_operator.planning.alias_model import AliasInputs, AliasTarget, GateResult
from tuning_operator.planning.aliases import alias_steps
from tuning_operator.planning.model import ObservedJob
from tuning_operator.planning.planner import ActionKind, Plan, PlanSettings, plan
from tuning_operator.planning.render import plan_json, plan_markdown, plan_text
from tuning_operator.specs import DirectoryLoad, load_jobs_dir
from tuning_operator.specs import labels as owner

US = "projects/p/locations/us-central1"
MODEL = f"{US}/models/11@2"


def observed(state: str = "SUCCEEDED", *, job: str = "router-v3", spec: str = "",
             model: str | None = MODEL) -> ObservedJob:
    succeeded = state == "SUCCEEDED"
    return ObservedJob(
        name=f"{US}/tuningJobs/1", state=state,
        labels={owner.MANAGED_BY: owner.MANAGED_BY_VALUE, owner.JOB: job, owner.SPEC: spec,
                owner.TEAM: "support"},
        tuned_model=model if succeeded else None,
        tuned_endpoint=f"{US}/endpoints/1" if succeeded else None,
        checkpoints=(Checkpoint("1", 1, 10, f"{US}/endpoints/101"),
                     Checkpoint("2", 2, 20, f"{US}/endpoints/1")) if succeeded else ())


def directory(tmp_path: Path, alias_spec: str = "") -> DirectoryLoad:
    write_job(tmp_path, "router-v2", EVALUATED, team="support")
    write_job(tmp_path, "router-v3", EVALUATED, team="support")
    write_alias(tmp_path, "ticket-router", "router-v3", alias_spec, team="support")
    load = load_jobs_dir(tmp_path)
    assert load.errors == ()
    return load


def gate(load: DirectoryLoad, verdict: str, *, reason: str = "exactMatch 0.91 ≥ 0.80",
         checkpoint: str | None = "1", key: str | None = None) -> GateResult:
    return GateResult(verdict=verdict, reason=reason, checkpoint=checkpoint,
                      key=key or evaluation_key(load.jobs["router-v3"]))


PREVIOUS = AliasTarget(job="router-v2", model_version=f"{US}/models/11@1", checkpoint=None)


def test_a_passed_gate_promotes_with_the_evaluated_checkpoint(tmp_path: Path) -> None:
    """passed for the current set: promote onto the version, at the evaluation's checkpoint."""
    load = directory(tmp_path)
    inputs = AliasInputs(targets={"support/ticket-router": PREVIOUS},
                         gates={"router-v3": gate(load, "passed")})
    (action,), holds = alias_steps(load, {"router-v3": observed()}, inputs)
    assert holds == [] and action.kind == ActionKind.PROMOTE
    assert action.reason == "→ router-v3 (checkpoint 1, evaluation passed, was router-v2)"
    move = action.alias
    assert move is not None
    assert (move.model_version, move.checkpoint, move.endpoint, move.previous) == (
        MODEL, "1", f"{US}/endpoints/101", PREVIOUS)


@pytest.mark.parametrize(("spec", "best", "checkpoint", "endpoint"), [
    ("  checkpoint: last\n", None, "2", f"{US}/endpoints/1"),
    ("  checkpoint: best\n", "1", "1", f"{US}/endpoints/101"),
    ("  checkpoint: best\n", None, None, f"{US}/endpoints/1"),  # none trusted: the final model
    ("  checkpoint: '1'\n", None, "1", f"{US}/endpoints/101"),
])
def test_the_checkpoint_choice(tmp_path: Path, spec: str, best: str | None,
                               checkpoint: str | None, endpoint: str) -> None:
    """last, best (of the curves' diagnosis) or an id pick the endpoint the alias records."""
    load = directory(tmp_path, spec)
    inputs = AliasInputs(gates={"router-v3": gate(load, "passed", checkpoint="2")},
                         best_checkpoints={"router-v3": best})
    (action,), _ = alias_steps(load, {"router-v3": observed()}, inputs)
    assert action.alias is not None
    assert (action.alias.checkpoint, action.alias.endpoint) == (checkpoint, endpoint)


def test_an_unknown_checkpoint_holds(tmp_path: Path) -> None:
    """A checkpoint id the tuned model does not have holds the alias, naming those it has."""
    load = directory(tmp_path, "  checkpoint: '9'\n")
    inputs = AliasInputs(gates={"router-v3": gate(load, "passed")})
    actions, (hold,) = alias_steps(load, {"router-v3": observed()}, inputs)
    assert actions == [] and "checkpoint '9'" in hold.reason


def test_a_failed_gate_holds_where_it_is(tmp_path: Path) -> None:
    """failed: nothing to execute, a hold that says why and where the alias stays."""
    load = directory(tmp_path)
    inputs = AliasInputs(targets={"support/ticket-router": PREVIOUS}, gates={
        "router-v3": gate(load, "failed", reason="exactMatch 0.62 < 0.80")})
    actions, (hold,) = alias_steps(load, {"router-v3": observed()}, inputs)
    assert actions == [] and hold.alias is None
    assert hold.reason == ("evaluation of router-v3 failed (exactMatch 0.62 < 0.80);"
                           " stays on router-v2")


@pytest.mark.parametrize(("state", "verdict", "key", "expected"), [
    ("RUNNING", None, None, "router-v3 is Running; stays on router-v2"),
    ("SUCCEEDED", None, None, "the evaluation of router-v3 is pending"),
    ("SUCCEEDED", "pending", None, "the evaluation of router-v3 is pending"),
    ("SUCCEEDED", "passed", "an-older-set", "the evaluation of router-v3 is pending"),
])
def test_wait_while_the_job_runs_or_is_evaluated(tmp_path: Path, state: str,
                                                 verdict: str | None, key: str | None,
                                                 expected: str) -> None:
    """No verdict for the current spec and set yet: a wait, never a move."""
    load = directory(tmp_path)
    gates = {"router-v3": gate(load, verdict, key=key)} if verdict else {}
    inputs = AliasInputs(targets={"support/ticket-router": PREVIOUS}, gates=gates)
    (action,), holds = alias_steps(load, {"router-v3": observed(state)}, inputs)
    assert holds == [] and action.kind == ActionKind.WAIT and action.job is None
    assert expected in action.reason


def test_no_gate_with_the_evaluated_checkpoint_waits_for_the_evaluation(
        tmp_path: Path) -> None:
    """requireEvaluation: none, checkpoint: evaluated: the checkpoint is the evaluation's, so
    the alias waits for it, then moves whatever the verdict."""
    load = directory(tmp_path, "  requireEvaluation: none\n")
    (wait,), _ = alias_steps(load, {"router-v3": observed()}, AliasInputs())
    assert wait.kind == ActionKind.WAIT
    inputs = AliasInputs(gates={"router-v3": gate(load, "failed", checkpoint="1")})
    (action,), _ = alias_steps(load, {"router-v3": observed()}, inputs)
    assert action.reason == "→ router-v3 (checkpoint 1, no gate)"


def test_an_evaluation_error_holds(tmp_path: Path) -> None:
    """An evaluation that ended in an error is no pass."""
    load = directory(tmp_path)
    inputs = AliasInputs(gates={"router-v3": gate(load, "error", reason="endpoint gone")})
    _, (hold,) = alias_steps(load, {"router-v3": observed()}, inputs)
    assert hold.reason.startswith("evaluation of router-v3 ended in an error (endpoint gone)")


def test_a_failed_job_holds(tmp_path: Path) -> None:
    """A job that failed has no model to point at."""
    load = directory(tmp_path)
    _, (hold,) = alias_steps(load, {"router-v3": observed("FAILED")}, AliasInputs())
    assert hold.reason == "router-v3 ended Failed; stays unset"


def test_no_gate_promotes_a_succeeded_job(tmp_path: Path) -> None:
    """requireEvaluation: none moves on success alone (a reviewed exception)."""
    load = directory(tmp_path, "  requireEvaluation: none\n  checkpoint: last\n")
    (action,), _ = alias_steps(load, {"router-v3": observed()}, AliasInputs())
    assert action.reason == "→ router-v3 (checkpoint 2, no gate)"


def test_an_alias_already_there_plans_nothing(tmp_path: Path) -> None:
    """Where the operator last put it: no step at all (a quiet pass)."""
    load = directory(tmp_path)
    there = AliasTarget(job="router-v3", model_version=MODEL, checkpoint="1")
    inputs = AliasInputs(targets={"support/ticket-router": there},
                         gates={"router-v3": gate(load, "passed")})
    assert alias_steps(load, {"router-v3": observed()}, inputs) == ([], [])


def test_a_removed_file_removes_the_alias_unless_the_directory_looks_damaged(
        tmp_path: Path) -> None:
    """The file is gone: take it off; a file that failed unnamed holds every removal."""
    directory(tmp_path)
    (tmp_path / "support" / "ticket-router.yaml").unlink()
    inputs = AliasInputs(targets={"support/ticket-router": PREVIOUS})
    (removal,), _ = alias_steps(load_jobs_dir(tmp_path), {}, inputs)
    assert removal.alias is not None and removal.alias.remove
    (tmp_path / "support" / "broken.yaml").write_text("::: not yaml")
    actions, (held,) = alias_steps(load_jobs_dir(tmp_path), {}, inputs)
    assert actions == [] and held.reason.startswith("not removed: 1 file(s) failed")


def test_most_aliases_vanishing_at_once_removes_none(tmp_path: Path) -> None:
    """Two of three alias files gone in one pass: held, unless mass deletion is allowed."""
    directory(tmp_path)
    targets = {f"support/{n}": PREVIOUS for n in ("ticket-router", "gone-a", "gone-b")}
    actions, holds = alias_steps(load_jobs_dir(tmp_path), {}, AliasInputs(targets=targets))
    assert [a.kind for a in actions] == [ActionKind.WAIT]  # ticket-router: not created yet
    assert [h.file for h in holds] == ["support/gone-a", "support/gone-b"]
    assert "2 of 3 aliases vanished at once" in holds[0].reason
    allowed = AliasInputs(targets=targets, allow_mass_deletion=True)
    actions, _ = alias_steps(load_jobs_dir(tmp_path), {}, allowed)
    assert sum(1 for a in actions if a.alias is not None and a.alias.remove) == 2


def test_plan_shows_promote_and_hold_in_every_form(tmp_path: Path) -> None:
    """The planner carries the alias steps; text, JSON and the PR markdown show them."""
    load = directory(tmp_path)
    spec = load.jobs["router-v3"].spec_hash[:16]
    settings = PlanSettings(aliases=AliasInputs(
        targets={"support/ticket-router": PREVIOUS},
        gates={"router-v3": gate(load, "passed")}))
    result: Plan = plan(load, [observed(spec=spec)], settings)
    assert [a.kind for a in result.actions if a.file == "support/ticket-router"] == [
        ActionKind.PROMOTE]
    assert "⇑ promote  support/ticket-router" in plan_text(result)
    assert '"alias": "support/ticket-router"' in plan_json(result)
    assert "| ⇑ | promote | support/ticket-router |" in plan_markdown(result)
    failed = PlanSettings(aliases=AliasInputs(
        targets={"support/ticket-router": PREVIOUS},
        gates={"router-v3": gate(load, "failed", reason="exactMatch 0.62 < 0.80")}))
    held = plan(load, [observed(spec=spec)], failed)
    markdown = plan_markdown(held)
    assert "**1 held**" in markdown and "exactMatch 0.62 &lt; 0.80" in markdown


def test_a_verdict_that_turns_failed_keeps_the_alias_and_holds(tmp_path: Path) -> None:
    """Promoted on passed, then its set changed and it failed: the alias stays, flagged held."""
    load = directory(tmp_path)
    there = AliasTarget(job="router-v3", model_version=MODEL, checkpoint="1")
    inputs = AliasInputs(targets={"support/ticket-router": there}, gates={
        "router-v3": gate(load, "failed", reason="exactMatch 0.70 < 0.80")})
    actions, (hold,) = alias_steps(load, {"router-v3": observed()}, inputs)
    assert actions == []
    assert hold.reason == ("no longer passing: evaluation of router-v3 failed"
                           " (exactMatch 0.70 < 0.80); stays on router-v3")
    elsewhere = AliasTarget(job="router-v2", model_version=f"{US}/models/11@1")
    _, (other,) = alias_steps(load, {"router-v3": observed()},
                              replace(inputs, targets={"support/ticket-router": elsewhere}))
    assert other.reason.startswith("evaluation of router-v3 failed")  # v2 may well pass
