"""In a shallow clone, `history` and the events name no author they cannot know, and say why."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.git_repo import shallow_jobs_checkout
from tuning_operator.cli import main
from tuning_operator.events import AuditTrail, Outbox, open_sink
from tuning_operator.reconciling.recording import EventRecorder
from tuning_operator.state.store import JobRecord

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def test_a_shallow_checkout_reports_the_author_as_unknown(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ada wrote the job, Grace made the last commit: a depth-1 clone names neither."""
    jobs, state = shallow_jobs_checkout(tmp_path), tmp_path / "state"
    events = tmp_path / "events.jsonl"
    outbox = Outbox(state / "outbox", open_sink(f"file:{events}"))
    audit = AuditTrail(state / "audit.jsonl")
    recorder = EventRecorder(outbox=outbox, audit=audit, jobs_dir=jobs,
                             instance="pod-a")
    record = JobRecord(name="a", first_seen=0.0, team="t", path="t/a.yaml", phase="Submitted",
                       transitions=1)
    recorder.transition(record, previous=None, reason="created on Vertex")
    recorder.flush()
    outbox.close()
    audit.close()
    [event] = [json.loads(line) for line in events.read_text().splitlines()]
    assert (event["data"]["gitCommit"], event["data"]["gitAuthor"]) == (None, None)
    assert "shallow" in event["data"]["provenanceUnknown"]
    assert main(["history", "a", "--state-dir", str(state)]) == 0
    out = capsys.readouterr().out
    assert "author unknown: the checkout is shallow" in out and "Grace" not in out
