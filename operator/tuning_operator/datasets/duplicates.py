"""Exact and near duplicates, inside a dataset and between training and validation (leakage).

Seed 004: duplicates teach memorisation and waste epochs; overlap or near-overlap between
training and validation inflates the validation scores. What we keep in memory, and why:

- Exact duplicates: every example's 64-bit key (a hash of its normalised content: roles and
  texts with surrounding whitespace trimmed, the system instruction; JSON key order and spacing
  do not matter) and line number go into two flat arrays, 12 bytes per example (≈ 140 MB for
  the worst legal case, a 1 GB file of minimal 90-byte lines). One sort at the end finds every
  group. The key uses Python's per-process string hash: comparisons never cross processes.
- Near duplicates: MinHash (64 permutations) over word 3-grams of the lower-cased text, indexed
  in a MinHash LSH (10 bands of 6 rows) and confirmed on the signatures at Jaccard ≥ 0.8. Both
  are datasketch's (its affine32 scheme, its LSH's candidates, as tests pin), written here on
  numpy: datasketch imports scipy, which would be a third of the container image. A MinHash
  costs ~100 times a JSON parse, so it is computed on a bounded sample of the training set:
  every example of a file up to the sample budget, every k-th example beyond it (k grows with
  the file size), and at most MAX_SHINGLE_WORDS words per example. Validation examples are
  all indexed (the catalog caps them at 5,000).
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterator
from itertools import islice
from typing import Any

from tuning_operator.datasets.findings import FindingKind, FindingLog

NEAR_DUPLICATE_THRESHOLD = 0.8
NUM_PERMUTATIONS = 64
MAX_SHINGLE_WORDS = 512
SHINGLE_WORDS = 3
# LSH bands x rows: recall ≈ 0.95 at Jaccard 0.8, ≈ 0.15 at 0.5 (candidates are confirmed on
# the signatures, and at most MAX_CANDIDATES per query, which bounds templated datasets).
LSH_BANDS_ROWS = (10, 6)
MAX_CANDIDATES = 32
_PUNCTUATION = bytes(c for c in range(33, 127) if not chr(c).isalnum())
_K1 = 0x9E3779B1
_K2 = 0x85EBCA77


class ExactDuplicates:
    """Keys and line numbers of every example of one file; duplicate groups found at the end."""

    def __init__(self) -> None:
        # Appended in step, one entry per example; hot loops may append to both directly.
        self.keys = array("q")
        self.lines = array("I")

    def add(self, key: int, line: int) -> None:
        self.keys.append(key)
        self.lines.append(line)

    def groups(self) -> Iterator[tuple[int, ...]]:
        """Line numbers of each group of identical examples (≥ 2), by first line."""
        if len(self.keys) < 2:
            return iter(())
        import numpy as np  # numpy only once a file has been read

        keys = np.frombuffer(self.keys, dtype=np.int64)
        lines = np.frombuffer(self.lines, dtype=np.uint32)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        ends = np.r_[starts[1:], len(sorted_keys)]
        bounds = zip(starts.tolist(), ends.tolist(), strict=True)
        found = [tuple(lines[order[s:e]].tolist()) for s, e in bounds if e - s > 1]
        return iter(sorted(found))

    def report(self, log: FindingLog) -> None:
        """Log one finding per group; the total counts the surplus copies."""
        for group in self.groups():
            first, *copies = group
            shown = ", ".join(str(line) for line in copies[:5])
            more = f" and {len(copies) - 5} more" if len(copies) > 5 else ""
            log.add(
                FindingKind.EXACT_DUPLICATE,
                f"line {first} is repeated at line(s) {shown}{more}; remove the copies",
                line=copies[0],
                count=len(copies),
            )


def example_text(obj: dict[str, Any]) -> str:
    """The conversation's text (every text part, or the Gemini API pair) of a valid example.

    The system instruction is left out: usually shared by every example, it would make every
    pair look similar.
    """
    contents = obj.get("contents")
    if not isinstance(contents, list):
        return f"{obj['text_input']}\n{obj['output']}"
    return "\n".join(p["text"] for turn in contents for p in turn["parts"] if "text" in p)


class Signature:
    """A MinHash signature (uint32 per permutation); the estimated Jaccard similarity of two."""

    __slots__ = ("hashvalues",)

    def __init__(self, hashvalues: Any) -> None:
        self.hashvalues = hashvalues

    def jaccard(self, other: Signature) -> float:
        """The share of permutations whose minima agree (datasketch's `MinHash.jaccard`)."""
        return int((self.hashvalues == other.hashvalues).sum()) / len(self.hashvalues)


class MinHasher:
    """MinHash signatures (datasketch's affine32 scheme) computed in one vectorised step.

    Words are the lower-cased text split on whitespace with ASCII punctuation removed, at most
    MAX_SHINGLE_WORDS of them; each word is hashed once (crc32) and a 3-gram's hash combines its
    words' hashes. The signature is exactly what datasketch's
    `MinHash(num_perm=64, seed=1, scheme="affine32").update_batch` would compute for those
    3-gram hashes (tests pin this), without its per-value Python loop; a batch of texts shares
    one vectorised permutation step.
    """

    def __init__(self) -> None:
        import numpy  # numpy costs a fraction of a second to import

        self._np = numpy
        self.permutations = affine32_permutations(NUM_PERMUTATIONS, seed=1, np=numpy)

    def shingles(self, text: str) -> Any:
        """The 3-gram hashes of the text (uint32 array)."""
        np = self._np
        words = text.lower().encode().translate(None, _PUNCTUATION).split(None, MAX_SHINGLE_WORDS)
        del words[MAX_SHINGLE_WORDS:]
        hashes = np.fromiter(map(zlib.crc32, words), dtype=np.uint32, count=len(words))
        if len(hashes) < SHINGLE_WORDS:
            return np.array([int(hashes.sum()) & 0xFFFFFFFF], dtype=np.uint32)
        return hashes[:-2] * np.uint32(_K1) + hashes[1:-1] * np.uint32(_K2) + hashes[2:]

    def signatures(self, texts: list[str]) -> list[Signature]:
        """One signature per text; a batch shares one vectorised permutation step."""
        np = self._np
        arrays = [self.shingles(text) for text in texts]
        offsets = np.cumsum([0] + [len(shingles) for shingles in arrays[:-1]])
        mixed = _fmix32(np.concatenate(arrays), np)
        a, b = self.permutations
        values = np.multiply.outer(a, mixed)
        values += b[:, None]
        minima = np.minimum.reduceat(values, offsets, axis=1)
        return [Signature(minima[:, i].copy()) for i in range(len(texts))]

    def signature(self, text: str) -> Signature:
        return self.signatures([text])[0]


def affine32_permutations(count: int, *, seed: int, np: Any) -> Any:
    """datasketch's affine32 permutations h -> a*h + b mod 2**32 (a odd): a 2 x count array."""
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, count, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, count, dtype=np.uint32)
    return np.array([a, b])


def _fmix32(values: Any, np: Any) -> Any:
    """MurmurHash3's 32-bit finalizer, as datasketch applies it before its permutations."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


class NearDuplicateIndex:
    """MinHash LSH over examples of one file, keyed by line number.

    datasketch's `MinHashLSH(params=LSH_BANDS_ROWS)` with its dict storage: a line is a
    candidate when its signature agrees with the query's on every row of some band; candidates
    come back in the same order as datasketch's (a set filled band by band).
    """

    def __init__(self, threshold: float = NEAR_DUPLICATE_THRESHOLD) -> None:
        self.threshold = threshold
        bands, rows = LSH_BANDS_ROWS
        self._ranges = [(band * rows, (band + 1) * rows) for band in range(bands)]
        self._buckets: list[dict[bytes, set[int]]] = [{} for _ in range(bands)]
        self._signatures: dict[int, Signature] = {}

    def __len__(self) -> int:
        return len(self._signatures)

    def candidates(self, signature: Signature) -> list[int]:
        """Lines sharing a band with the signature (datasketch's `MinHashLSH.query`)."""
        found: set[int] = set()
        values = signature.hashvalues
        for (start, end), buckets in zip(self._ranges, self._buckets, strict=True):
            for line in buckets.get(values[start:end].tobytes(), ()):
                found.add(line)  # one by one, as datasketch: `update` would size the set apart
        return list(found)

    def matches(self, signature: Signature) -> list[tuple[int, float]]:
        """(line, estimated Jaccard) of indexed examples at or above the threshold, by line."""
        found = []
        for line in islice(self.candidates(signature), MAX_CANDIDATES):
            similarity = signature.jaccard(self._signatures[line])
            if similarity >= self.threshold:
                found.append((line, similarity))
        return sorted(found)

    def insert(self, line: int, signature: Signature) -> None:
        if line in self._signatures:
            raise ValueError(f"line {line} is already indexed")
        values = signature.hashvalues
        for (start, end), buckets in zip(self._ranges, self._buckets, strict=True):
            buckets.setdefault(values[start:end].tobytes(), set()).add(line)
        self._signatures[line] = signature
