"""The Pub/Sub sink and `events tail` against the official emulator, over the wire."""

from __future__ import annotations

import io
import threading
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from tests.support.pubsub_emulator import PubSubEmulator
from tests.support.status_events import lifecycle_events
from tuning_operator.cli import main
from tuning_operator.events.model import EVENT_TYPE
from tuning_operator.events.outbox import Backoff, Outbox

pytestmark = pytest.mark.emulator

JOBS = ("support-classifier-v3", "billing-router-v1", "churn-summarizer-v2")


def tail(subscription: str, *options: str) -> list[str]:
    return ["events", "tail", "--subscription", subscription, *options]


def test_a_jobs_lifecycle_arrives_in_order_with_every_attribute(
    tmp_path: Path, pubsub_emulator: PubSubEmulator, channel: Any, sink_for: Any
) -> None:
    """Waiting → Submitted → Running → Succeeded of three jobs, interleaved, arrive in order."""
    streams = {job: lifecycle_events(job, team="support") for job in JOBS}
    outbox = Outbox(tmp_path / "outbox", sink_for(channel.topic))
    for step in range(4):
        outbox.append_all([streams[job][step] for job in JOBS])
    assert outbox.drain(timeout=20)
    outbox.close()
    received = pubsub_emulator.receive(channel.subscription, count=12, timeout=20)
    assert len(received) == 12
    for job in JOBS:
        mine = [r for r in received if r.event.job == job]
        assert [r.event for r in mine] == streams[job]
        for message, sent in zip(mine, streams[job], strict=True):
            assert message.ordering_key == job
            assert message.attributes["ce-specversion"] == "1.0"
            assert message.attributes["ce-type"] == EVENT_TYPE
            assert message.attributes["ce-subject"] == job
            assert message.attributes["ce-id"] == sent.event_id
            assert message.attributes["ce-source"] == "//tuning-operator/test"
            assert message.attributes["content-type"] == "application/json"
            assert message.attributes["ce-time"].endswith("Z")
    succeeded = [r.event for r in received if r.event.phase == "Succeeded"]
    assert all(e.tuned_model and e.endpoint and e.git_author for e in succeeded)


def test_a_missing_topic_pauses_the_job_until_it_exists_then_resumes(
    tmp_path: Path, pubsub_emulator: PubSubEmulator, sink_for: Any
) -> None:
    """NOT_FOUND pauses the ordering key; after backoff the outbox resumes it, order kept."""
    topic = f"projects/{pubsub_emulator.project}/topics/late-topic-{time.monotonic_ns()}"
    sink = sink_for(topic)
    outbox = Outbox(tmp_path / "outbox", sink, backoff=Backoff(initial=0.3, maximum=0.6))
    events = lifecycle_events(JOBS[0])
    outbox.append_all(events[:2])
    deadline = time.monotonic() + 10
    while JOBS[0] not in outbox.status().waiting_jobs and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "NotFound" in outbox.status().waiting_jobs[JOBS[0]]
    outbox.append_all(events[2:])
    created = pubsub_emulator.create_topic(topic.rsplit("/", 1)[1])
    subscription = pubsub_emulator.create_subscription(f"late-{time.monotonic_ns()}", created)
    assert outbox.drain(timeout=20)
    outbox.close()
    received = pubsub_emulator.receive(subscription, count=4, timeout=20)
    assert [r.event for r in received] == events


def test_events_tail_prints_each_event_as_it_arrives(
    pubsub_emulator: PubSubEmulator, channel: Any, sink_for: Any
) -> None:
    """`tuning-operator events tail` prints one line per event, in order, then stops."""
    events = lifecycle_events(JOBS[0], team="support")
    sink = sink_for(channel.topic)
    for event in events:
        sink.publish(event).result(timeout=10)
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(tail(channel.subscription, "--max-messages", "4", "--timeout", "30"))
    assert code == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    assert "support/support-classifier-v3" in lines[0] and "- → Waiting" in lines[0]
    assert "Running → Succeeded" in lines[3] and "SUCCEEDED" in lines[3]
    assert "by Ada Lovelace <ada@example.com>" in lines[3]


def test_events_tail_json_prints_cloudevents(
    pubsub_emulator: PubSubEmulator, channel: Any, sink_for: Any
) -> None:
    """`--format json` prints structured CloudEvents, one per line."""
    event = lifecycle_events(JOBS[1])[0]
    sink_for(channel.topic).publish(event).result(timeout=10)
    out = io.StringIO()
    with redirect_stdout(out):
        main(
            tail(channel.subscription, "--format", "json", "--max-messages", "1", "--timeout", "30")
        )
    assert out.getvalue() == event.to_json_line().decode()


def test_events_tail_refuses_a_topic_path(capsys: pytest.CaptureFixture[str]) -> None:
    """A topic where a subscription belongs is a usage error that says what to write."""
    assert main(tail("projects/my-project/topics/t")) == 2
    assert "projects/PROJECT/subscriptions/NAME" in capsys.readouterr().err


def test_tail_stops_at_its_timeout_without_events(
    pubsub_emulator: PubSubEmulator, channel: Any
) -> None:
    """With nothing to read, `--timeout` ends the tail (scripts can bound it)."""
    started = time.monotonic()
    finished = threading.Event()

    def run() -> None:
        main(tail(channel.subscription, "--timeout", "1"))
        finished.set()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    assert finished.wait(timeout=15)
    assert time.monotonic() - started >= 1.0
