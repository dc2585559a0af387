"""The artifacts bucket (`--artifacts gs://BUCKET/PREFIX`): paid-for answers every replica sees.

Replicas keep their own state directories, so answers journaled on one replica's disk are lost
to the replica that takes over when it dies, and a failover would ask them again. With
`--artifacts`, a job's answers live in Cloud Storage instead: each group commit writes one new
object `PREFIX/evaluations/<job>/answers/<time>-<holder>-<seq>.jsonl` (JSON lines a person can
read), with `if_generation_match=0`, so no object is ever overwritten and two replicas writing
at once never lose each other's lines. An answer counts once the object holding its line is
written; whoever commits takes every line buffered so far (a database's group commit), so a
killed leader loses only the calls it had in flight. `load` reads every object under the job's
prefix and skips what it cannot read (a torn or foreign object costs its answers, never the
run). Objects are immutable, so the state directory keeps a copy of each one read or written
and a restart downloads only what it has not seen. A final verdict is kept beside the answers
as `verdict-<key>.json`, with its per-example answers. This module never asks a model and never
scores; Google Cloud is imported only when a bucket is opened.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from tuning_operator.errors import ArtifactsUnavailable, ConfigError
from tuning_operator.state.alias_objects import AliasObjects
from tuning_operator.state.answers import AnswerKey, answer_line, entry_answer, job_folder
from tuning_operator.state.lease import default_holder
from tuning_operator.state.records import Evaluation, evaluation_to_json

ANSWERS = "answers"
CACHE = "artifacts"  # STATE/evaluations/<job>/artifacts/: a copy of the objects already read
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_USAGE = "use gs://BUCKET/PREFIX (a Cloud Storage bucket and an optional folder in it)"


def parse_artifacts(uri: str) -> tuple[str, str]:
    """`gs://BUCKET/PREFIX` as (bucket, prefix without slashes at its ends); ConfigError with
    the fix otherwise."""
    if not uri.startswith("gs://"):
        raise ConfigError(f"--artifacts {uri}: {_USAGE}")
    bucket, _, prefix = uri.removeprefix("gs://").partition("/")
    prefix = prefix.strip("/")
    parts = prefix.split("/") if prefix else []
    if not _BUCKET.fullmatch(bucket) or any(p in ("", ".", "..") for p in parts):
        raise ConfigError(f"--artifacts {uri}: {_USAGE}")
    return bucket, prefix


class SharedArtifacts:
    """The bucket and prefix of `--artifacts`; hands out each job's shared answers."""

    def __init__(self, *, bucket: Any, prefix: str, state_dir: Path | None,
                 holder: str | None = None, clock: Callable[[], float] = time.time) -> None:
        self.bucket = bucket  # a google.cloud.storage Bucket
        self.prefix = prefix
        self.state_dir = state_dir
        self.holder = _UNSAFE.sub("_", holder or default_holder())
        self.clock = clock
        # One sequence for every store handed out: with the holder (unique per process) it
        # makes every object name unique, which is what lets a 412 mean "already written".
        self._sequence = itertools.count(1)

    def aliases(self) -> AliasObjects:
        """The alias objects (`PREFIX/aliases/<team>/<alias>.json`) applications read."""
        return AliasObjects(bucket=self.bucket, prefix=self.prefix)

    def answers(self, job: str) -> SharedAnswers:
        """The answers store of `job` (the `Aftercare(answers=…)` factory)."""
        folder = job_folder(job)
        remote = f"{self.prefix}/{folder}" if self.prefix else folder
        return SharedAnswers(bucket=self.bucket, prefix=remote, holder=self.holder,
                             clock=self.clock,
                             cache=self.state_dir / folder / CACHE if self.state_dir else None,
                             sequence=self._sequence)


def open_artifacts(uri: str | None, *, state_dir: Path | None, holder: str | None = None,
                   storage_client: Any = None) -> SharedArtifacts | None:
    """The artifacts of `gs://BUCKET/PREFIX`, cached under `state_dir`; None without a URI
    (each replica then keeps its answers in its own journal)."""
    if not uri:
        return None
    bucket, prefix = parse_artifacts(uri)
    if storage_client is None:
        from google.cloud import storage  # type: ignore[attr-defined, unused-ignore]

        storage_client = storage.Client()
    return SharedArtifacts(bucket=storage_client.bucket(bucket), prefix=prefix,
                           state_dir=state_dir, holder=holder)


class SharedAnswers:
    """One job's answers in the artifacts bucket: `state.answers.Answers`, thread-safe, with
    commits grouped into one object per group."""

    def __init__(self, *, bucket: Any, prefix: str, holder: str, clock: Callable[[], float],
                 cache: Path | None = None,
                 sequence: Iterator[int] | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix  # PREFIX/evaluations/<job>
        self.holder = holder
        self.clock = clock
        self.cache = cache
        self._lock = threading.Lock()  # the buffer, the counts, the answers known
        self._commit = threading.Lock()  # one object written at a time; it takes every line
        self._buffer: list[bytes] = []
        self._appended = 0
        self._committed = 0
        self._sequence = sequence or itertools.count(1)
        self._digest: str | None = None
        self._known: dict[AnswerKey, str] = {}  # of `_digest`: loaded, then appended
        self.objects = 0  # objects this store wrote

    def load(self, digest: str) -> dict[AnswerKey, str]:
        """Every answer for `digest` in every object under the job's prefix; unreadable lines
        and objects are skipped (those answers are asked again)."""
        answers: dict[AnswerKey, str] = {}
        for raw in self._objects():
            for entry in _entries(raw):
                if entry["digest"] == digest:
                    answers[(str(entry["model"]), str(entry["example"]))] = entry_answer(entry)
        with self._lock:
            self._digest, self._known = digest, dict(answers)
        return answers

    def append(self, *, digest: str, model: str, example: str, answer: str,
               index: int | None = None) -> None:
        """Buffer one answer; return once an object holding its line is written (group commit:
        the committer writes every line buffered so far). ArtifactsUnavailable if it is not."""
        line = answer_line(digest=digest, model=model, example=example, answer=answer,
                           index=index)
        with self._lock:
            self._buffer.append(line)
            self._appended += 1
            mine = self._appended
            if digest == self._digest:
                self._known[(model, example)] = answer
        with self._commit:
            if self._committed >= mine:
                return  # a commit that began after this line was buffered wrote it
            with self._lock:
                lines, self._buffer = self._buffer, []
                upto = self._appended
            try:
                self._write(b"".join(lines))
            except ArtifactsUnavailable:
                with self._lock:  # the next committer writes them again
                    self._buffer[:0] = lines
                raise
            self._committed = upto

    def keep_verdict(self, *, key: str, evaluation: Evaluation,
                     examples: Mapping[int, str]) -> None:
        """Write `verdict-<key>.json`: the verdict and, per example (index → example digest),
        the answers of each model. Written once: an existing one (a replica told it) is kept."""
        with self._lock:
            known = dict(self._known)
        per_example = [{"index": index, "example": digest,
                        "answers": {m: a for (m, d), a in sorted(known.items()) if d == digest}}
                       for index, digest in sorted(examples.items())]
        document = {**evaluation_to_json(evaluation), "key": key, "examples": per_example}
        self._upload(f"{self.prefix}/verdict-{key}.json",
                     orjson.dumps(document, option=orjson.OPT_INDENT_2), "application/json")

    def close(self) -> None:
        return None  # nothing held open: every counted answer is already an object

    def _write(self, body: bytes) -> None:
        seq, moment = next(self._sequence), self.clock()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(moment))
        name = f"{stamp}.{int(moment * 1000) % 1000:03d}Z-{self.holder}-{seq:06d}.jsonl"
        generation = self._upload(f"{self.prefix}/{ANSWERS}/{name}", body,
                                  "application/x-ndjson")
        self.objects += 1
        self._remember(name, generation, body)

    def _upload(self, name: str, body: bytes, content_type: str) -> int | None:
        """Create `name`; never overwrite it. A retried upload that finds it already there
        finds its own first attempt (the names are this holder's), so that counts as written."""
        from google.api_core import exceptions

        blob = self.bucket.blob(name)
        try:
            blob.upload_from_string(body, content_type=content_type, if_generation_match=0)
        except exceptions.PreconditionFailed:
            return None
        except (exceptions.GoogleAPIError, OSError) as exc:
            raise ArtifactsUnavailable(f"gs://{self.bucket.name}/{name}: {exc}") from exc
        generation: int | None = blob.generation
        return generation

    def _objects(self) -> Iterator[bytes]:
        """The content of every answers object, from the cache when it holds that generation."""
        from google.api_core import exceptions

        try:
            blobs = list(self.bucket.list_blobs(prefix=f"{self.prefix}/{ANSWERS}/"))
        except (exceptions.GoogleAPIError, OSError) as exc:
            raise ArtifactsUnavailable(
                f"gs://{self.bucket.name}/{self.prefix}/{ANSWERS}/: {exc}") from exc
        for blob in blobs:
            name = blob.name.removeprefix(f"{self.prefix}/{ANSWERS}/")
            cached = self._cached(name, blob.generation)
            if cached is not None:
                yield cached
                continue
            try:
                raw: bytes = blob.download_as_bytes()
            except exceptions.NotFound:
                continue  # deleted since it was listed
            except (exceptions.GoogleAPIError, OSError) as exc:
                raise ArtifactsUnavailable(f"gs://{self.bucket.name}/{blob.name}: {exc}") from exc
            self._remember(name, blob.generation, raw)
            yield raw

    def _cache_path(self, name: str, generation: int | None) -> Path | None:
        if self.cache is None or generation is None or _UNSAFE.search(name) or name[:1] == ".":
            return None  # not one of ours (a folder, an odd name): read, never cached
        return self.cache / f"{generation}-{name}"

    def _cached(self, name: str, generation: int | None) -> bytes | None:
        path = self._cache_path(name, generation)
        try:
            return path.read_bytes() if path is not None else None
        except OSError:
            return None

    def _remember(self, name: str, generation: int | None, body: bytes) -> None:
        """Copy an object into the cache; the cache is a saving, so a failure is ignored."""
        path = self._cache_path(name, generation)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.partial")
            partial.write_bytes(body)
            partial.replace(path)
        except OSError:
            return


def _entries(raw: bytes) -> Iterator[dict[str, Any]]:
    """The well-formed answer lines of one object; anything else is skipped."""
    for line in raw.splitlines():
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(entry, dict) and all(
                isinstance(entry.get(k), str) for k in ("digest", "model", "example", "answer")):
            yield entry
