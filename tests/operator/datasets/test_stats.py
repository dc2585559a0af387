"""Statistics in one pass: the quantile sketch, the accumulator, the token estimate."""

from __future__ import annotations

import math
import random

import pytest

from tuning_operator.datasets.stats import QuantileSketch, StatsAccumulator
from tuning_operator.specs.tokens import FILE_PART_TOKENS, estimate_tokens


@pytest.mark.parametrize("count", [1, 7, 10_000])
def test_sketch_quantiles_are_within_one_percent(count: int) -> None:
    """p50 and p95 of the sketch match the exact order statistics within 1 %."""
    rng = random.Random(count)
    values = [int(rng.lognormvariate(6, 1.2)) + 1 for _ in range(count)]
    sketch = QuantileSketch()
    for value in values:
        sketch.add(value)
    ordered = sorted(values)
    for q in (0.5, 0.95):
        exact = ordered[max(0, math.ceil(q * count) - 1)]
        assert abs(sketch.quantile(q) - exact) <= max(1, 0.01 * exact), q


def test_sketch_handles_zeros_and_empty() -> None:
    """An empty sketch answers 0; zeros are counted below every positive value."""
    sketch = QuantileSketch()
    assert sketch.quantile(0.5) == 0
    for value in (0, 0, 0, 100):
        sketch.add(value)
    assert sketch.quantile(0.5) == 0
    assert 99 <= sketch.quantile(1.0) <= 101


def test_accumulator_figures() -> None:
    """Means, maxima, system-instruction and file-part counts, billable tokens per epochs."""
    stats = StatsAccumulator()
    stats.add((100, 2, 1, None, 0))
    stats.add((300, 4, 2, "sys", 1))
    stats.lines = 3
    result = stats.result()
    assert (result.lines, result.examples, result.turns_mean, result.turns_max) == (3, 2, 3.0, 4)
    assert (result.tokens_total, result.tokens_mean, result.tokens_max) == (400, 200.0, 300)
    assert result.tokens_p95 <= result.tokens_max
    assert (result.examples_with_system_instruction, result.file_parts) == (1, 1)
    assert result.billable_tokens(epochs=5) == 2000


def test_token_estimate_rounds_up_and_counts_files() -> None:
    """Four bytes a token, rounded up; each file part adds its fixed estimate."""
    assert [estimate_tokens(n) for n in (0, 1, 4, 5)] == [0, 1, 1, 2]
    assert estimate_tokens(8, file_parts=2) == 2 + 2 * FILE_PART_TOKENS
