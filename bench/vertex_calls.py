"""P3: Vertex calls per steady-state cycle, read from the emulator's own call counter.

The reconciler runs in this process with the real adapter; the emulator runs in its own
process and serves gRPC. N job files are created on Vertex by the first pass (jobs last an
hour, so they stay active), observed by the second, then each measured cycle changes nothing.
The floor is ⌈N / page size⌉ List calls and no Get: one paged List per region, nothing per job.
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness import Figure, Suite, median
from jobdirs import write_jobs

from tests.support.emulator_process import EmulatorProcess
from tests.support.fake_vertex import RecordingRecorder
from tuning_operator.reconciling.reconciler import OperatorSettings, Reconciler
from tuning_operator.state.store import FileStatusStore
from tuning_operator.vertex.budget import RequestBudget
from tuning_operator.vertex.jobs import PAGE_SIZE, VertexTuningJobs

UNLIMITED = RequestBudget(crud_per_minute=1e9, submissions_per_minute=1e9)


@dataclass(frozen=True)
class SteadyCycle:
    """What `repeats` cycles with nothing changed cost, after a first pass created `jobs`."""

    jobs: int
    created: int
    first_pass: float  # seconds
    cycle_times: list[float]
    calls: dict[str, int]  # per method, of the last measured cycle

    @property
    def floor(self) -> int:
        return math.ceil(self.jobs / PAGE_SIZE)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


def steady_cycle(jobs: int, repeats: int) -> SteadyCycle:
    """Run the reconciler over `jobs` files against an emulator process; measure the cycles."""
    with tempfile.TemporaryDirectory(prefix="bench-cycle-") as tmp, \
            EmulatorProcess(job_seconds=3600) as emulator:
        root = Path(tmp) / "jobs"
        write_jobs(root, jobs)
        vertex = VertexTuningJobs.for_emulator(emulator.grpc_endpoint, project="bench",
                                               budget=UNLIMITED)
        reconciler = Reconciler(settings=OperatorSettings(jobs_dir=root, settle_seconds=0.0),
                                vertex=vertex, store=FileStatusStore(Path(tmp) / "state"),
                                recorder=RecordingRecorder())
        started = time.perf_counter()
        first = reconciler.reconcile()
        first_pass = time.perf_counter() - started
        reconciler.reconcile()  # observes the created jobs once
        times, calls = [], {}
        for _ in range(repeats):
            emulator.admin.reset_calls()
            times.append(reconciler.reconcile().duration)
            calls = emulator.admin.calls()
        vertex.close()
    return SteadyCycle(jobs=jobs, created=first.calls["CreateTuningJob"], first_pass=first_pass,
                       cycle_times=times, calls=calls)


def measure(sizes: list[int], runs: int) -> Suite:
    suite = Suite("P3 — Vertex calls per steady cycle")
    for size in sizes:
        cycle = steady_cycle(size, runs)
        at_floor = cycle.total_calls == cycle.floor and cycle.calls["GetTuningJob"] == 0
        suite.figures.append(Figure(
            "P3", f"Vertex calls per steady cycle, {size:,} jobs", cycle.total_calls, "calls",
            "ratio 1.0, 0 Get", at_floor,
            floor=cycle.floor, floor_what=f"⌈jobs/{PAGE_SIZE}⌉ List", runs=runs))
        suite.notes.append(
            f"{size:,} jobs: calls per cycle {cycle.calls}; whole pass over gRPC (List + load +"
            f" plan + store) median {median(cycle.cycle_times):.3f} s (min"
            f" {min(cycle.cycle_times):.3f}, max {max(cycle.cycle_times):.3f}); the first pass"
            f" created {cycle.created:,} jobs in {cycle.first_pass:.1f} s")
    return suite
