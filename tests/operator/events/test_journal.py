"""The outbox journal: durable appends, acknowledgements, replay after a crash, compaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuning_operator.errors import ConfigError
from tuning_operator.events.journal import ACK_LOG, SEGMENT_SUFFIX, Journal


def bodies(journal: Journal) -> list[int]:
    return [record.body["n"] for record in journal.unacknowledged()]


def segments(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob(f"*{SEGMENT_SUFFIX}"))


def test_unacknowledged_records_come_back_in_order(tmp_path: Path) -> None:
    """A reopened journal holds exactly what was appended and never acknowledged, in order."""
    journal = Journal(tmp_path)
    records = journal.append([("a", {"n": n}) for n in range(6)])
    for record in records[::2]:
        journal.acknowledge(record.seq)
    journal.close()
    assert bodies(Journal(tmp_path)) == [1, 3, 5]


def test_sequence_numbers_keep_growing_across_opens(tmp_path: Path) -> None:
    """A new record never reuses a number an old acknowledgement could match."""
    journal = Journal(tmp_path)
    first = journal.append([("a", {"n": 0})])[0]
    journal.acknowledge(first.seq)
    journal.close()
    journal = Journal(tmp_path)
    second = journal.append([("a", {"n": 1})])[0]
    journal.close()
    assert second.seq > first.seq
    assert bodies(Journal(tmp_path)) == [1]


def test_a_torn_last_line_is_skipped_and_never_appended_to(tmp_path: Path) -> None:
    """A kill -9 mid-write leaves half a line: replay skips it and later appends stay whole."""
    journal = Journal(tmp_path)
    journal.append([("a", {"n": 0}), ("a", {"n": 1})])
    journal.close()
    segment = tmp_path / segments(tmp_path)[0]
    segment.write_bytes(segment.read_bytes() + b'{"seq": 2, "key": "a", "bo')
    journal = Journal(tmp_path)
    assert bodies(journal) == [0, 1]
    journal.append([("a", {"n": 2})])
    journal.close()
    assert bodies(Journal(tmp_path)) == [0, 1, 2]


def test_a_torn_acknowledgement_does_not_acknowledge_another_record(tmp_path: Path) -> None:
    """Half an ack line ("1" of "12") must not be read as, or merged into, another number."""
    journal = Journal(tmp_path)
    journal.append([("a", {"n": n}) for n in range(3)])
    journal.close()
    (tmp_path / ACK_LOG).write_bytes(b"0\n1")
    journal = Journal(tmp_path)
    assert bodies(journal) == [1, 2]
    journal.acknowledge(2)
    journal.close()
    assert bodies(Journal(tmp_path)) == [1]


def test_fully_acknowledged_segments_are_deleted(tmp_path: Path) -> None:
    """Disk use stays bounded: a rolled segment goes once all its records are delivered."""
    journal = Journal(tmp_path, segment_records=4)
    records = [journal.append([("a", {"n": n})])[0] for n in range(10)]
    assert len(segments(tmp_path)) == 3  # rolled after the 4th and the 8th record
    for record in records[:8]:
        journal.acknowledge(record.seq)
    assert len(segments(tmp_path)) == 1
    journal.close()
    assert bodies(Journal(tmp_path)) == [8, 9]


def test_the_ack_log_is_compacted_when_a_segment_rolls(tmp_path: Path) -> None:
    """Acknowledgements of deleted segments are dropped, so the ack log does not grow forever."""
    journal = Journal(tmp_path, segment_records=4)
    for n in range(40):
        journal.acknowledge(journal.append([("a", {"n": n})])[0].seq)
    journal.close()
    assert len((tmp_path / ACK_LOG).read_bytes().splitlines()) < 8
    assert bodies(Journal(tmp_path)) == []


def test_one_process_per_directory(tmp_path: Path) -> None:
    """Two live outboxes on one directory would publish twice: the second open is refused."""
    journal = Journal(tmp_path)
    with pytest.raises(ConfigError, match="another process"):
        Journal(tmp_path)
    journal.close()
    Journal(tmp_path).close()


def test_appending_after_close_is_an_error(tmp_path: Path) -> None:
    """A closed journal never silently drops an event."""
    journal = Journal(tmp_path)
    journal.close()
    with pytest.raises(RuntimeError, match="closed"):
        journal.append([("a", {"n": 0})])
