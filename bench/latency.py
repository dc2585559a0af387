"""P4: a job file written → CreateTuningJob received by the emulator, over 100 changes.

`tuning-operator run` runs as its own process with its default resync (30 s), so it is the
directory watch that triggers the pass. Each change writes one new job file, waits until the
emulator has counted the create, pauses a little, and writes the next; the latency is the
create time the emulator stamped on the job minus the moment the file was closed (one clock:
both processes run on this machine). Run twice: with the default `--settle` (a file changed
less than that many seconds ago may be half-written: no create from it yet) and `--settle 0`,
which shows what the watch and one pass cost on their own. A third run adds a succeeded job whose
10,000-example evaluation (with baseline) has begun when its endpoint starts failing every
call (`faults:failNext … UNAVAILABLE`): the pass must not wait on it (issue 25's case, 13 s).
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path

from harness import Figure, Suite, median, percentile
from jobdirs import job_name, write_job, write_jobs
from operator_process import OperatorProcess
from vertex_calls import UNLIMITED

from tests.support.emulator_process import EmulatorProcess
from tuning_operator.manager.settings import DEFAULTS
from tuning_operator.vertex.jobs import VertexTuningJobs


def creates(emulator: EmulatorProcess) -> int:
    return emulator.admin.calls()["CreateTuningJob"]


def wait_for_creates(emulator: EmulatorProcess, count: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while creates(emulator) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the emulator saw fewer than {count} creates in {timeout} s")
        time.sleep(0.01)


JUDGED = """\
apiVersion: tuning-operator/v1
kind: TuningJob
metadata: {name: judge, labels: {emulator-duration-ms: "0"}}
spec:
  baseModel: gemini-2.5-flash
  trainingDataset: gs://bench-datasets/ml/judge/train.jsonl
  evaluation: {dataset: evals/set.jsonl, maxExamples: 10000, baseline: true, checkpoint: last}
"""


def write_judged(root: Path, examples: int = 10_000) -> Path:
    """A job that succeeds at once and is evaluated on `examples` examples; its answers file."""
    (root / "ml" / "evals").mkdir(parents=True, exist_ok=True)
    (root / "ml" / "evals" / "set.jsonl").write_text("".join(json.dumps({"contents": [
        {"role": "user", "parts": [{"text": f"question {i}"}]},
        {"role": "model", "parts": [{"text": f"answer {i}"}]}]}) + "\n"
        for i in range(examples)))
    (root / "ml" / "judge.yaml").write_text(JUDGED)
    return root.parent / "state" / "evaluations" / "judge" / "answers.jsonl"


def answers_at_least(journal: Path, count: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not journal.exists() or journal.read_bytes().count(b"\n") < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {count} answers journaled in {timeout} s")
        time.sleep(0.05)


def change_latencies(*, background: int, changes: int, settle: float | None,
                     failing_evaluation: bool = False, seed: int = 4) -> list[float]:
    """Seconds from each new file closed to its create on the emulator."""
    rng = random.Random(seed)
    project = f"latency-{'default' if settle is None else settle}-{failing_evaluation}"
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp, \
            EmulatorProcess(job_seconds=36000) as emulator:
        root = Path(tmp) / "jobs"
        write_jobs(root, background)
        journal = write_judged(root) if failing_evaluation else None
        extra = () if settle is None else ("--settle", str(settle))
        written: dict[str, float] = {}
        with OperatorProcess(jobs=root, state=Path(tmp) / "state",
                             endpoint=emulator.grpc_endpoint, project=project,
                             extra=(*extra, "--predictions-per-minute", "1e9")) as operator:
            wait_for_creates(emulator, background + (journal is not None), timeout=600)
            operator.wait_for_passes(1, timeout=120)
            if journal is not None:  # the evaluation has begun: now every call fails
                answers_at_least(journal, 200, timeout=120)
                emulator.admin.fail_next("GenerateContent", "UNAVAILABLE", times=1_000_000)
            time.sleep(1.0)
            for index in range(changes):
                seen = creates(emulator)
                write_job(root, index, prefix="change")
                written[job_name(index, "change")] = time.time()
                wait_for_creates(emulator, seen + 1, timeout=60)
                time.sleep(rng.uniform(0.1, 0.4))
        with VertexTuningJobs.for_emulator(emulator.grpc_endpoint, project=project,
                                           budget=UNLIMITED) as vertex:
            created = {j.job_name: j.create_time for j in vertex.list_managed("us-central1").jobs}
    latencies = []
    for name, at in written.items():
        stamp = created[name]
        assert stamp is not None, f"{name} has no create time"
        latencies.append(stamp.timestamp() - at)
    return latencies


def measure(*, background: int, changes: int) -> Suite:
    suite = Suite("P4 — file written → CreateTuningJob")
    default = f"default --settle {DEFAULTS['settle']:g}"
    runs = ((None, default, False), (0.0, "--settle 0", False),
            (None, f"{default}, an evaluation's endpoint failing every call", True))
    for settle, label, failing in runs:
        latencies = change_latencies(background=background, changes=changes, settle=settle,
                                     failing_evaluation=failing)
        p50, p99 = median(latencies), percentile(latencies, 0.99)
        suite.figures.append(Figure(
            "P4", f"write → create p99, {label}, {background:,} jobs", p99, "s", "p99 ≤ 1 s",
            p99 <= 1.0, runs=changes))
        suite.notes.append(
            f"{label}: p50 {p50:.3f} s, p99 {p99:.3f} s, min {min(latencies):.3f} s,"
            f" max {max(latencies):.3f} s over {changes} changes beside {background:,} jobs")
    return suite
