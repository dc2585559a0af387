"""A continuing job through the reconciler: created from its parent's checkpoint with the lineage
recorded, kept when the parent's file leaves or the file names the resolved model, and blocked
(settled) when its parent failed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.operator.reconciling.test_reconciler import World
from tests.operator.specs.test_pre_tuned_model import write_continuing
from tests.support.job_files import write_job
from tuning_operator.judging.curves import Checkpoint
from tuning_operator.planning.model import Lineage

TUNED = "projects/p/locations/us-central1/models/77@1"


def end_parent(world: World, state: str) -> None:
    """The parent's Vertex job ends; a success has a tuned model with three checkpoints."""
    [job] = world.vertex.by_job("parent")
    ended = replace(job, state=state, base_model="gemini-2.5-flash")
    if state == "JOB_STATE_SUCCEEDED":
        ended = replace(ended, tuned_model=TUNED, checkpoints=tuple(
            Checkpoint(str(e), epoch=e, step=10 * e) for e in (1, 2, 3)))
    world.vertex.jobs[job.name] = ended


def test_the_child_records_its_lineage_and_outlives_its_parents_file(tmp_path: Path) -> None:
    """Created from checkpoint 2 with the lineage on its record (kept over a restart); the
    parent's file removed, then the child rewritten to the `{tunedModel, checkpointId}` it was
    created from: still Succeeded, never created again."""
    world = World(tmp_path)
    write_job(world.jobs, "parent")
    child_file = write_continuing(world.jobs, "child", "{job: parent, checkpoint: '2'}")
    world.reconciler.reconcile()
    assert world.phase("child") == "Waiting" and world.vertex.calls["create"] == 1
    end_parent(world, "JOB_STATE_SUCCEEDED")
    world.reconciler.reconcile()
    assert world.vertex.calls["create"] == 2
    record = world.reconciler.status.records()["child"]
    assert record.lineage == Lineage(TUNED, "2", base_model="gemini-2.5-flash", job="parent",
                                     checkpoint="2")
    assert "checkpoint 2" in (record.reason or "")
    [child] = world.vertex.by_job("child")
    world.vertex.set_state(child.name, "JOB_STATE_SUCCEEDED")
    (world.jobs / "team" / "parent.yaml").unlink()
    for _ in range(3):
        world.reconciler.reconcile()
    assert world.phase("child") == "Succeeded"
    child_file.write_text(child_file.read_text().replace(
        "{job: parent, checkpoint: '2'}", f"{{tunedModel: '{TUNED}', checkpointId: '2'}}"))
    world.restart()
    for _ in range(2):
        world.reconciler.reconcile()
    assert world.phase("child") == "Succeeded"
    assert world.vertex.calls["create"] == 2
    assert "Invalid" not in [t[2] for t in world.recorder.transitions if t[0] == "child"]
    assert "Conflict" not in [t[2] for t in world.recorder.transitions if t[0] == "child"]


def test_a_failed_parent_blocks_its_child_and_the_run_is_settled(tmp_path: Path) -> None:
    """Blocked needs a human: it is settled, so `--until-settled` ends."""
    world = World(tmp_path)
    write_job(world.jobs, "parent")
    write_continuing(world.jobs, "child", "{job: parent}")
    world.reconciler.reconcile()
    end_parent(world, "JOB_STATE_FAILED")
    report = world.reconciler.reconcile()
    record = world.reconciler.status.records()["child"]
    assert record.phase == "Blocked" and "FAILED" in (record.reason or "")
    assert report.settled and world.vertex.calls["create"] == 1


def test_a_lost_record_gets_its_lineage_back_from_vertex(tmp_path: Path) -> None:
    """What was sent (tuned model, checkpoint) is Vertex's to say: a record without its
    lineage (a lost state directory) gets it back from the List; the spelling is not known."""
    world = World(tmp_path)
    write_job(world.jobs, "parent")
    write_continuing(world.jobs, "child", "{job: parent, checkpoint: '2'}")
    world.reconciler.reconcile()
    end_parent(world, "JOB_STATE_SUCCEEDED")
    world.reconciler.reconcile()
    [child] = world.vertex.by_job("child")
    world.vertex.jobs[child.name] = replace(child, continued_from=(TUNED, "2"),
                                            base_model="gemini-2.5-flash")
    (world.state / "status.json").unlink()
    world.restart()
    world.reconciler.reconcile()
    assert world.reconciler.status.records()["child"].lineage == Lineage(
        TUNED, "2", base_model="gemini-2.5-flash")
    assert world.vertex.calls["create"] == 2
