"""Sinks: the `--events` forms, the file and stdout sinks, and no Google import without need."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.support.status_events import lifecycle_events
from tuning_operator.errors import ConfigError
from tuning_operator.events.model import StatusEvent
from tuning_operator.events.sinks import FileSink, StdoutSink, open_sink

EVENTS = lifecycle_events("support-classifier-v3", team="support")


def test_file_sink_writes_one_cloudevent_per_line(tmp_path: Path) -> None:
    """The embedded default: each event is one structured CloudEvent line, in order."""
    sink = FileSink(tmp_path / "deep" / "events.jsonl")
    ids = [sink.publish(event).result(timeout=1) for event in EVENTS]
    sink.close()
    lines = (tmp_path / "deep" / "events.jsonl").read_bytes().splitlines()
    assert [StatusEvent.from_structured(orjson.loads(line)) for line in lines] == EVENTS
    assert ids == [event.event_id for event in EVENTS]


def test_file_sink_appends_across_opens(tmp_path: Path) -> None:
    """A restarted operator adds to the event file, never truncates it."""
    for event in EVENTS[:2]:
        sink = FileSink(tmp_path / "events.jsonl")
        sink.publish(event)
        sink.close()
    assert len((tmp_path / "events.jsonl").read_bytes().splitlines()) == 2


def test_a_closed_file_sink_fails_the_delivery(tmp_path: Path) -> None:
    """After close, publish reports failure, so the outbox keeps the event."""
    sink = FileSink(tmp_path / "events.jsonl")
    sink.close()
    assert isinstance(sink.publish(EVENTS[0]).exception(timeout=1), RuntimeError)


def test_stdout_sink_prints_json_lines() -> None:
    """`--events stdout` prints the same structured lines as the file sink."""
    stream = io.StringIO()
    StdoutSink(stream).publish(EVENTS[0]).result(timeout=1)
    assert StatusEvent.from_structured(orjson.loads(stream.getvalue())) == EVENTS[0]


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("file:events.jsonl", "FileSink"),
        ("stdout", "StdoutSink"),
        ("pubsub:projects/my-project/topics/tuning-status", "PubSubSink"),
    ],
)
def test_open_sink_picks_the_sink_named(
    spec: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each `--events` form opens its sink (Pub/Sub connects lazily, so no server is needed)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:9")
    sink = open_sink(spec)
    assert type(sink).__name__ == kind
    sink.close()


@pytest.mark.parametrize(
    "spec",
    ["kafka:topic", "file:", "pubsub:my-topic", "pubsub:projects/p/subscriptions/s", ""],
)
def test_open_sink_refuses_other_forms_and_says_which_exist(spec: str) -> None:
    """A wrong `--events` is a ConfigError naming the accepted forms."""
    with pytest.raises(ConfigError, match=r"file:|topics/TOPIC"):
        open_sink(spec)


def test_file_and_stdout_sinks_import_no_google_code() -> None:
    """The embedded default starts fast: no Google or gRPC module is loaded."""
    probe = (
        "import sys; before = set(sys.modules);"  # namespace .pth files preload `google`
        "import tuning_operator.events as e; e.open_sink('stdout');"
        "print(sorted(m for m in set(sys.modules) - before"
        " if m.split('.')[0] in ('google', 'grpc')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
