"""Cycle time and Vertex calls per reconcile cycle at N jobs, against the emulator process.

Usage: python bench/operator_cycle.py [--jobs 1000] [--repeats 5]

Creates N job files, lets the operator create them all (emulator jobs run for an hour, so they
stay active), then measures steady-state cycles with nothing changed: wall time per cycle
(median of the repeats) and the Vertex calls each cycle cost, read from the emulator's own
call counter. The floor for the call count is ceil(N / page size) List calls and 0 Gets.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tuning_operator.emulator.testing import EmulatorProcess
from tuning_operator.reconciling.reconciler import OperatorSettings, Reconciler
from tuning_operator.reconciling.testing import RecordingRecorder
from tuning_operator.state.store import FileStatusStore
from tuning_operator.vertex.budget import RequestBudget
from tuning_operator.vertex.jobs import PAGE_SIZE, VertexTuningJobs

JOB = """apiVersion: tuning-operator/v1
kind: TuningJob
metadata:
  name: {name}
spec:
  baseModel: gemini-2.5-flash
  trainingDataset: gs://datasets/{team}/{name}/train.jsonl
  hyperParameters: {{epochCount: 3, adapterSize: 4}}
"""


def write_jobs(root: Path, count: int) -> None:
    for i in range(count):
        team = f"team-{i % 10}"
        (root / team).mkdir(parents=True, exist_ok=True)
        (root / team / f"job-{i:05d}.yaml").write_text(JOB.format(name=f"job-{i:05d}", team=team))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess(job_seconds=3600) as emulator:
        jobs = Path(tmp) / "jobs"
        write_jobs(jobs, args.jobs)
        budget = RequestBudget(crud_per_minute=1e9, submissions_per_minute=1e9)
        vertex = VertexTuningJobs.for_emulator(emulator.grpc_endpoint, project="bench",
                                               budget=budget)
        reconciler = Reconciler(
            settings=OperatorSettings(jobs_dir=jobs, settle_seconds=0.0),
            vertex=vertex, store=FileStatusStore(Path(tmp) / "state"),
            recorder=RecordingRecorder())
        started = time.perf_counter()
        first = reconciler.reconcile()
        first_seconds = time.perf_counter() - started
        reconciler.reconcile()  # observe the created jobs once
        times, calls = [], []
        for _ in range(args.repeats):
            emulator.admin.reset_calls()
            report = reconciler.reconcile()
            times.append(report.duration)
            calls.append(emulator.admin.calls())
        vertex.close()
    floor = math.ceil(args.jobs / PAGE_SIZE)
    steady = calls[-1]
    total = sum(steady.values())
    print(f"jobs: {args.jobs}; page size {PAGE_SIZE}; python {sys.version.split()[0]}")
    print(f"first pass (creates {first.calls['CreateTuningJob']}): {first_seconds:.2f} s")
    print(f"steady cycle, median of {args.repeats}: {statistics.median(times) * 1000:.0f} ms"
          f" (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})")
    print(f"Vertex calls per steady cycle: {dict(steady)} = {total};"
          f" floor ceil(jobs/page) = {floor}; ratio {total / floor:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
