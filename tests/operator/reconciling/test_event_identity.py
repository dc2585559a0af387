"""Event identity: one `ce-id` per real transition, the same id when it is told again, and one
`ce-source` per deployment whatever the process."""

from __future__ import annotations

import json
from pathlib import Path

from tests.operator.reconciling.test_reconciler import World
from tests.support.job_files import write_job
from tuning_operator.events import AuditTrail, Outbox, open_sink
from tuning_operator.reconciling.reconciler import Reconciler
from tuning_operator.reconciling.recording import EventRecorder
from tuning_operator.state.records import PreflightEstimate
from tuning_operator.state.store import FileStatusStore, JobRecord

POLICY = ("apiVersion: tuning-operator/v1\nkind: Policy\n"
          "teams:\n  t:\n    baseModels: [gemini-2.0-flash]\n")
SOURCE = "proj/github.com/org/jobs"


class EventWorld(World):
    """A World whose recorder is the real one, writing events to a file."""

    def __init__(self, tmp_path: Path, *, instance: str = "pod-a") -> None:
        self.events = tmp_path / "events.jsonl"
        self.instance = instance
        super().__init__(tmp_path)

    def restart(self) -> None:
        """A new process (a new instance name) of the same deployment."""
        self.instance += "'"
        if isinstance(getattr(self, "recorder", None), EventRecorder):
            self.recorder.outbox.close()  # the old process is gone
        outbox = Outbox(self.state / "outbox", open_sink(f"file:{self.events}"))
        self.recorder = EventRecorder(outbox=outbox, audit=AuditTrail(self.state / "audit.jsonl"),
                                      jobs_dir=self.jobs, instance=self.instance, source=SOURCE)
        self.reconciler = Reconciler(settings=self.settings, vertex=self.vertex,
                                     store=FileStatusStore(self.state), recorder=self.recorder,
                                     clock=self.clock)

    def told(self) -> list[dict[str, object]]:
        self.recorder.outbox.drain(5.0)
        lines = self.events.read_text().splitlines() if self.events.exists() else []
        return [json.loads(line) for line in lines]


def test_two_policy_toggles_are_four_transitions_with_four_ids(tmp_path: Path) -> None:
    """Succeeded → Invalid → Succeeded → Invalid → Succeeded: four ids, none alike."""
    world = EventWorld(tmp_path)
    write_job(world.jobs, "a", team="t")
    world.reconciler.reconcile()
    [vertex_job] = world.vertex.by_job("a")
    world.vertex.set_state(vertex_job.name, "JOB_STATE_SUCCEEDED")
    world.reconciler.reconcile()
    start = len(world.told())
    for _ in range(2):
        (world.jobs / "_policy.yaml").write_text(POLICY)
        world.reconciler.reconcile()
        (world.jobs / "_policy.yaml").unlink()
        world.reconciler.reconcile()
    toggles = world.told()[start:]
    assert [(e["data"]["previousPhase"], e["data"]["phase"]) for e in toggles] == [
        ("Succeeded", "Invalid"), ("Invalid", "Succeeded")] * 2
    assert len({e["id"] for e in toggles}) == 4
    assert [e["data"]["sequence"] for e in toggles] == [3, 4, 5, 6]  # after Submitted, Succeeded


def test_the_source_is_the_deployment_across_restarts(tmp_path: Path) -> None:
    """Two processes of one deployment: one `ce-source`; each instance stays in the data."""
    world = EventWorld(tmp_path)
    write_job(world.jobs, "a", team="t")
    world.reconciler.reconcile()
    world.restart()
    [vertex_job] = world.vertex.by_job("a")
    world.vertex.set_state(vertex_job.name, "JOB_STATE_RUNNING")
    world.reconciler.reconcile()
    events = world.told()
    assert {e["source"] for e in events} == {f"//tuning-operator/{SOURCE}"}
    assert len({e["data"]["operatorInstance"] for e in events}) == 2


def test_a_transition_told_again_after_a_crash_keeps_its_id(tmp_path: Path) -> None:
    """The process dies after the outbox write, before the store: the next process tells the
    same transition with the same sequence number, so with the same id."""
    world = EventWorld(tmp_path)
    write_job(world.jobs, "a", team="t")
    world.reconciler.reconcile()
    before = FileStatusStore(world.state).fetch()
    [vertex_job] = world.vertex.by_job("a")
    world.vertex.set_state(vertex_job.name, "JOB_STATE_RUNNING")
    world.reconciler.reconcile()
    first = world.told()[-1]
    FileStatusStore(world.state).store(before)  # the store as it was before that pass
    world.restart()
    world.reconciler.reconcile()
    again = world.told()[-1]
    assert (again["data"]["phase"], again["id"]) == ("Running", first["id"])
    assert again["data"]["operatorInstance"] != first["data"]["operatorInstance"]


def test_a_record_written_before_the_counter_counts_its_history() -> None:
    """A stored record without `transitions` continues from the phases it remembers."""
    record = JobRecord.from_dict({"name": "a", "first_seen": 0.0,
                                  "history": ["Submitted", "Running"]})
    assert record.transitions == 2


def test_the_submitted_event_carries_the_dataset_generations(tmp_path: Path) -> None:
    """At Submitted, the event's data names each dataset object's generation; later phases
    do not repeat it."""
    world = EventWorld(tmp_path)
    data = PreflightEstimate(summary="ok", generations={"gs://d/t.jsonl": "7"})
    record = JobRecord(name="a", first_seen=0.0, team="t", phase="Submitted", transitions=1,
                       preflight=data)
    world.recorder.transition(record, previous=None, reason="created on Vertex")
    record.phase, record.transitions = "Running", 2
    world.recorder.transition(record, previous="Submitted", reason="Vertex job is RUNNING")
    world.recorder.flush()
    submitted, running = world.told()
    assert submitted["data"]["datasetGenerations"] == {"gs://d/t.jsonl": "7"}
    assert "datasetGenerations" not in running["data"]
