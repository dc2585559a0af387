"""Status files written by earlier releases load as they were, and what is stored reads back.

The files under `golden/` were written by the operator of the 0.1 release (on-disk version 1):
the demo's (curves, smoke test, evaluation, Vertex's data statistics) and a lifecycle of
removals, a conflict, a cancel and an invalid file. An upgrade must never make a running
operator see a broken store: that would fence every create and lose the audit's memory.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tuning_operator.state.store import FileStatusStore, OperatorMemory

GOLDEN = Path(__file__).parent / "golden"
FILES = sorted(p.name for p in GOLDEN.glob("status-*.json"))


def stored(path: Path) -> dict[str, dict[str, object]]:
    jobs: dict[str, dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))["jobs"]
    return jobs


@pytest.mark.parametrize("name", FILES)
def test_a_status_file_of_an_earlier_release_loads_whole(tmp_path: Path, name: str) -> None:
    """Every record loads, nothing is reported broken, and each stored field keeps its value."""
    shutil.copy(GOLDEN / name, tmp_path / FileStatusStore.FILE)
    store = FileStatusStore(tmp_path, recover=True)
    records = store.fetch()
    assert store.recovered is None
    golden = stored(GOLDEN / name)
    assert set(records) == set(golden)
    for job, fields in golden.items():
        assert records[job].phase == fields["phase"]
        assert records[job].history == fields["history"]
        assert records[job].spec_hash == fields["spec_hash"]


@pytest.mark.parametrize("name", FILES)
def test_what_is_stored_reads_back_the_same(tmp_path: Path, name: str) -> None:
    """An earlier release's records, stored by this one and fetched again, are equal."""
    shutil.copy(GOLDEN / name, tmp_path / FileStatusStore.FILE)
    first = FileStatusStore(tmp_path).fetch()
    for record in first.values():
        record.updated += 1  # something changed: the store rewrites the file
    FileStatusStore(tmp_path).store(first)
    again = FileStatusStore(tmp_path).fetch()
    assert again == first
    assert len(list(tmp_path.glob("status.json.broken-*"))) == 0


def test_the_golden_files_hold_what_they_are_kept_for() -> None:
    """The demo's file has every post-success record; the lifecycle one every removal phase."""
    demo = stored(GOLDEN / "status-v1-demo.json")["ticket-classifier-v3"]
    assert demo["evaluation"] and demo["diagnosis"] and demo["data_stats"] and demo["smoke_test"]
    phases = {job["phase"] for job in stored(GOLDEN / "status-v1-lifecycle.json").values()}
    assert {"Orphaned", "Cancelled", "Conflict", "Invalid"} <= phases


def test_the_backoff_and_fence_round_trip_and_a_version_1_file_has_none(tmp_path: Path) -> None:
    """Version 2 keeps the operator's memory beside the records; version 1 reads as empty."""
    shutil.copy(GOLDEN / FILES[0], tmp_path / FileStatusStore.FILE)
    store = FileStatusStore(tmp_path)
    records = store.fetch()
    assert store.memory == OperatorMemory()
    memory = OperatorMemory(attempts={"a": 2, "smoke:b": 1},
                            not_before={"a": 1_800_000_000.5, "smoke:b": 1_800_000_001.0},
                            fence_all_from=1_799_999_999.0)
    store.store(records, memory)
    assert json.loads((tmp_path / FileStatusStore.FILE).read_text())["version"] == 2
    again = FileStatusStore(tmp_path)
    assert again.fetch() == records
    assert (again.memory, again.recovered) == (memory, None)


def test_an_unreadable_backoff_is_reported_and_the_records_still_load(tmp_path: Path) -> None:
    """A damaged memory section fences creates (recovered) but loses no record."""
    shutil.copy(GOLDEN / FILES[0], tmp_path / FileStatusStore.FILE)
    document = json.loads((tmp_path / FileStatusStore.FILE).read_text())
    document["backoff"] = {"a": "soon"}
    (tmp_path / FileStatusStore.FILE).write_text(json.dumps(document))
    store = FileStatusStore(tmp_path)
    assert set(store.fetch()) == set(document["jobs"])
    assert store.recovered and "backoff" in store.recovered
    assert store.memory == OperatorMemory()
