"""A broken status store is moved aside by the operator, reported by readers, never fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuning_operator.state.store import FileStatusStore, JobRecord

BROKEN = {
    "truncated": '{"version": 1, "jobs": {"a": {"name": "a", "first_',
    "not-utf8": b"\xff\xfe\x00garbage".decode("latin-1"),
    "wrong-shape": '["a", "b"]',
    "bad-record": '{"version": 1, "jobs": {"a": {"name": "a"}}}',
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_the_operator_moves_a_broken_store_aside(tmp_path: Path, kind: str) -> None:
    """recover=True: the file is kept beside, `recovered` says why, the records start empty."""
    (tmp_path / "status.json").write_text(BROKEN[kind], encoding="latin-1")
    store = FileStatusStore(tmp_path, recover=True)
    assert store.fetch() == {}
    assert store.recovered and "unreadable" in store.recovered
    if kind != "bad-record":
        assert list(tmp_path.glob("status.json.broken-*"))
        assert not (tmp_path / "status.json").exists()


def test_a_reader_reports_and_moves_nothing(tmp_path: Path) -> None:
    """`status` and `report` read only: the broken file stays where the operator will find it."""
    (tmp_path / "status.json").write_text(BROKEN["truncated"])
    store = FileStatusStore(tmp_path)
    assert store.fetch() == {}
    assert store.recovered
    assert (tmp_path / "status.json").exists()


def test_damaged_intent_lines_fence_and_keep_the_readable_ones(tmp_path: Path) -> None:
    """A garbled intent log is moved aside; readable intents survive; a torn tail is no damage."""
    store = FileStatusStore(tmp_path, recover=True)
    store.note_intents(["a"], 5.0)
    with (tmp_path / "intents.jsonl").open("ab") as log:
        log.write(b"\x00\x01 not json\n{\"job\": \"b\", \"at\": 6")
    records = store.fetch()
    assert records["a"].create_intent_at == 5.0 and "b" not in records
    assert store.recovered and list(tmp_path.glob("intents.jsonl.broken-*"))


def test_a_torn_tail_alone_is_not_damage(tmp_path: Path) -> None:
    """A kill -9 mid-append leaves a torn last intent: it was never sent, nothing to recover."""
    store = FileStatusStore(tmp_path, recover=True)
    store.note_intents(["a"], 5.0)
    with (tmp_path / "intents.jsonl").open("ab") as log:
        log.write(b'{"job": "b", "at"')
    assert set(store.fetch()) == {"a"}
    assert store.recovered is None


def test_stored_records_round_trip_and_clear_the_recovery_note(tmp_path: Path) -> None:
    """After a recovery, the first store writes a clean file and removes the note."""
    store = FileStatusStore(tmp_path, recover=True)
    store.note_lost("the state directory was removed")
    fresh = FileStatusStore(tmp_path, recover=True)
    fresh.fetch()
    assert fresh.recovered == "the state directory was removed"
    fresh.store({"a": JobRecord(name="a", first_seen=1.0)})
    again = FileStatusStore(tmp_path)
    assert set(again.fetch()) == {"a"} and again.recovered is None
