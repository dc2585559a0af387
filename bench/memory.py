"""P5: resident memory of `tuning-operator run` at N jobs minus at 0 jobs.

Each size runs in a fresh operator process against the emulator process. The figure is the
RSS after the operator has created every job and run one more pass with nothing changed (a
touched file triggers it, so no 100-second resync has to pass); the peak during the creating
pass is reported beside it. Logs and events go to files, as in production.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

from harness import Figure, Suite
from jobdirs import write_jobs
from operator_process import OperatorProcess

from tests.support.emulator_process import EmulatorProcess

MB = 1e6


def operator_rss(emulator: EmulatorProcess, jobs: int) -> tuple[int, int]:
    """(steady RSS, peak RSS) of an operator process over `jobs` job files."""
    with tempfile.TemporaryDirectory(prefix="bench-rss-") as tmp:
        root = Path(tmp) / "jobs"
        root.mkdir()
        paths = write_jobs(root, jobs)
        peak = 0
        done = threading.Event()
        with OperatorProcess(jobs=root, state=Path(tmp) / "state",
                             endpoint=emulator.grpc_endpoint, project=f"rss-{jobs}") as operator:

            def sample() -> None:
                nonlocal peak
                while not done.wait(0.1):
                    try:
                        peak = max(peak, operator.rss())
                    except Exception:  # the process is gone or not started yet
                        return

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            operator.wait_for_passes(1, timeout=900)
            passes = operator.passes()
            if paths:
                os.utime(paths[0])  # a change the watch sees: one more pass, nothing to do
            else:
                (root / "_touched.yaml").write_text("")
            operator.wait_for_passes(passes + 1, timeout=300)
            steady = operator.rss()
            done.set()
            sampler.join(timeout=5)
    return steady, max(peak, steady)


def measure(size: int) -> Suite:
    suite = Suite("P5 — operator memory")
    with EmulatorProcess(job_seconds=36000) as emulator:
        empty, empty_peak = operator_rss(emulator, 0)
        full, full_peak = operator_rss(emulator, size)
    growth = (full - empty) / MB
    suite.figures.append(Figure(
        "P5", f"operator RSS at {size:,} jobs minus at 0", growth, "MB", "≤ 60 MB",
        growth <= 60, runs=1))
    suite.notes.append(
        f"RSS after a steady pass: {empty / MB:.0f} MB at 0 jobs, {full / MB:.0f} MB at"
        f" {size:,} jobs; peak while creating them {full_peak / MB:.0f} MB (growth"
        f" {(full_peak - empty_peak) / MB:.0f} MB); one process per size")
    return suite
