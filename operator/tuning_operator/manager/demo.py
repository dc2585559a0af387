"""The README's demo: `run` with demo settings on the example jobs, against the embedded
emulator, with the example datasets served where fake-gcs-server is installed; it ends by
itself once every job is settled, then prints each job's verdicts.

It sits beside the composition root because it is one more way to compose the operator, not
argument parsing. The command line passes in how a job's report is written (its `report`
command): nothing below the command line may import it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from tuning_operator.manager.composition import operate
from tuning_operator.manager.settings import resolve_settings

# (job name, state directory, output file): writes that job's HTML report
WriteReport = Callable[[str, Path, Path], object]


def run_demo(*, jobs_dir: str, state: str, job_seconds: float,
             write_report: WriteReport) -> int:
    """A fresh state, the embedded emulator, a live table; the verdicts printed at the end."""
    state_dir = Path(state)
    shutil.rmtree(state_dir, ignore_errors=True)
    options = resolve_settings(argparse.Namespace(), environ={})
    options.jobs_dir, options.state_dir = jobs_dir, str(state_dir)
    options.emulator_job_seconds = job_seconds
    options.max_concurrent_jobs, options.resync, options.settle = 2, 1.0, 0.0
    options.until_settled, options.deadline, options.live = True, 90.0, True
    options.log_file = str(state_dir / "operator.log")
    options.check_datasets = "on"
    if not Path(jobs_dir).is_dir():
        print(f"demo: no job files at {jobs_dir}; run it from a checkout of the repository"
              " or pass --jobs-dir", file=sys.stderr)
        return 2
    state_dir.mkdir(parents=True)
    answers = Path(jobs_dir).parent / "emulator-answers.json"  # the tuned models' replies
    options.emulator_answers = str(answers) if answers.is_file() else None
    with _demo_datasets(Path(jobs_dir).parent / "datasets") as served:
        if not served:
            options.check_datasets = "off"
        code = operate(options)
    events = state_dir / "events.jsonl"
    count = sum(1 for _ in events.open()) if events.exists() else 0
    print(f"\n{'settled' if code == 0 else 'NOT settled'}: {count} events in {events};"
          f" audit trail {state_dir / 'audit.jsonl'}; logs {options.log_file}")
    _demo_verdicts(state_dir, write_report)
    print(f"next: tuning-operator status --state-dir {state_dir}  |  "
          f"tuning-operator history ticket-classifier-v3 --state-dir {state_dir}")
    return code


def _demo_verdicts(state_dir: Path, write_report: WriteReport) -> None:
    """Each job's diagnosis and evaluation in one line, and the HTML report of the evaluated."""
    from tuning_operator.state.store import FileStatusStore

    for record in sorted(FileStatusStore(state_dir).fetch().values(), key=lambda r: r.name):
        diagnosis = record.diagnosis.verdict if record.diagnosis else "-"
        line = f"  {record.name}: {record.phase}, curves {diagnosis}"
        if record.evaluation:
            line += f", evaluation {record.evaluation.verdict} ({record.evaluation.reason})"
            report = state_dir / f"{record.name}.html"
            write_report(record.name, state_dir, report)
        print(line)


@contextlib.contextmanager
def _demo_datasets(root: Path) -> Iterator[bool]:
    """fake-gcs-server with examples/datasets uploaded, so the pre-flight reads real objects.

    Yields False (the demo then runs without the dataset pre-flight) where fake-gcs-server is
    not installed: it is a test tool, and a plain `pip install tuning-operator` has none.
    """
    from tuning_operator.datasets.local_gcs import LocalGcsServer, LocalGcsUnavailable

    server = LocalGcsServer()
    try:
        server.__enter__()
    except LocalGcsUnavailable as exc:
        print(f"demo: dataset pre-flight skipped ({exc})", file=sys.stderr)
        yield False
        return
    with contextlib.ExitStack() as stack:
        stack.push(server.__exit__)
        previous = os.environ.get("STORAGE_EMULATOR_HOST")
        os.environ["STORAGE_EMULATOR_HOST"] = server.url
        try:
            client = server.client()
            for bucket_dir in sorted(p for p in root.iterdir() if p.is_dir()):
                bucket = client.create_bucket(bucket_dir.name)
                for path in sorted(bucket_dir.rglob("*.jsonl")):
                    blob = bucket.blob(path.relative_to(bucket_dir).as_posix())
                    blob.upload_from_filename(str(path))
            yield True
        finally:
            if previous is None:
                os.environ.pop("STORAGE_EMULATOR_HOST", None)
            else:
                os.environ["STORAGE_EMULATOR_HOST"] = previous
