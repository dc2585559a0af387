"""How far an autorater agrees with people: the calibration that decides whether it may gate.

Seed 004: a small human-rated set calibrates the autorater, which is trusted only as far as it
agrees with it. Two figures, both on the examples rated by people and by the autorater:
`withinOne`, the share of scores at most one step apart (what a reader grasps), and the
quadratic-weighted Cohen's kappa (what gates: chance-corrected, and a 5 for a 1 costs sixteen
times a 5 for a 4). Pure functions of scores on the 1-5 scale; written out here because the
formula is ten lines and the libraries that carry it (scikit-learn) weigh far more than this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tuning_operator.specs.judges import SCORE_MAX, SCORE_MIN


@dataclass(frozen=True)
class Agreement:
    """The autorater against people on `examples` rated examples of one metric."""

    examples: int
    kappa: float  # quadratic-weighted Cohen's kappa, in [-1, 1]
    within_one: float  # share of scores at most one step apart


def agreement(people: Sequence[int], autorater: Sequence[float]) -> Agreement:
    """Both figures; autorater scores are rounded to the scale's steps first."""
    if len(people) != len(autorater):
        raise ValueError(f"{len(autorater)} autorater scores for {len(people)} ratings")
    steps = [min(SCORE_MAX, max(SCORE_MIN, round(s))) for s in autorater]
    if not people:
        return Agreement(examples=0, kappa=0.0, within_one=0.0)
    within = sum(abs(p - a) <= 1 for p, a in zip(people, steps, strict=True)) / len(people)
    return Agreement(examples=len(people), kappa=quadratic_kappa(people, steps),
                     within_one=within)


def quadratic_kappa(first: Sequence[int], second: Sequence[int]) -> float:
    """Cohen's kappa with quadratic weights over the 1-5 scale: 1 - observed / expected
    disagreement, the expected one from the two raters' marginals. Identical constant ratings
    (no variance, nothing to correct for) agree perfectly: 1.0."""
    n = len(first)
    size = SCORE_MAX - SCORE_MIN + 1
    observed = [[0.0] * size for _ in range(size)]
    for a, b in zip(first, second, strict=True):
        observed[a - SCORE_MIN][b - SCORE_MIN] += 1
    rows = [sum(row) for row in observed]
    cols = [sum(observed[i][j] for i in range(size)) for j in range(size)]
    weight = [[(i - j) ** 2 / (size - 1) ** 2 for j in range(size)] for i in range(size)]
    seen = sum(weight[i][j] * observed[i][j] for i in range(size) for j in range(size))
    chance = sum(weight[i][j] * rows[i] * cols[j] / n for i in range(size) for j in range(size))
    if chance == 0:
        return 1.0 if seen == 0 else 0.0
    return 1.0 - seen / chance
