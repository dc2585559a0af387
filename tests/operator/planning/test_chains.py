"""The planner on `preTunedModel` chains: what a continuing job is created from, and when it is
refused, held or blocked instead (nothing of that is ever sent)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.operator.planning.test_planner import vertex
from tests.operator.specs.test_chain_rules import write_policy
from tests.operator.specs.test_pre_tuned_model import write_continuing
from tests.support.job_files import write_job
from tuning_operator.judging.curves import Checkpoint
from tuning_operator.planning.model import Lineage, ObservedJob, Phase
from tuning_operator.planning.planner import Action, ActionKind, PlanSettings, Remembered, plan
from tuning_operator.specs import DirectoryLoad, load_jobs_dir

TUNED = "projects/p/locations/us-central1/models/77@1"


def parent_job(load: DirectoryLoad, state: str = "JOB_STATE_SUCCEEDED", *, name: str = "parent",
               base_model: str = "gemini-2.5-flash", error: str | None = None) -> ObservedJob:
    """The parent's Vertex job: three checkpoints, its tuned model, the root Vertex reports."""
    succeeded = state == "JOB_STATE_SUCCEEDED"
    return replace(vertex(load, name, state, job_id=1), base_model=base_model, error=error,
                   tuned_model=TUNED if succeeded else None,
                   checkpoints=tuple(Checkpoint(str(e), epoch=e, step=10 * e)
                                     for e in (1, 2, 3)) if succeeded else ())


def action_of(load: DirectoryLoad, actual: list[ObservedJob], name: str = "child",
              settings: PlanSettings | None = None) -> Action:
    (action,) = [a for a in plan(load, actual, settings or PlanSettings()).actions
                 if a.job == name]
    return action


def chain(tmp_path: Path, pre_tuned: str, parent_extra: str = "") -> DirectoryLoad:
    write_job(tmp_path, "parent", parent_extra)
    write_continuing(tmp_path, "child", pre_tuned)
    return load_jobs_dir(tmp_path)


@pytest.mark.parametrize(("checkpoint", "sent"), [("'2'", "2"), ("last", "3"), ("best", None)])
def test_the_create_continues_the_parents_tuned_model_and_says_so(
        tmp_path: Path, checkpoint: str, sent: str | None) -> None:
    """The create carries the lineage (tuned model, checkpoint, root) and its reason names it."""
    load = chain(tmp_path, f"{{job: parent, checkpoint: {checkpoint}}}")
    action = action_of(load, [parent_job(load)])
    assert action.kind == ActionKind.CREATE
    assert action.lineage == Lineage(TUNED, sent, base_model="gemini-2.5-flash", job="parent",
                                     checkpoint=checkpoint.strip("'"))
    assert TUNED in action.reason and "root base model gemini-2.5-flash" in action.reason


def test_a_checkpoint_the_parent_does_not_have_is_invalid_naming_those_it_has(
        tmp_path: Path) -> None:
    """`checkpoint: '99'` on a 3-epoch parent is never sent: invalid, listing 1, 2, 3."""
    load = chain(tmp_path, "{job: parent, checkpoint: '99'}")
    action = action_of(load, [parent_job(load)])
    assert (action.kind, action.phase) == (ActionKind.INVALID, Phase.INVALID)
    assert "no checkpoint '99'" in action.reason and "1, 2, 3" in action.reason


@pytest.mark.parametrize("state", ["JOB_STATE_FAILED", "JOB_STATE_CANCELLED"])
def test_a_parent_that_ended_badly_blocks_its_child(tmp_path: Path, state: str) -> None:
    """Waiting cannot help: the child is Blocked with the parent's end and what to do."""
    load = chain(tmp_path, "{job: parent}")
    action = action_of(load, [parent_job(load, state, error="code 3: bad data")])
    assert (action.kind, action.phase) == (ActionKind.BLOCK, Phase.BLOCKED)
    assert state.removeprefix("JOB_STATE_") in action.reason and "bad data" in action.reason


def test_a_running_parent_keeps_its_child_waiting(tmp_path: Path) -> None:
    """A parent that may still succeed: the child waits (not blocked)."""
    load = chain(tmp_path, "{job: parent}")
    action = action_of(load, [parent_job(load, "JOB_STATE_RUNNING")])
    assert (action.kind, action.phase) == (ActionKind.WAIT, Phase.WAITING)


def test_a_child_without_a_region_is_created_in_its_parents(tmp_path: Path) -> None:
    """Parent in europe-west4, child naming no region: the plan creates it in europe-west4."""
    load = chain(tmp_path, "{job: parent}", "  region: europe-west4\n")
    parent = replace(parent_job(load), name="projects/p/locations/europe-west4/tuningJobs/1")
    assert action_of(load, []).region == "europe-west4"
    assert action_of(load, [parent]).kind == ActionKind.CREATE
    assert action_of(load, [parent]).region == "europe-west4"


def test_a_new_job_on_a_retired_model_is_invalid_an_existing_one_is_observed(
        tmp_path: Path) -> None:
    """Retired: no create (the reason names the retirement and the current models); a Vertex
    job that exists keeps its phase."""
    path = write_job(tmp_path, "old")
    path.write_text(path.read_text().replace("gemini-2.5-flash", "gemini-1.5-flash-002"))
    load = load_jobs_dir(tmp_path)
    action = action_of(load, [], "old")
    assert action.kind == ActionKind.INVALID
    assert "retired" in action.reason and "gemini-2.5-flash" in action.reason
    assert action_of(load, [vertex(load, "old", "JOB_STATE_SUCCEEDED")], "old").kind == (
        ActionKind.NOOP)


def test_a_child_keeps_its_job_when_the_parents_file_leaves(tmp_path: Path) -> None:
    """Parent's file removed: the existing child is unchanged; a child not yet created cannot
    be (invalid, naming the missing parent)."""
    load = chain(tmp_path, "{job: parent, checkpoint: '2'}")
    child = vertex(load, "child", "JOB_STATE_SUCCEEDED", job_id=2)
    (tmp_path / "team" / "parent.yaml").unlink()
    load = load_jobs_dir(tmp_path)
    assert load.errors == () and "child" in load.jobs
    kept = action_of(load, [parent_job(load), child])
    assert (kept.kind, kept.phase) == (ActionKind.NOOP, Phase.SUCCEEDED)
    refused = action_of(load, [parent_job(load)])
    assert refused.kind == ActionKind.INVALID and "no job named 'parent'" in refused.reason


def test_the_resolved_spelling_of_the_parent_is_the_same_job(tmp_path: Path) -> None:
    """Created from `{job: parent, checkpoint: '2'}`, rewritten to the exact `{tunedModel,
    checkpointId}` it resolved to: the same job (no conflict) when the lineage is recorded;
    another checkpoint is a conflict."""
    load = chain(tmp_path, "{job: parent, checkpoint: '2'}")
    child = vertex(load, "child", "JOB_STATE_SUCCEEDED", job_id=2)
    lineage = Lineage(TUNED, "2", base_model="gemini-2.5-flash", job="parent", checkpoint="2")
    settings = PlanSettings(remembered={"child": Remembered(
        path="team/child.yaml", team="team", on_delete="Orphan", lineage=lineage)})
    (tmp_path / "team" / "parent.yaml").unlink()
    write_continuing(tmp_path, "child", f"{{tunedModel: '{TUNED}', checkpointId: '2'}}")
    load = load_jobs_dir(tmp_path)
    assert action_of(load, [child], settings=settings).kind == ActionKind.NOOP
    assert action_of(load, [child]).kind == ActionKind.CONFLICT
    write_continuing(tmp_path, "child", f"{{tunedModel: '{TUNED}', checkpointId: '3'}}")
    assert action_of(load_jobs_dir(tmp_path), [child], settings=settings).kind == (
        ActionKind.CONFLICT)


@pytest.mark.parametrize(("root", "expected"), [
    ("gemini-2.5-flash", ActionKind.CREATE),
    ("gemini-2.5-pro", ActionKind.INVALID),
    (None, ActionKind.BLOCK),
])
def test_a_tuned_model_continuation_answers_to_the_policy_at_its_root(
        tmp_path: Path, root: str | None, expected: ActionKind) -> None:
    """teama may use only 2.5 Flash: a raw `tunedModel` is judged by the root Vertex reported
    for the job that tuned it; unknown, the create is blocked with the reason."""
    write_policy(tmp_path)
    write_job(tmp_path, "other", team="teamb")
    write_continuing(tmp_path, "child", f"{{tunedModel: '{TUNED}'}}", team="teama")
    load = load_jobs_dir(tmp_path)
    actual = [parent_job(load, name="other", base_model=root)] if root else []
    action = action_of(load, actual)
    assert action.kind == expected
    if expected != ActionKind.CREATE:
        assert "_policy.yaml" in action.reason
    else:
        assert action.lineage is not None and action.lineage.base_model == root


def test_a_tuned_model_respelled_as_the_job_that_made_it_is_the_same_job(
        tmp_path: Path) -> None:
    """Created from `{tunedModel, checkpointId: '3'}`, rewritten to `{job: parent, checkpoint:
    last}` which resolves to the same model and checkpoint: no conflict; `checkpoint: '2'`
    resolves elsewhere: a conflict."""
    write_job(tmp_path, "parent")
    write_continuing(tmp_path, "child", f"{{tunedModel: '{TUNED}', checkpointId: '3'}}")
    load = load_jobs_dir(tmp_path)
    child = vertex(load, "child", "JOB_STATE_SUCCEEDED", job_id=2)
    actual = [parent_job(load), child]
    settings = PlanSettings(remembered={"child": Remembered(
        path="team/child.yaml", team="team", on_delete="Orphan",
        lineage=Lineage(TUNED, "3", base_model="gemini-2.5-flash"))})
    assert action_of(load, actual, settings=settings).kind == ActionKind.NOOP
    write_continuing(tmp_path, "child", "{job: parent, checkpoint: last}")
    assert action_of(load_jobs_dir(tmp_path), actual, settings=settings).kind == ActionKind.NOOP
    write_continuing(tmp_path, "child", "{job: parent, checkpoint: '2'}")
    assert action_of(load_jobs_dir(tmp_path), actual, settings=settings).kind == (
        ActionKind.CONFLICT)


def test_a_tuned_models_checkpoint_it_lacks_is_invalid_when_its_job_is_listed(
        tmp_path: Path) -> None:
    """`{tunedModel, checkpointId: '9'}` of a model a listed job made with checkpoints 1-3:
    invalid naming them; a model no listed job made is sent as written (Vertex judges)."""
    write_job(tmp_path, "parent")
    write_continuing(tmp_path, "child", f"{{tunedModel: '{TUNED}', checkpointId: '9'}}")
    load = load_jobs_dir(tmp_path)
    refused = action_of(load, [parent_job(load)])
    assert refused.kind == ActionKind.INVALID and "1, 2, 3" in refused.reason
    assert action_of(load, []).kind == ActionKind.CREATE
