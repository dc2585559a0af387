"""Long curves averaged onto an even grid: what the PR comment's charts are drawn from."""

from __future__ import annotations

import pytest

from tuning_operator.reporting.curves import even_grid, on_grid, thin


@pytest.mark.parametrize(
    ("curves", "points", "grid"),
    [
        ([((0.0, 1.0), (10.0, 1.0))], 100, (0.0, 10.0)),
        ([tuple((float(s), 0.0) for s in range(1, 10001))], 100, None),
        ([((5.0, 1.0),)], 100, (5.0,)),
        ([()], 100, ()),
        ([((0.0, 1.0), (4.0, 1.0)), ((2.0, 3.0), (8.0, 3.0))], 3, (0.0, 4.0, 8.0)),
    ],
    ids=["two-points", "ten-thousand-steps", "one-point", "empty", "union-of-two-curves"],
)
def test_even_grid(curves: list[tuple[tuple[float, float], ...]], points: int,
                   grid: tuple[float, ...] | None) -> None:
    """The grid spans every curve's steps evenly with at most `points` steps."""
    result = even_grid(curves, points=points)
    if grid is not None:
        assert result == grid
    else:
        assert len(result) == points and result[0] == 1.0 and result[-1] == 10000.0


@pytest.mark.parametrize(
    ("curve", "grid", "expected"),
    [
        (((0.0, 1.0), (1.0, 3.0), (10.0, 5.0)), (0.0, 10.0), (2.0, 5.0)),
        (((0.0, 0.0), (10.0, 10.0)), (0.0, 5.0, 10.0), (0.0, 5.0, 10.0)),
        (((4.0, 2.0), (6.0, 4.0)), (0.0, 5.0, 10.0), (2.0, 3.0, 4.0)),
        (((0.0, 2.0), (10.0, 4.0)), (0.0, 2.5, 5.0, 7.5, 10.0), (2.0, 2.5, 3.0, 3.5, 4.0)),
    ],
    ids=["dense-points-averaged", "sparse-curve-interpolated", "held-past-the-ends",
         "interpolated-between-points"],
)
def test_on_grid(curve: tuple[tuple[float, float], ...], grid: tuple[float, ...],
                 expected: tuple[float, ...]) -> None:
    """Each grid step takes the mean of its nearest points, or the line between neighbours."""
    assert on_grid(curve, grid) == pytest.approx(expected)


def test_thin_keeps_the_level_of_a_noisy_curve() -> None:
    """Averaging (not picking every n-th point) keeps an alternating curve at its mean."""
    noisy = tuple((float(s), 1.0 if s % 2 else 3.0) for s in range(10000))
    thinned = thin(noisy, points=100)
    assert len(thinned) == 100
    assert all(1.9 < value < 2.1 for _, value in thinned[1:-1])
    assert thin(noisy[:50], points=100) == noisy[:50]
