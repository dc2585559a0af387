"""Cycle time and Vertex calls per reconcile cycle at N jobs, against the emulator process.

Usage: python bench/operator_cycle.py [--jobs 1000] [--repeats 5]

Creates N job files, lets the operator create them all (emulator jobs run for an hour, so they
stay active), then measures steady-state cycles with nothing changed: wall time per cycle
(median of the repeats) and the Vertex calls each cycle cost, read from the emulator's own
call counter. The floor for the call count is ceil(N / page size) List calls and 0 Gets.
`bench/run.py` reports the same figure as P3, next to the other goals.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.support

from vertex_calls import steady_cycle

from tuning_operator.vertex.jobs import PAGE_SIZE


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cycle = steady_cycle(args.jobs, args.repeats)
    times = cycle.cycle_times
    print(f"jobs: {args.jobs}; page size {PAGE_SIZE}; python {sys.version.split()[0]}")
    print(f"first pass (creates {cycle.created}): {cycle.first_pass:.2f} s")
    print(f"steady cycle, median of {args.repeats}: {statistics.median(times) * 1000:.0f} ms"
          f" (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})")
    print(f"Vertex calls per steady cycle: {cycle.calls} = {cycle.total_calls};"
          f" floor ceil(jobs/page) = {cycle.floor}; ratio {cycle.total_calls / cycle.floor:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
