"""Long curves made short: an even grid of steps, each point the mean of the steps it covers.

A 10,000-step run logs 10,000 training losses; a PR comment's chart has room for about a
hundred points and a line chart in Mermaid places its values evenly over the x axis, so every
line of one chart must sit on the same even grid. Averaging per bin (rather than picking every
n-th point) keeps a noisy curve's level honest; a sparse curve (validation loss, logged every few
hundred steps) is interpolated linearly between its own points and held flat past its ends.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from tuning_operator.reporting.model import Points

MAX_POINTS = 100


def even_grid(curves: Sequence[Points], *, points: int = MAX_POINTS) -> tuple[float, ...]:
    """At most `points` evenly spaced steps from the first to the last step of any curve."""
    steps = sorted({step for curve in curves for step, _ in curve})
    if len(steps) <= 1:
        return tuple(steps)
    n = min(points, len(steps))
    first, last = steps[0], steps[-1]
    return tuple(first + (last - first) * i / (n - 1) for i in range(n))


def on_grid(curve: Points, grid: Sequence[float]) -> tuple[float, ...]:
    """The curve's value at each grid step: the mean of its points nearest to that step.

    Each grid step owns the points closer to it than to its neighbours; a grid step that owns
    none takes the straight line between the curve's neighbouring points (or its first or last
    value, outside the curve's range).
    """
    if not curve or not grid:
        return ()
    sums = [0.0] * len(grid)
    counts = [0] * len(grid)
    spacing = (grid[-1] - grid[0]) / (len(grid) - 1) if len(grid) > 1 else 1.0
    for step, value in curve:
        index = round((step - grid[0]) / spacing) if spacing else 0
        index = min(max(index, 0), len(grid) - 1)
        sums[index] += value
        counts[index] += 1
    return tuple(sums[i] / counts[i] if counts[i] else _between(curve, grid[i])
                 for i in range(len(grid)))


def _between(curve: Points, step: float) -> float:
    if step <= curve[0][0]:
        return curve[0][1]
    for (left_step, left), (right_step, right) in itertools.pairwise(curve):
        if left_step <= step <= right_step:
            if right_step == left_step:
                return right
            return left + (right - left) * (step - left_step) / (right_step - left_step)
    return curve[-1][1]


def thin(curve: Points, *, points: int) -> Points:
    """The curve on an even grid of at most `points` steps, when it is longer than that."""
    if len(curve) <= points:
        return curve
    grid = even_grid([curve], points=points)
    return tuple(zip(grid, on_grid(curve, grid), strict=True))
