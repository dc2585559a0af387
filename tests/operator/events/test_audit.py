"""The audit trail: append-only JSONL, fsync'd, read back per job with provenance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tuning_operator.events.audit import AuditRecord, AuditTrail, read_history, read_trail
from tuning_operator.events.provenance import Provenance

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
COMMIT = Provenance("1f" * 20, "Ada Lovelace <ada@example.com>", T0 - timedelta(hours=1))


def record(job: str, action: str, minute: int, **extra: str) -> AuditRecord:
    return AuditRecord(
        time=T0 + timedelta(minutes=minute),
        operator_instance="op-1",
        job=job,
        team="support",
        action=action,
        reason=f"{action} {job}",
        **extra,  # type: ignore[arg-type]
    )


def test_history_is_one_jobs_records_oldest_first(tmp_path: Path) -> None:
    """`history NAME` reads only that job's lines, in the order they were written."""
    trail = AuditTrail(tmp_path / "audit.jsonl")
    for item in [
        record("a", "create", 0),
        record("b", "create", 1),
        record("a", "phase-changed", 2, phase="Running", previous_phase="Submitted"),
        record("a", "cancel", 3),
    ]:
        trail.record(item)
    trail.close()
    history = read_history(tmp_path / "audit.jsonl", "a")
    assert [r.action for r in history] == ["create", "phase-changed", "cancel"]
    assert history[1].phase == "Running" and history[1].previous_phase == "Submitted"


def test_a_record_round_trips_with_its_provenance(tmp_path: Path) -> None:
    """Commit, author and commit time of the job file survive the file, times as RFC 3339."""
    written = record("a", "create", 0, vertex_job="projects/p/locations/r/tuningJobs/1")
    written = written.with_provenance(COMMIT)
    trail = AuditTrail(tmp_path / "audit.jsonl")
    trail.record(written)
    trail.close()
    assert list(read_trail(tmp_path / "audit.jsonl")) == [written]
    assert (
        b'"gitAuthor":"Ada Lovelace <ada@example.com>"' in (tmp_path / "audit.jsonl").read_bytes()
    )
    assert written.with_provenance(None) == written


def test_reopening_appends(tmp_path: Path) -> None:
    """A restarted operator continues the same trail; nothing is ever truncated."""
    for minute in range(3):
        trail = AuditTrail(tmp_path / "audit.jsonl")
        trail.record(record("a", "resync", minute))
        trail.close()
    assert len(read_history(tmp_path / "audit.jsonl", "a")) == 3


@pytest.mark.parametrize(
    "damage",
    [b'{"time": "2026-05-01T09:09:00Z", "job": "a", "act', b"not json\n", b'["a list"]\n', b"{}\n"],
    ids=["torn-last-line", "garbage", "not-an-object", "missing-fields"],
)
def test_damaged_lines_are_skipped(tmp_path: Path, damage: bytes) -> None:
    """A torn or foreign line never hides the valid records around it."""
    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(path)
    trail.record(record("a", "create", 0))
    trail.close()
    path.write_bytes(path.read_bytes() + damage)
    assert [r.action for r in read_history(path, "a")] == ["create"]


def test_a_missing_trail_is_an_empty_history(tmp_path: Path) -> None:
    """`history` on a fresh state directory prints nothing rather than failing."""
    assert read_history(tmp_path / "absent.jsonl", "a") == []


def test_recording_after_close_is_an_error(tmp_path: Path) -> None:
    """An action must never go unrecorded silently."""
    trail = AuditTrail(tmp_path / "audit.jsonl")
    trail.close()
    with pytest.raises(RuntimeError, match="closed"):
        trail.record(record("a", "create", 0))
