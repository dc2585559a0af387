"""Issue 25: answers shared across replicas. Two `tuning-operator run` processes, each with its
own state directory, one `gs://` lease and one `--artifacts` bucket (fake-gcs-server); the
leader is killed with SIGKILL mid-evaluation three times (and restarted, so there are always
two). Whoever leads next loads what the dead one paid for from the bucket: the evaluation ends
with a final verdict, and no answer is asked twice beyond the calls the dead leaders had in
flight.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import operator_args
from tests.e2e.storm import stop, wait_for
from tests.support.emulator_process import EmulatorProcess
from tuning_operator.state.store import FileStatusStore

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(180)]  # fake-gcs-server too

EXAMPLES = 100  # with baseline: 200 answers
ANSWERS = 2 * EXAMPLES
KILLS = 3
CONCURRENCY = 2 * 8  # in flight when killed: 8 per endpoint, the tuned and the base model
CALLS_PER_LEADER = 30  # a leader has asked this many before it is killed
LEASE_TERM = "4"  # seconds; a take-over waits the term and a sixth of it


@pytest.fixture
def slow_emulator() -> Iterator[EmulatorProcess]:
    """Every call 200 ms slower: 16 in flight answer 80 a second, so an evaluation lasts long
    enough to be killed in the middle three times."""
    with EmulatorProcess(job_seconds=2, cancel_seconds=0.3,
                         extra_args=("--latency-ms=200",)) as process:
        yield process


def write_job(jobs: Path) -> None:
    (jobs / "ml" / "evals").mkdir(parents=True)
    (jobs / "ml" / "evals" / "set.jsonl").write_text("".join(json.dumps({"contents": [
        {"role": "user", "parts": [{"text": f"question {i}"}]},
        {"role": "model", "parts": [{"text": f"Answer {i}."}]}]}) + "\n"
        for i in range(EXAMPLES)))
    (jobs / "ml" / "judge.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata: {name: judge}\nspec:\n"
        "  baseModel: gemini-2.5-flash\n  trainingDataset: gs://datasets/ml/train.jsonl\n"
        "  evaluation: {dataset: evals/set.jsonl, maxExamples: 500, baseline: true,"
        " checkpoint: last, metrics: [exactMatch]}\n")


def leader_pid(bucket: Any) -> int | None:
    """The pid in the lease object's holder (`host-pid-suffix`), or None while there is none."""
    blob = bucket.get_blob("lease")
    if blob is None:
        return None
    return int(json.loads(blob.download_as_bytes())["holder"].split("-")[-2])


def test_a_leader_killed_mid_evaluation_three_times_pays_for_no_answer_twice(
        slow_emulator: EmulatorProcess, gcs_bucket: Any, project: str, tmp_path: Path) -> None:
    """SIGKILL the leader three times while it evaluates: the verdict is final (passed, in the
    status of the last leader and in `verdict-<key>.json` with every example's two answers), and
    GenerateContent calls ≤ 200 answers + one smoke test per leadership + the calls in flight
    (CONCURRENCY per kill); the answers took fewer objects than answers."""
    emulator, jobs = slow_emulator, tmp_path / "jobs"
    write_job(jobs)
    emulator.admin.set_answers([
        {"model": "tuned:judge", "default": "no idea",
         "answers": {f"question {i}": f"Answer {i}." for i in range(EXAMPLES)}},
        {"model": "gemini-2.5-flash", "default": "I am the base model"}])
    shared = ("--lease", f"gs://{gcs_bucket.name}/lease", "--lease-term", LEASE_TERM,
              "--artifacts", f"gs://{gcs_bucket.name}/team-a", "--check-datasets", "off")

    def start(slot: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            operator_args(emulator, project, jobs, tmp_path / f"state-{slot}", *shared,
                          "--log-file", str(tmp_path / f"operator-{slot}.log")),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))

    def calls() -> int:
        return emulator.admin.calls().get("GenerateContent", 0)

    def objects(under: str) -> list[str]:
        return [b.name for b in gcs_bucket.client.list_blobs(
            gcs_bucket.name, prefix=f"team-a/evaluations/judge/{under}")]

    def told() -> list[str]:
        records = [FileStatusStore(tmp_path / f"state-{slot}").fetch().get("judge")
                   for slot in (0, 1)]
        return [r.evaluation.verdict for r in records if r and r.evaluation]

    processes = [start(0), start(1)]
    at_kill: list[int] = []
    try:
        mark = 0
        for _ in range(KILLS):
            wait_for(lambda mark=mark: calls() >= mark + CALLS_PER_LEADER, seconds=45,
                     what="the leader is evaluating")
            pid = leader_pid(gcs_bucket)
            slot = next(i for i, p in enumerate(processes) if p.pid == pid)
            stop(processes[slot])  # SIGKILL: no release, no flush
            at_kill.append(mark := calls())
            assert not objects("verdict-"), "killed after the verdict, not mid-evaluation"
            processes[slot] = start(slot)
        wait_for(lambda: bool(objects("verdict-")) and "passed" in told(), seconds=60,
                 what="the final verdict, in the bucket and in the leader's status")
        total = calls()
    finally:
        for process in processes:
            stop(process)
    [name] = objects("verdict-")
    verdict = json.loads(gcs_bucket.blob(name).download_as_bytes())
    assert verdict["verdict"] == "passed", verdict["reason"]
    assert len(verdict["examples"]) == EXAMPLES
    assert all(len(e["answers"]) == 2 for e in verdict["examples"])
    leaderships = KILLS + 1  # each new leader smoke-tests the endpoint once
    bound = ANSWERS + leaderships + KILLS * CONCURRENCY
    assert ANSWERS <= total <= bound, f"{total} calls for {ANSWERS} answers (bound {bound})"
    stored = len(objects("answers/"))
    assert stored < ANSWERS, f"{stored} objects for {ANSWERS} answers"
    print(f"failover: {total} GenerateContent calls for {ANSWERS} answers (bound {bound}),"
          f" kills at {at_kill}, {stored} answers objects")
