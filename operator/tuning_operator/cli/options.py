"""The flags that decide what a pass does, declared once for `run` and `plan`.

A live `plan` must decide as the operator does, so the two commands take the same decision
settings, with the same names and meaning (their defaults live in `manager/settings.py`).
"""

from __future__ import annotations

import argparse


def add_decision_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--region", help="region of jobs that name none (default: us-central1)")
    add("--max-concurrent-jobs", type=int,
        help="concurrent tuning jobs (the quota; global across regions by default)")
    add("--quota-scope", choices=("global", "region"),
        help="global (default, as Vertex counts it): one count for every region; region: each"
        " region on its own")
    add("--quota-regions", metavar="R1,R2",
        help="regions listed too, for unmanaged active jobs that hold global quota slots")
    add("--allow-mass-deletion", action="store_true", default=None,
        help="let more than half of the jobs vanish at once and still cancel onDelete: Cancel")
    add("--create-fence", type=float, help="seconds a create with unknown outcome blocks retries")
    add("--settle", type=float, help="seconds a changed file must be quiet before a create")
    add("--artifacts", metavar="gs://BUCKET/PREFIX",
        help="keep evaluation answers and verdicts here, shared by every replica (the state"
        " directory is then their cache), and have Vertex write evaluations during tuning"
        " here (a job with `evaluation.duringTuning` is not created without it); default: the"
        " state directory only")
