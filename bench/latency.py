"""P4: a job file written → CreateTuningJob received by the emulator, over 100 changes.

`tuning-operator run` runs as its own process with its default resync (30 s), so it is the
directory watch that triggers the pass. Each change writes one new job file, waits until the
emulator has counted the create, pauses a little, and writes the next; the latency is the
create time the emulator stamped on the job minus the moment the file was closed (one clock:
both processes run on this machine). Run twice: with the default `--settle` (a file changed
less than that many seconds ago may be half-written: no create from it yet) and `--settle 0`,
which shows what the watch and one pass cost on their own.
"""

from __future__ import annotations

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


def change_latencies(*, background: int, changes: int, settle: float | None,
                     seed: int = 4) -> list[float]:
    """Seconds from each new file closed to its create on the emulator."""
    rng = random.Random(seed)
    project = f"latency-{'default' if settle is None else settle}"
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp, \
            EmulatorProcess(job_seconds=36000) as emulator:
        root = Path(tmp) / "jobs"
        write_jobs(root, background)
        extra = () if settle is None else ("--settle", str(settle))
        written: dict[str, float] = {}
        with OperatorProcess(jobs=root, state=Path(tmp) / "state",
                             endpoint=emulator.grpc_endpoint, project=project,
                             extra=extra) as operator:
            wait_for_creates(emulator, background, timeout=600)
            operator.wait_for_passes(1, timeout=120)
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
    for settle, label in ((None, default), (0.0, "--settle 0")):
        latencies = change_latencies(background=background, changes=changes, settle=settle)
        p50, p99 = median(latencies), percentile(latencies, 0.99)
        suite.figures.append(Figure(
            "P4", f"write → create p99, {label}, {background:,} jobs", p99, "s", "p99 ≤ 1 s",
            p99 <= 1.0, runs=changes))
        suite.notes.append(
            f"{label}: p50 {p50:.3f} s, p99 {p99:.3f} s, min {min(latencies):.3f} s,"
            f" max {max(latencies):.3f} s over {changes} changes beside {background:,} jobs")
    return suite
