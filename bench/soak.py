"""The long version of robustness test R1: a bigger storm, more kills, faults on top.

    .venv/bin/python bench/soak.py [--jobs 1000] [--kills 100] [--fault-rate 0.1]
                                   [--ghost-rate 0.2] [--unmanaged 10] [--seed 8]

`tuning-operator run` is started and SIGKILLed `--kills` times at random points while it
creates `--jobs` jobs against the Vertex emulator (ghost creates and injected faults on), then
run until every job has settled. The same checks as tests/e2e/test_robustness.py follow: one
Vertex job per name, every recorded phase change published in order, unmanaged jobs untouched
and no cancel at all. Exit 0 when every promise held, 1 otherwise (with the broken ones listed).
It takes minutes, so it is not part of `make test`.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package, for storm

from tests.e2e.conftest import run_operator
from tests.e2e.storm import (
    duplicates,
    kill_storm,
    seed_unmanaged,
    unmanaged_touched,
    unpublished_transitions,
    write_jobs,
)
from tests.support.emulator_process import EmulatorProcess


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--ghost-rate", type=float, default=0.2)
    parser.add_argument("--unmanaged", type=int, default=10)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    project = f"soak-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp, \
            EmulatorProcess(job_seconds=60, extra_args=("--latency-ms=5",)) as vertex:
        jobs, state = Path(tmp) / "jobs", Path(tmp) / "state"
        names = write_jobs(jobs, args.jobs)
        unmanaged = seed_unmanaged(vertex, project, args.unmanaged)
        vertex.admin.configure_faults(fault_rate=args.fault_rate,
                                      ghost_create_rate=args.ghost_rate)
        storm = kill_storm(vertex, project, jobs, state, kills=args.kills,
                           rng=random.Random(args.seed), life=(0.5, 4.0))
        done = run_operator(vertex, project, jobs, state, "--until-settled", "--deadline", "600",
                            timeout=900)
        vertex.admin.clear_faults()
        problems = {
            "not settled": [] if done.returncode == 0 else [done.stdout[-2000:]],
            "duplicates or missing": duplicates(vertex, project, names),
            "unpublished transitions": unpublished_transitions(state, state / "events.jsonl"),
            "unmanaged jobs touched": unmanaged_touched(vertex, project, unmanaged),
            "cancels": [f"{n} CancelTuningJob calls"
                        for n in [vertex.admin.calls()["CancelTuningJob"]] if n],
        }
    during = sum(1 for count in storm.jobs_at_kill if count < args.jobs)
    print(f"{args.jobs} jobs, {args.kills} kills ({during} while creates were pending),"
          f" faults {args.fault_rate:.0%}, ghost creates {args.ghost_rate:.0%},"
          f" {args.unmanaged} unmanaged jobs; {time.monotonic() - started:.0f} s")
    broken = {promise: found for promise, found in problems.items() if found}
    for promise, found in broken.items():
        print(f"BROKEN {promise}: {len(found)}", *found[:10], sep="\n  ")
    print("every promise held" if not broken else f"{len(broken)} promise(s) broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
