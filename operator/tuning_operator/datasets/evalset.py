"""An evaluation set as the evaluation asks it: per example, the turns to send and the reference.

The set uses the training format: the last `model` turn of an example is its reference and the
turns before it are what the model is asked (with the `systemInstruction`, if any); the Gemini
API format (`text_input` / `output`) is read too. The first `limit` examples are taken, in file
order, so a run and its resumption ask the same examples under the same indexes. Lines that are
not examples are skipped and counted (the pre-flight names them). Local paths and gs:// URIs,
through `DatasetObjects`; the version read (object generation, or mtime and size) is returned so
that answers to another version are never reused.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from tuning_operator.datasets.objects import DatasetObjects

Turn = Mapping[str, Any]


@dataclass(frozen=True)
class EvaluationExample:
    """One question: `contents` end with a user turn; `reference` is the expected answer."""

    index: int  # 0-based among the examples of the set
    line: int  # 1-based line in the file
    contents: tuple[Turn, ...]
    system_instruction: Turn | None
    reference: str

    @functools.cached_property
    def digest(self) -> str:
        """The turns asked and the system instruction, hashed: an answer to them is an answer
        to this example wherever it stands in the set and whatever its reference."""
        document = {"contents": self.contents, "system": self.system_instruction}
        return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]

    @property
    def prompt(self) -> str:
        """The text of the last user turn (what the emulator's scripts key on)."""
        return _text(self.contents[-1])


@dataclass(frozen=True)
class EvaluationSet:
    uri: str
    version: str
    examples: tuple[EvaluationExample, ...]
    skipped: int = 0  # lines read that were not examples


def _text(turn: Turn) -> str:
    parts = turn.get("parts")
    if not isinstance(parts, list):
        return ""
    return "".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"),
                                                                                  str))


def example_from(obj: Any) -> tuple[tuple[Turn, ...], Turn | None, str] | None:
    """(contents to send, system instruction, reference), or None when `obj` is no example."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("text_input"), str) and isinstance(obj.get("output"), str):
        turn = {"role": "user", "parts": [{"text": obj["text_input"]}]}
        return (turn,), None, obj["output"]
    contents = obj.get("contents")
    if not isinstance(contents, list) or len(contents) < 2:
        return None
    if not all(isinstance(t, dict) for t in contents):
        return None
    last, asked = contents[-1], contents[:-1]
    if last.get("role") != "model" or asked[-1].get("role") != "user":
        return None
    system = obj.get("systemInstruction")
    return tuple(asked), system if isinstance(system, dict) else None, _text(last)


def read_evaluation_set(
    uri: str, *, limit: int, objects: DatasetObjects | None = None
) -> EvaluationSet:
    """The first `limit` examples of `uri`; DatasetNotFound when it cannot be read."""
    objects = objects or DatasetObjects()
    obj = objects.stat(uri)
    examples: list[EvaluationExample] = []
    skipped = 0
    with objects.open_lines(obj) as lines:
        for number, raw in enumerate(lines, 1):
            if len(examples) >= limit:
                break
            if not raw.strip():
                continue
            try:
                parsed = example_from(orjson.loads(raw))
            except orjson.JSONDecodeError:
                parsed = None
            if parsed is None:
                skipped += 1
                continue
            contents, system, reference = parsed
            examples.append(EvaluationExample(len(examples), number, contents, system, reference))
    return EvaluationSet(uri=uri, version=obj.generation, examples=tuple(examples),
                         skipped=skipped)


class EvaluationSetCache:
    """The sets last read, by URI and limit: an evaluation resumed after an outage (or a smoke
    test) does not parse 10,000 examples again, which would take the pass's interpreter for a
    tenth of a second; a new version (mtime and size, or generation) is read anew."""

    def __init__(self, objects: DatasetObjects | None = None, *, size: int = 8) -> None:
        self.objects = objects or DatasetObjects()
        self.size = size
        self._lock = threading.Lock()
        self._sets: dict[tuple[str, int], EvaluationSet] = {}

    def read(self, uri: str, *, limit: int) -> EvaluationSet:
        version = self.objects.stat(uri).generation
        with self._lock:
            hit = self._sets.get((uri, limit))
        if hit is not None and hit.version == version:
            return hit
        fresh = read_evaluation_set(uri, limit=limit, objects=self.objects)
        with self._lock:
            self._sets.pop((uri, limit), None)
            self._sets[(uri, limit)] = fresh
            while len(self._sets) > self.size:
                del self._sets[next(iter(self._sets))]  # the oldest
        return fresh
