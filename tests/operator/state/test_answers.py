"""The answers journal: durable lines, keyed by digest, a torn last line costs one answer only."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tuning_operator.state.answers import AnswerJournal


def test_answers_round_trip_by_digest(tmp_path: Path) -> None:
    """Answers come back for their digest only, keyed by (model, example)."""
    journal = AnswerJournal.for_job(tmp_path, "job-a")
    journal.append(digest="d1", model="m", example="e0", answer="zero")
    journal.append(digest="d1", model="b", example="e0", answer="ZERO")
    journal.append(digest="d2", model="m", example="e1", answer="other set")
    journal.close()
    assert journal.path == tmp_path / "evaluations" / "job-a" / "answers.jsonl"
    assert AnswerJournal.for_job(tmp_path, "job-a").load("d1") == {("m", "e0"): "zero",
                                                                    ("b", "e0"): "ZERO"}
    assert AnswerJournal.for_job(tmp_path, "job-a").load("d3") == {}


def test_torn_last_line_is_skipped_and_does_not_swallow_the_next(tmp_path: Path) -> None:
    """A line torn by a crash is ignored, and the next append starts on a line of its own."""
    journal = AnswerJournal.for_job(tmp_path, "job-b")
    journal.append(digest="d", model="m", example="e0", answer="kept")
    journal.close()
    with journal.path.open("ab") as handle:
        handle.write(b'{"digest": "d", "model": "m", "exa')
    resumed = AnswerJournal.for_job(tmp_path, "job-b")
    assert resumed.load("d") == {("m", "e0"): "kept"}
    resumed.append(digest="d", model="m", example="e1", answer="after the tear")
    resumed.close()
    assert resumed.load("d") == {("m", "e0"): "kept", ("m", "e1"): "after the tear"}


def test_purge_forgets_the_job(tmp_path: Path) -> None:
    """purge removes the job's journal directory."""
    journal = AnswerJournal.for_job(tmp_path, "job-c")
    journal.append(digest="d", model="m", example="e0", answer="x")
    journal.purge()
    assert not journal.path.parent.exists()
    assert journal.load("d") == {}


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden"])
def test_job_names_that_would_leave_the_directory_are_refused(tmp_path: Path, name: str) -> None:
    """A journal path is always one directory per job under evaluations/."""
    with pytest.raises(ValueError):
        AnswerJournal.for_job(tmp_path, name)


def test_concurrent_answers_share_their_fsyncs(tmp_path: Path) -> None:
    """Group commit: 8 askers appending 400 answers need a handful of fsyncs (one per 256 lines
    or half-second, and the close), and every answer is in the file."""
    journal = AnswerJournal.for_job(tmp_path, "job-g")
    start = threading.Barrier(8)

    def ask(worker: int) -> None:
        start.wait()
        for n in range(50):
            journal.append(digest="d", model=f"m{worker}", example=f"e{n}", answer=str(n))

    threads = [threading.Thread(target=ask, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    journal.close()
    assert len(AnswerJournal.for_job(tmp_path, "job-g").load("d")) == 400
    assert 1 <= journal.fsyncs <= 4
