"""The training file of an emulated job, counted, when a local Cloud Storage server has it.

Vertex reads the dataset and reports `tuning_data_stats`; the emulator does the same when
`STORAGE_EMULATOR_HOST` names a Cloud Storage emulator (fake-gcs-server in the demo and the
tests) that serves the job's `training_dataset_uri`. It never reaches real Cloud Storage: with
no such variable nothing is read and the scripted defaults of `datastats` apply.

The token figure is the dataset pre-flight's estimate (`specs.tokens.estimate_tokens`, which
both use). A `text` anywhere in an example counts (contents, systemInstruction), as does any
`fileData`/`file_data` part.

Reading is bounded and never fails a create: the object's size is asked first and a file over
`max_bytes` is not read; the body is read with a timeout and a cap; an absent, unreadable or
oversized file, or a server that does not answer, gives None (the defaults). Counted files are
cached by URI and generation. This module never stores jobs.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

from tuning_operator.specs.tokens import estimate_tokens

STORAGE_EMULATOR_HOST = "STORAGE_EMULATOR_HOST"
MAX_BYTES = 64 * 1024 * 1024  # Vertex takes up to 1 GB; an emulator reads a sample's worth
TIMEOUT_SECONDS = 5.0
_CACHE_ENTRIES = 32


@dataclass(frozen=True)
class TrainingFile:
    """What was counted in one training file: each example's estimated tokens, in file order,
    and the characters of its text."""

    example_tokens: tuple[int, ...]
    characters: int

    @property
    def examples(self) -> int:
        return len(self.example_tokens)

    @property
    def tokens(self) -> int:
        return sum(self.example_tokens)

    def trained(self, limit: int | None) -> int:
        """Tokens trained on (and billed): each example's up to `limit`, the rest truncated."""
        return self.tokens if limit is None else sum(min(t, limit) for t in self.example_tokens)

    def over(self, limit: int | None) -> int:
        """Examples whose estimate is over `limit` tokens (Vertex truncates them)."""
        return 0 if limit is None else sum(1 for t in self.example_tokens if t > limit)


def count_examples(data: bytes) -> TrainingFile:
    """Each non-blank JSONL line that is a JSON object is one example; other lines are skipped
    (Vertex would reject the file; the pre-flight says why)."""
    tokens: list[int] = []
    characters = 0
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            example = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(example, dict):
            continue
        text_bytes, text_chars, file_parts = _walk(example)
        tokens.append(estimate_tokens(text_bytes, file_parts))
        characters += text_chars
    return TrainingFile(example_tokens=tuple(tokens), characters=characters)


def _walk(node: Any) -> tuple[int, int, int]:
    """(UTF-8 bytes of text, characters of text, fileData parts) anywhere under `node`."""
    text_bytes = text_chars = files = 0
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "text" and isinstance(value, str):
                    text_bytes += len(value.encode())
                    text_chars += len(value)
                elif key in ("fileData", "file_data") and isinstance(value, dict):
                    files += 1
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, dict | list))
    return text_bytes, text_chars, files


Fetch = Callable[[str, int, float], bytes]  # (url, most bytes, timeout) → body


def _http_get(url: str, most: int, timeout: float) -> bytes:
    """The body of a GET, at most `most` + 1 bytes (so a caller sees when there were more)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        data: bytes = response.read(most + 1)
        return data


class TrainingDataReader:
    """Counts training files on the Cloud Storage emulator named by STORAGE_EMULATOR_HOST."""

    def __init__(self, *, host: str | None = None, max_bytes: int = MAX_BYTES,
                 timeout: float = TIMEOUT_SECONDS, fetch: Fetch = _http_get) -> None:
        self._host = host  # None: STORAGE_EMULATOR_HOST at the time of each read
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._fetch = fetch
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str], TrainingFile] = OrderedDict()

    def read(self, uri: str) -> TrainingFile | None:
        """The counted file at gs://BUCKET/OBJECT, or None (no storage emulator, no such object,
        too large, unreadable). Never raises."""
        host = self._host if self._host is not None else os.environ.get(STORAGE_EMULATOR_HOST)
        if not host or not uri.startswith("gs://"):
            return None
        bucket, _, name = uri.removeprefix("gs://").partition("/")
        if not bucket or not name:
            return None
        base = host.rstrip("/") if "://" in host else f"http://{host.rstrip('/')}"
        url = f"{base}/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}"
        try:
            return self._read(url, uri)
        except Exception:
            return None

    def _read(self, url: str, uri: str) -> TrainingFile | None:
        metadata = orjson.loads(self._fetch(url, 64 * 1024, self._timeout))
        size, generation = int(metadata["size"]), str(metadata.get("generation", ""))
        if size > self._max_bytes:
            return None
        key = (uri, generation)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        pinned = f"&generation={generation}" if generation else ""
        data = self._fetch(f"{url}?alt=media{pinned}", self._max_bytes, self._timeout)
        if len(data) > self._max_bytes:
            return None
        counted = count_examples(data)
        with self._lock:
            self._cache[key] = counted
            while len(self._cache) > _CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return counted
