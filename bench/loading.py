"""P1 and P2: the loader and planner against the cheapest thing that touches the same files.

P1, cold: `load_jobs_dir` with an empty cache plus `plan` against no Vertex jobs (what
`plan --offline` does) against the floor: libyaml alone parsing every file (read + CSafeLoader,
no checks). P2, warm: one whole reconcile pass with nothing changed (stat cache warm, List
answered in memory by `FakeVertex` so the network is left out — P3 measures that part)
against the floor: `os.stat` of every file. Both interleaved with their floor, median of runs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml
from harness import Figure, Suite, interleaved, median, profile, timed
from jobdirs import job_paths, write_jobs

from tests.support.fake_vertex import FakeVertex, RecordingRecorder
from tuning_operator.planning.planner import PlanSettings, plan
from tuning_operator.reconciling.reconciler import OperatorSettings, Reconciler
from tuning_operator.specs import LoadCache, load_jobs_dir
from tuning_operator.state.store import FileStatusStore


def libyaml_parse(paths: list[str]) -> None:
    for path in paths:
        with open(path, "rb") as handle:
            yaml.load(handle.read(), Loader=yaml.CSafeLoader)


def stat_all(paths: list[str]) -> None:
    for path in paths:
        os.stat(path)


def cold_load_and_plan(root: Path) -> None:
    plan(load_jobs_dir(root, cache=LoadCache()), [], PlanSettings())


def measure(sizes: list[int], runs: int, profiles: Path | None) -> Suite:
    suite = Suite("P1, P2 — loading and planning")
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-jobs-") as tmp:
            measure_size(Path(tmp), size, runs, profiles, suite)
    return suite


def measure_size(tmp: Path, size: int, runs: int, profiles: Path | None, suite: Suite) -> None:
    """P1 and P2 over `size` generated files under `tmp`; figures and notes go to `suite`."""
    root = tmp / "jobs"
    write_jobs(root, size)
    paths = job_paths(root)
    megabytes = sum(os.path.getsize(p) for p in paths) / 1e6
    libyaml_parse(paths)  # the page cache is warm for both contestants
    cold = interleaved({"floor": lambda: libyaml_parse(paths),
                        "ours": lambda: cold_load_and_plan(root)}, runs)
    suite.figures.append(Figure(
        "P1", f"cold load + plan, {size:,} files", median(cold["ours"]), "s", "≤ 1.5×",
        median(cold["ours"]) <= 1.5 * median(cold["floor"]),
        floor=median(cold["floor"]), floor_what="libyaml parse", runs=runs))
    reconciler = Reconciler(
        settings=OperatorSettings(jobs_dir=root, settle_seconds=0.0),
        vertex=FakeVertex(), store=FileStatusStore(tmp / "state"),
        recorder=RecordingRecorder())
    reconciler.reconcile()  # creates every job in the fake
    reconciler.reconcile()  # observes them: from now on nothing changes
    warm = interleaved({"floor": lambda: stat_all(paths), "ours": reconciler.reconcile}, runs)
    suite.figures.append(Figure(
        "P2", f"warm cycle, nothing changed, {size:,} files", median(warm["ours"]),
        "s", "≤ 3×", median(warm["ours"]) <= 3 * median(warm["floor"]),
        floor=median(warm["floor"]), floor_what="stat of every file", runs=runs))
    loader_only = median([timed(lambda: load_jobs_dir(root, cache=reconciler.cache))
                          for _ in range(runs)])
    suite.notes.append(
        f"{size:,} files ({megabytes:.1f} MB): of the warm pass, load_jobs_dir with a warm"
        f" cache alone takes {loader_only:.3f} s; the cache parsed each file once"
        f" ({reconciler.cache.parses:,} parses)")
    profile(lambda: cold_load_and_plan(root), name=f"p1-cold-{size}", directory=profiles)
    profile(reconciler.reconcile, name=f"p2-warm-{size}", directory=profiles)
