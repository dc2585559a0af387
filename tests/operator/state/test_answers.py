"""The answers journal: durable lines, keyed by digest, a torn last line costs one answer only."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tuning_operator.judging.usage import Answer, Usage, usage_of
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


def test_billed_tokens_survive_the_journal_and_an_unknown_one_makes_the_sum_unknown(
        tmp_path: Path) -> None:
    """An answer's usage is journaled with it, so a resumed evaluation still counts what it
    paid; a line of an older release (no usage) makes the sum unknown, never a partial bill."""
    journal = AnswerJournal.for_job(tmp_path, "job-u")
    journal.append(digest="d", model="m", example="e0", answer=Answer("a", Usage(10, 2)))
    journal.append(digest="d", model="b", example="e0", answer=Answer("b", Usage(10, 5)))
    journal.close()
    loaded = AnswerJournal.for_job(tmp_path, "job-u").load("d")
    assert loaded == {("m", "e0"): "a", ("b", "e0"): "b"}
    assert usage_of(loaded.values()) == Usage(20, 7)
    journal.append(digest="d", model="m", example="e1", answer="an older line")
    journal.close()
    assert usage_of(AnswerJournal.for_job(tmp_path, "job-u").load("d").values()) is None
    assert usage_of([]) is None


@pytest.mark.parametrize("value", [{"input": -1, "output": 2}, {"input": "3", "output": 2},
                                   {"input": 1.5, "output": 2}, {"input": True, "output": 2},
                                   [1, 2], None, {"input": 1}])
def test_a_hostile_usage_is_unknown(value: object) -> None:
    """Negative, quoted, fractional, boolean or missing counts are no bill at all."""
    assert Usage.from_json(value) is None
