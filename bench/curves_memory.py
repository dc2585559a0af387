"""P11: the stored loss curves of 1,000 jobs: bytes on disk and the memory to load them.

Each job's `metrics/<job>.json` is `tests.support.report_state.training_run`'s document (what the
operator stores: four series and a checkpoint per epoch) of a run of `steps` steps. A fresh
process loads every file with `judging.curves.Curves.from_dict` (what a diagnosis reads) and
keeps them all; its RSS growth over the same process before loading is the figure.
`reporting.load_report` of one job (status store + metrics file) is timed beside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import Figure, Suite

from tests.support.report_state import finished_job, training_run
from tuning_operator.reporting.loading import METRICS_DIR

MB = 1e6
CHILD = """
import json, os, sys, time, psutil
from tuning_operator.judging.curves import Curves
from tuning_operator.reporting import load_report
state = sys.argv[1]
process = psutil.Process()
before = process.memory_info().rss
kept = []
started = time.perf_counter()
for name in sorted(os.listdir(os.path.join(state, "metrics"))):
    with open(os.path.join(state, "metrics", name), encoding="utf-8") as file:
        kept.append(Curves.from_dict(json.load(file)["series"]))
loaded = time.perf_counter() - started
after = process.memory_info().rss
started = time.perf_counter()
load_report(state, "job-00000")
report = time.perf_counter() - started
points = sum(len(s) for c in kept for s in c.series.values())
print(json.dumps({"growth": after - before, "seconds": loaded, "report": report,
                  "points": points}))
"""


def _state(directory: Path, jobs: int, steps: int) -> int:
    """A state directory of `jobs` finished jobs with their metrics; bytes of metrics files."""
    (directory / METRICS_DIR).mkdir(parents=True)
    records = {}
    size = 0
    for index in range(jobs):
        name = f"job-{index:05d}"
        records[name] = {"name": name, "first_seen": 0.0, **finished_job(steps=steps)}
        text = json.dumps(training_run(steps=steps, seed=index))
        (directory / METRICS_DIR / f"{name}.json").write_text(text)
        size += len(text)
    (directory / "status.json").write_text(json.dumps({"version": 1, "jobs": records}))
    return size


def measure(jobs: int, steps: int) -> Suite:
    suite = Suite("P11 — stored curves")
    with tempfile.TemporaryDirectory(prefix="bench-curves-") as tmp:
        size = _state(Path(tmp), jobs, steps)
        answer = subprocess.run([sys.executable, "-c", CHILD, tmp], capture_output=True,
                                text=True, timeout=600, check=True)
    child = json.loads(answer.stdout.strip().splitlines()[-1])
    suite.figures.append(Figure(
        "P11", f"metrics files of {jobs:,} jobs of {steps:,} steps, on disk", size / MB, "MB",
        "–", None, runs=1))
    suite.figures.append(Figure(
        "P11", "RSS of loading them all with `Curves.from_dict`", child["growth"] / MB, "MB",
        "–", None, runs=1))
    suite.notes.append(
        f"{child['points']:,} points, {child['growth'] / child['points']:.0f} bytes of RSS per"
        f" point; loading all took {child['seconds']:.2f} s; `load_report` of one job (status"
        f" store of {jobs:,} records + its metrics file) {child['report']:.3f} s")
    return suite
