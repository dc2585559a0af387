"""kill -9 of a process with events in its outbox: the next process publishes them all.

A child process plays the operator: it appends events (with the real Pub/Sub sink) and is
killed with SIGKILL mid-run, either while publishing to a live topic (some events delivered,
some in flight, some stored) or while the topic is missing (every event stored). A new outbox
on the same directory then replays; the subscription must see every event the child had
stored, in order per job; repeats are allowed (at-least-once, deduped by ce-id).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.pubsub_emulator import PubSubEmulator
from tests.support.status_events import delivery_order
from tuning_operator.events.outbox import Outbox

pytestmark = pytest.mark.emulator

# Run as a module from the repository root, so the child imports `tests.support` as we do.
REPO_ROOT = Path(__file__).resolve().parents[3]
CHILD = "tests.operator.events.outbox_child"
JOBS = ("alpha", "beta", "gamma")
STEPS = 400
KILL_AFTER = 60


def run_child_and_kill(directory: Path, topic: str, commit: str) -> int:
    """Start the stand-in operator, kill -9 it mid-run; returns the last step it stored."""
    child = subprocess.Popen(
        [sys.executable, "-m", CHILD, str(directory), topic, ",".join(JOBS), str(STEPS), commit],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    stored = -1
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 60
        while stored < KILL_AFTER and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line or line.strip() == "done":
                break
            stored = int(line)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    assert stored >= KILL_AFTER, "the child did not get far enough to be killed mid-run"
    assert stored < STEPS - 1, "the child finished before the kill: nothing was tested"
    return stored


@pytest.mark.parametrize(
    ("topic_ready", "commit"),
    [(True, "sync"), (False, "sync"), (False, "group")],
    ids=["publishing", "topic-missing", "topic-missing-group-commit"],
)
def test_nothing_stored_before_a_kill_9_is_lost(
    tmp_path: Path,
    pubsub_emulator: PubSubEmulator,
    sink_for: Any,
    topic_ready: bool,
    commit: str,
) -> None:
    """Every event the killed process had stored arrives after the restart, in order per job."""
    name = f"crash-{commit}-{topic_ready}-{time.monotonic_ns()}"
    topic = f"projects/{pubsub_emulator.project}/topics/{name}"
    if topic_ready:
        pubsub_emulator.create_topic(name)
        subscription = pubsub_emulator.create_subscription(f"{name}-tail", topic)
    stored = run_child_and_kill(tmp_path / "outbox", topic, commit)
    if not topic_ready:
        pubsub_emulator.create_topic(name)
        subscription = pubsub_emulator.create_subscription(f"{name}-tail", topic)
    outbox = Outbox(tmp_path / "outbox", sink_for(topic))
    left = outbox.status().pending
    assert outbox.drain(timeout=30)
    outbox.close()
    if not topic_ready:
        assert left >= (stored + 1) * len(JOBS), "the child's events were not in its outbox"
    received = pubsub_emulator.receive(subscription, count=(stored + 1) * len(JOBS), timeout=30)
    received += pubsub_emulator.receive(subscription, count=10**6, timeout=1.5)  # the rest
    order = delivery_order(r.event for r in received)
    for job in JOBS:
        steps = order.get(job, [])
        assert steps == list(range(len(steps))), f"{job}: out of order or with a gap"
        assert len(steps) >= stored + 1, f"{job}: lost events stored before the kill"
