"""The answers journal of one job's evaluation: every paid-for answer, so none is paid twice.

An evaluation asks thousands of questions; a crash half-way must not ask them again. Each answer
is one line appended (one `write` on an O_APPEND descriptor) to
`STATE/evaluations/<job>/answers.jsonl` as soon as it is received, keyed by (model, example
digest) under a digest of the generation config: an example whose turns did not change keeps
its answer when the rest of the set is rewritten, and a changed config asks everything again.
A written line survives the process (kill -9, OOM): the kernel holds it. Against a machine
crash, fsyncs are grouped: one per `SYNC_EVERY_LINES` lines or `SYNC_EVERY_SECONDS`, and at
close, so a power loss can cost at most that many answers, asked again; an asker never waits
for a disk flush. A crash can only tear the last line, which is then ignored. `purge` forgets
the job once its verdict is published. This module never asks a model and never scores.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import orjson

from tuning_operator.judging.usage import Answer, Usage
from tuning_operator.state.records import Evaluation

DIRECTORY = "evaluations"
FILE = "answers.jsonl"

AnswerKey = tuple[str, str]  # (model resource name, example digest)
SYNC_EVERY_LINES = 256
SYNC_EVERY_SECONDS = 0.5


class Answers(Protocol):
    """Where an evaluation's paid-for answers are kept: this journal, or a shared artifacts
    store that every replica reads (`--artifacts`)."""

    def load(self, digest: str) -> dict[AnswerKey, str]: ...

    def append(self, *, digest: str, model: str, example: str, answer: str,
               index: int | None = None) -> None: ...

    def keep_verdict(self, *, key: str, evaluation: Evaluation,
                     examples: Mapping[int, str]) -> None:
        """Keep a final verdict with its per-example answers (`examples`: index → example
        digest) where people and the other replicas can read them."""

    def close(self) -> None: ...


def answer_line(*, digest: str, model: str, example: str, answer: str,
                index: int | None) -> bytes:
    """One journal line; an `Answer` with billed tokens keeps them (`usage`) for the ledger."""
    entry: dict[str, object] = {"digest": digest, "model": model, "example": example,
                                "index": index, "answer": answer}
    usage = answer.usage if isinstance(answer, Answer) else None
    if usage is not None:
        entry["usage"] = usage.to_json()
    return orjson.dumps(entry) + b"\n"


def entry_answer(entry: dict[str, object]) -> str:
    """The answer of a journal line: an `Answer` with its billed tokens when the line has
    them, else the plain text (a judgement's JSON, an answer of an older release)."""
    usage = Usage.from_json(entry.get("usage"))
    text = str(entry["answer"])
    return text if usage is None else Answer(text, usage)


def job_folder(job: str) -> str:
    """`evaluations/<job>`, where a job's answers are kept (on disk, in the artifacts bucket);
    a name that would leave that folder is refused."""
    if not job or "/" in job or job.startswith("."):
        raise ValueError(f"not a job name: {job!r}")
    return f"{DIRECTORY}/{job}"


class AnswerJournal:
    """Append-only answers of one job, fsync'd in groups; thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # the descriptor and the lines not yet synced
        self._fd: int | None = None
        self._unsynced = 0
        self._synced_at = time.monotonic()
        self.fsyncs = 0

    @classmethod
    def for_job(cls, state_dir: str | os.PathLike[str], job: str) -> AnswerJournal:
        """The journal of `job` under the operator's state directory."""
        return cls(Path(state_dir) / job_folder(job) / FILE)

    def load(self, digest: str) -> dict[AnswerKey, str]:
        """The answers recorded for `digest`; a torn or foreign line is skipped."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        answers: dict[AnswerKey, str] = {}
        for line in raw.splitlines():
            try:
                entry = orjson.loads(line)
                if entry["digest"] != digest:
                    continue
                answers[(str(entry["model"]), str(entry["example"]))] = entry_answer(entry)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue  # the last line torn by a crash: that answer is asked again
        return answers

    def append(self, *, digest: str, model: str, example: str, answer: str,
               index: int | None = None) -> None:
        """Record one answer: written at once (it survives the process), synced with its group
        (`index` is the example's place in the set, for people reading the file)."""
        line = answer_line(digest=digest, model=model, example=example, answer=answer,
                           index=index)
        with self._lock:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                if not _ends_a_line(self.path):  # a torn line must not swallow the next one
                    line = b"\n" + line
            os.write(self._fd, line)
            self._unsynced += 1
            now = time.monotonic()
            if (self._unsynced < SYNC_EVERY_LINES
                    and now - self._synced_at < SYNC_EVERY_SECONDS):
                return
            self._unsynced, self._synced_at, fd = 0, now, self._fd
        os.fsync(fd)  # outside the lock: the other askers keep writing meanwhile
        self.fsyncs += 1

    def keep_verdict(self, *, key: str, evaluation: Evaluation,
                     examples: Mapping[int, str]) -> None:
        """Nothing to add locally: the record holds the verdict, this journal its answers."""

    def close(self) -> None:
        """Sync what is not yet synced and close (after the askers are done)."""
        with self._lock:
            if self._fd is not None:
                if self._unsynced:
                    os.fsync(self._fd)
                    self.fsyncs += 1
                os.close(self._fd)
                self._fd = None
                self._unsynced = 0

    def purge(self) -> None:
        """Forget the job's answers (its verdict is told and published)."""
        self.close()
        shutil.rmtree(self.path.parent, ignore_errors=True)

    def __enter__(self) -> AnswerJournal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _ends_a_line(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return True
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"
