"""A stand-in operator for the crash tests: appends numbered events to an outbox on Pub/Sub.

Run from the repository root as
`python -m tests.operator.events.outbox_child OUTBOX_DIR TOPIC JOBS STEPS sync|group`. After each
reconcile-like pass it prints the step whose events `append_all` has stored, so the test knows
what must survive the kill -9 it is about to deliver. When done it keeps running until killed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import structlog

from tests.support.status_events import numbered_events
from tuning_operator.events.outbox import Backoff, Outbox
from tuning_operator.events.pubsub import PubSubSink


def main(directory: str, topic: str, jobs: str, steps: str, commit: str) -> None:
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))  # stdout: steps
    names = jobs.split(",")
    streams = {job: numbered_events(job, int(steps)) for job in names}
    sink = PubSubSink(topic, max_retry_delay=0.5)
    outbox = Outbox(
        Path(directory),
        sink,
        backoff=Backoff(initial=0.2, maximum=1.0),
        sync_on_append=commit == "sync",
    )
    for step in range(int(steps)):
        outbox.append_all([streams[job][step] for job in names])
        print(step, flush=True)
        time.sleep(0.002)
    print("done", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main(*sys.argv[1:])
