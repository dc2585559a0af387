"""Dataset statistics in one pass and constant memory: examples, turns, estimated tokens.

Tokens are an ESTIMATE, not Gemini's tokenizer (counting exactly would take an API call per
example): UTF-8 bytes of every text part / 4, rounded up (≈ 4 characters per token for English;
CJK text counts ≈ 0.75 tokens per character), plus `FILE_PART_TOKENS` per `fileData` part (the
cost of one image; audio and video cost more, by duration): `specs.tokens.estimate_tokens`.
Use the figures to compare datasets and catch examples far over the limit, not to bill to the
cent.

Quantiles come from a log-bucket sketch (relative error ≤ 1 %, at most a few thousand buckets),
so memory does not grow with the file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

_GAMMA = 1.02
_LOG_GAMMA = math.log(_GAMMA)


# What the statistics and the hygiene checks need from one valid example:
# (estimated tokens, turns, duplicate key, system instruction text or None, fileData parts).
# The key hashes the normalised example; equal keys = exact duplicates (within one process).
# A plain tuple, not a NamedTuple: building one per line costs ~8 % of the whole pass.
ExampleFacts = tuple[int, int, int, str | None, int]


class QuantileSketch:
    """Streaming quantiles of non-negative integers: bucket i holds values in (γ^(i-1), γ^i].

    Values are added in batches (`add_many`) and bucketed with numpy.
    """

    def __init__(self) -> None:
        self._buckets: dict[int, int] = {}
        self.count = 0

    def add(self, value: int) -> None:
        self.add_many([value])

    def add_many(self, batch: Sequence[int]) -> None:
        import numpy as np  # numpy only once a file has been read

        values = np.asarray(batch, dtype=np.float64)
        self.count += len(values)
        # Zeros go to bucket -inf's stand-in, the smallest index.
        indexes = np.where(values > 0, np.ceil(np.log(np.maximum(values, 1)) / _LOG_GAMMA), -1)
        for index, n in zip(*np.unique(indexes.astype(np.int64), return_counts=True), strict=True):
            self._buckets[int(index)] = self._buckets.get(int(index), 0) + int(n)

    def quantile(self, q: float) -> int:
        """The value at quantile q (0..1), within 1 % (0 when empty)."""
        if self.count == 0:
            return 0
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for index in sorted(self._buckets):
            seen += self._buckets[index]
            if seen >= rank:
                if index < 0:
                    return 0
                # The bucket's midpoint in log space: the estimate nearest every value in it.
                return round(2 * _GAMMA**index / (1 + _GAMMA))
        return 0  # unreachable: the counts add up to self.count


@dataclass(frozen=True)
class DatasetStats:
    """What one dataset file holds (examples = lines that are valid examples)."""

    lines: int
    examples: int
    turns_mean: float
    turns_max: int
    tokens_total: int
    tokens_mean: float
    tokens_p50: int
    tokens_p95: int
    tokens_max: int
    examples_with_system_instruction: int
    file_parts: int
    # The tokens past the model's per-example limit (`scan_lines`): Vertex truncates them, so
    # they are neither trained on nor billed.
    tokens_truncated: int = 0

    @property
    def tokens_trained(self) -> int:
        """The tokens one epoch trains on: every example's, up to the model's limit."""
        return self.tokens_total - self.tokens_truncated

    def billable_tokens(self, epochs: int) -> int:
        """Estimated training tokens Vertex bills: every example's tokens up to the model's
        limit (the rest is truncated), once per epoch."""
        return self.tokens_trained * epochs


EMPTY_STATS = DatasetStats(
    lines=0,
    examples=0,
    turns_mean=0.0,
    turns_max=0,
    tokens_total=0,
    tokens_mean=0.0,
    tokens_p50=0,
    tokens_p95=0,
    tokens_max=0,
    examples_with_system_instruction=0,
    file_parts=0,
)


class StatsAccumulator:
    """Adds examples one at a time; `result()` freezes the figures.

    Adding is one list append: examples are folded into the figures FOLD_EVERY at a time,
    column-wise (this runs once per line of a file of up to a gigabyte).
    """

    FOLD_EVERY = 8192

    def __init__(self) -> None:
        self.lines = 0
        self.examples = 0
        self.turns_total = 0
        self.turns_max = 0
        self.tokens_total = 0
        self.tokens_max = 0
        self.with_system_instruction = 0
        self.file_parts = 0
        self.sketch = QuantileSketch()
        self._pending: list[ExampleFacts] = []

    def add(self, facts: ExampleFacts) -> None:
        self._pending.append(facts)
        if len(self._pending) >= self.FOLD_EVERY:
            self._fold()

    def _fold(self) -> None:
        if not self._pending:
            return
        tokens, turns, _, systems, files = zip(*self._pending, strict=True)
        self._pending.clear()
        self.examples += len(tokens)
        self.turns_total += sum(turns)
        self.turns_max = max(self.turns_max, *turns)
        self.tokens_total += sum(tokens)
        self.tokens_max = max(self.tokens_max, *tokens)
        self.with_system_instruction += len(systems) - systems.count(None)
        self.file_parts += sum(files)
        self.sketch.add_many(tokens)

    def result(self) -> DatasetStats:
        self._fold()
        n = self.examples
        return DatasetStats(
            lines=self.lines,
            examples=n,
            turns_mean=self.turns_total / n if n else 0.0,
            turns_max=self.turns_max,
            tokens_total=self.tokens_total,
            tokens_mean=self.tokens_total / n if n else 0.0,
            # The sketch's midpoint may overshoot the true maximum by < 1 %: clamp.
            tokens_p50=min(self.sketch.quantile(0.50), self.tokens_max),
            tokens_p95=min(self.sketch.quantile(0.95), self.tokens_max),
            tokens_max=self.tokens_max,
            examples_with_system_instruction=self.with_system_instruction,
            file_parts=self.file_parts,
        )
