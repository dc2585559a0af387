"""Every benchmark of issues 8 and 17 in one command: prints the table, rewrites RESULTS.md.

    .venv/bin/python bench/run.py [--quick] [--only P1,P4] [--runs N] [--profile DIR] [--no-write]

Each figure is measured against a floor taken in the same run on this machine (or, for P4 and
P5, an absolute goal), median of several runs, with the machine noted. Nothing here is pass or
fail: a goal not met is a finding, reported with what limits it. `--quick` uses 1,000 files
instead of 10,000 and fewer runs (about three minutes instead of fifteen). `--profile DIR`
saves a pyinstrument call tree of P1 and P2 (pyinstrument is pinned in requirements.txt).
Generated job directories live in temporary directories and are removed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.support

import curves_memory
import diagnosing
import evaluating
import harness
import latency
import loading
import memory
import publishing
import startup
import vertex_calls

from tuning_operator.manager.composition import configure_logging

RESULTS = Path(__file__).with_name("RESULTS.md")


@dataclass(frozen=True)
class Scale:
    """How big and how often: the full run or the quick one."""

    sizes: list[int]
    runs: int
    rss_jobs: int
    latency_background: int
    changes: int
    startup_runs: int
    event_steps: int
    eval_examples: int
    curve_jobs: int


FULL = Scale(sizes=[1_000, 10_000], runs=5, rss_jobs=10_000, latency_background=1_000,
             changes=100, startup_runs=10, event_steps=250, eval_examples=10_000,
             curve_jobs=1_000)
QUICK = Scale(sizes=[1_000], runs=3, rss_jobs=1_000, latency_background=100, changes=20,
              startup_runs=5, event_steps=50, eval_examples=1_000, curve_jobs=100)


def suites(scale: Scale, runs: int,
           profiles: Path | None) -> dict[str, Callable[[], harness.Suite]]:
    return {
        "P1": lambda: loading.measure(scale.sizes, runs, profiles),  # P1 and P2 together
        "P3": lambda: vertex_calls.measure(scale.sizes, runs),
        "P4": lambda: latency.measure(background=scale.latency_background,
                                      changes=scale.changes),
        "P5": lambda: memory.measure(scale.rss_jobs),
        "P7": lambda: startup.measure(scale.startup_runs),
        "P8": lambda: publishing.measure(jobs=20, steps=scale.event_steps,
                                         runs=max(3, runs - 2)),
        "P9": lambda: diagnosing.measure(steps=10_000, runs=runs),
        "P10": lambda: evaluating.measure(examples=scale.eval_examples, runs=runs),
        "P11": lambda: curves_memory.measure(jobs=scale.curve_jobs, steps=1_000),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 files, fewer runs")
    parser.add_argument("--only", help="comma-separated: P1 (with P2), P3 … P11")
    parser.add_argument("--runs", type=int, help="runs per median (default 5; quick 3)")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="save pyinstrument trees")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    scale = QUICK if args.quick else FULL
    runs = args.runs or scale.runs
    configure_logging(os.devnull)  # the operator's JSON logging, at its cost, written nowhere
    about = harness.machine()
    wanted = {key.strip().upper() for key in args.only.split(",")} if args.only else None
    done: list[harness.Suite] = []
    for key, measure in suites(scale, runs, args.profile).items():
        if wanted is not None and key not in wanted and not (key == "P1" and "P2" in wanted):
            continue
        print(f"== {key} …", flush=True)
        started = time.monotonic()
        try:
            suite = measure()
        except Exception:
            suite = harness.Suite(key, notes=[f"failed: {traceback.format_exc(limit=3)}"])
        suite.seconds = time.monotonic() - started
        done.append(suite)
        print("\n".join(harness.table(suite.figures)), *suite.notes, sep="\n", flush=True)
    about["load average at end (1, 5, 15 min)"] = ", ".join(
        f"{x:.2f}" for x in os.getloadavg())
    flags = [f for f, on in (("--quick", args.quick), ("--no-write", args.no_write)) if on]
    flags += [f"--only {args.only}"] if args.only else []
    flags += [f"--runs {args.runs}"] if args.runs else []
    flags += ["--profile DIR"] if args.profile else []
    block = harness.results_block(done, about, " ".join(["bench/run.py", *flags]))
    print("\n" + "\n".join(harness.table([f for s in done for f in s.figures])))
    if not args.no_write:
        harness.write_results(RESULTS, [harness.scrubbed(line) for line in block])
        print(f"\nwrote {RESULTS.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
