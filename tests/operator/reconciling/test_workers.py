"""Post-success work in background workers: a pass never waits on an endpoint.

The reconciler with threaded workers and an endpoint that hangs until the test lets it answer:
passes return at once, another team's new file is created and a cancel goes out while the
evaluation is blocked; once the endpoint answers, the next pass records the verdict. And the
rules of applying a task's copy: only the fields its step owns, never onto a re-created job.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.support.fake_vertex import FakeVertex, RecordingRecorder
from tests.support.job_files import write_job
from tuning_operator.judging import Diagnosis
from tuning_operator.planning.model import ObservedJob
from tuning_operator.planning.planner import Action, ActionKind
from tuning_operator.reconciling.aftercare import Aftercare
from tuning_operator.reconciling.backoff import Done, Requeue, Throttler
from tuning_operator.reconciling.executors import PassContext, post_success
from tuning_operator.reconciling.reconciler import OperatorSettings, PassReport, Reconciler
from tuning_operator.reconciling.workers import Posted, Workers, apply
from tuning_operator.specs import load_jobs_dir
from tuning_operator.specs.evaluation import GenerationConfig
from tuning_operator.state.records import Evaluation
from tuning_operator.state.store import FileStatusStore, JobRecord

ENDPOINT = "projects/p/locations/us-central1/endpoints/1"


class HangingEndpoint:
    """Answers right, but only once `answering` is set; counts the calls it received."""

    def __init__(self) -> None:
        self.answering = threading.Event()
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, model: str, contents: Any, config: GenerationConfig, *,
                 system_instruction: Any = None) -> str:
        with self.lock:
            self.calls += 1
        assert self.answering.wait(30), "the test never let the endpoint answer"
        return str(contents[-1]["parts"][0]["text"]).replace("question", "Answer")


def world(tmp_path: Path, endpoint: HangingEndpoint, workers: Workers
          ) -> tuple[Reconciler, FakeVertex, Path]:
    jobs = tmp_path / "jobs"
    write_job(jobs, "judge", "  evaluation: {dataset: evals/set.jsonl, baseline: false,"
              " checkpoint: last, metrics: [exactMatch]}\n", team="ml")
    (jobs / "ml" / "evals").mkdir()
    (jobs / "ml" / "evals" / "set.jsonl").write_text("".join(
        f'{{"contents": [{{"role": "user", "parts": [{{"text": "question {i}"}}]}},'
        f' {{"role": "model", "parts": [{{"text": "Answer {i}"}}]}}]}}\n' for i in range(5)))
    vertex, throttler = FakeVertex(), Throttler()
    aftercare = Aftercare(throttler=throttler, clock=lambda: 1e9, state_dir=tmp_path / "state",
                          predict=endpoint)
    reconciler = Reconciler(
        settings=OperatorSettings(jobs_dir=jobs, settle_seconds=0.0, create_fence_seconds=0.0),
        vertex=vertex, store=FileStatusStore(tmp_path / "state"), recorder=RecordingRecorder(),
        throttler=throttler, aftercare=aftercare, workers=workers)
    return reconciler, vertex, jobs


def succeed(vertex: FakeVertex, job: str) -> None:
    [observed] = vertex.by_job(job)
    vertex.jobs[observed.name] = replace(observed, state="JOB_STATE_SUCCEEDED",
                                         tuned_endpoint=ENDPOINT)


def test_a_hanging_endpoint_never_holds_a_pass(tmp_path: Path) -> None:
    """Evaluation blocked on the endpoint: passes return, a new file is created and a removed
    file's job is cancelled meanwhile; the endpoint answers: the verdict lands on a later pass."""
    endpoint, woken = HangingEndpoint(), threading.Event()
    workers = Workers(2, wake=woken.set)
    reconciler, vertex, jobs = world(tmp_path, endpoint, workers)
    try:
        write_job(jobs, "doomed", "  onDelete: Cancel\n", team="other")
        reconciler.reconcile()
        succeed(vertex, "judge")
        reconciler.reconcile()  # smoke test handed to a worker; it hangs on the endpoint
        assert workers.running("smoke", "judge")
        endpoint.answering.set()
        assert woken.wait(10)
        woken.clear()
        endpoint.answering.clear()
        reconciler.reconcile()  # healthy endpoint applied; the evaluation starts and hangs
        assert workers.running("evaluation", "judge")

        write_job(jobs, "newcomer", team="support")
        (jobs / "other" / "doomed.yaml").unlink()
        report = reconciler.reconcile()
        assert workers.running("evaluation", "judge"), "the pass must not wait for it"
        assert len(vertex.by_job("newcomer")) == 1
        assert vertex.calls["cancel"] == 1
        assert report.plan is not None and not report.settled

        endpoint.answering.set()
        assert woken.wait(10)
        while workers.running("evaluation", "judge"):
            woken.wait(1)
        reconciler.reconcile()
        evaluation = reconciler.status.records()["judge"].evaluation
        assert evaluation is not None and evaluation.verdict == "passed", evaluation
        assert endpoint.calls == 1 + 5  # the smoke test, then each example once
    finally:
        endpoint.answering.set()
        workers.close()


def test_one_task_per_job_and_step_at_a_time(tmp_path: Path) -> None:
    """A second start while the first runs is a requeue, not a second task."""
    workers, release, started = Workers(1), threading.Event(), []
    record = JobRecord(name="bot", first_seen=0.0)

    def work(mine: JobRecord, progress: Any) -> Done:
        started.append(mine.name)
        release.wait(10)
        return Done()

    try:
        first = workers.run("evaluation", record, work)
        second = workers.run("evaluation", record, work)
        assert isinstance(first, Requeue) and "started" in first.reason
        assert isinstance(second, Requeue) and "in progress" in second.reason
    finally:
        release.set()
        workers.close()
    assert started == ["bot"]
    [posted] = workers.collect()
    assert posted.outcome == Done() and not workers.running("evaluation", "bot")


def test_a_tasks_copy_writes_only_the_fields_its_step_owns(tmp_path: Path) -> None:
    """An evaluation task started before the curves were read does not undo the diagnosis;
    a post for a job that was re-created since (another Vertex job) is dropped."""
    live = JobRecord(name="bot", first_seen=0.0, vertex_name="jobs/1")
    copy = replace(live, evaluation=Evaluation(verdict="passed", reason="ok"))
    live.diagnosis = Diagnosis(verdict="healthy", reason="fine", mitigation="")
    assert apply(live, Posted("evaluation", copy, Done()))
    assert live.evaluation == copy.evaluation and live.diagnosis is not None
    live.vertex_name = "jobs/2"
    stale = replace(copy, evaluation=Evaluation(verdict="failed", reason="old job"))
    assert not apply(live, Posted("evaluation", stale, Done()))
    assert live.evaluation == copy.evaluation


def test_a_failing_task_is_a_requeue_not_a_dead_worker(tmp_path: Path) -> None:
    """A bug in a task is logged and posted as a requeue; the worker takes the next task."""
    done = threading.Semaphore(0)
    workers = Workers(1, wake=done.release)

    def broken(mine: JobRecord, progress: Any) -> Done:
        raise RuntimeError("bug")

    workers.run("metrics", JobRecord(name="a", first_seen=0.0), broken)
    workers.run("metrics", JobRecord(name="b", first_seen=0.0), lambda r, p: Done())
    assert done.acquire(timeout=10) and done.acquire(timeout=10)
    workers.close()
    outcomes = {p.record.name: p.outcome for p in workers.collect()}
    assert isinstance(outcomes["a"], Requeue) and "bug" in outcomes["a"].reason
    assert outcomes["b"] == Done()


def test_a_step_still_backing_off_is_not_started_again(tmp_path: Path) -> None:
    """A pass planned the smoke test while its last attempt was still running; that attempt
    backed off meanwhile: the executor waits out the backoff instead of asking the failing
    endpoint again a moment later (it did, 30 ms after, before)."""
    endpoint = HangingEndpoint()
    workers = Workers(1)
    reconciler, _, _ = world(tmp_path, endpoint, workers)
    now = reconciler.clock()
    reconciler.throttler.not_before["smoke:judge"] = now + 30
    action = Action(kind=ActionKind.SMOKE_TEST, reason="smoke-test", phase=None, job="judge",
                    vertex_name="jobs/1")
    context = PassContext(load_jobs_dir(tmp_path / "jobs"), PassReport(1, None, None), now,
                          {"jobs/1": ObservedJob(name="jobs/1", state="JOB_STATE_SUCCEEDED",
                                                 tuned_endpoint=ENDPOINT)})
    try:
        outcome = post_success(reconciler, "smoke", action,
                               JobRecord(name="judge", first_seen=0.0), context)
        assert isinstance(outcome, Requeue) and 29 <= outcome.after <= 30
        assert not workers.running("smoke", "judge") and endpoint.calls == 0
    finally:
        workers.close()
