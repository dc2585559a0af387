"""The human ratings file (`evaluation.humanRatings`): people's 1-5 scores of tuned answers.

A small, carefully rated set is what an autorater is checked against (seed 004): the autorater
is trusted only as far as it agrees with it. The file is reviewed with the job file, so it is
checked by `validate`: every line names an example of the evaluation set (0-based line index
among its examples), a declared pointwise metric, and a whole score on the 1-5 scale. This
module parses; it never reads a file and never compares with the autorater.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from tuning_operator.specs.judges import SCORE_MAX, SCORE_MIN

MAX_LISTED_PROBLEMS = 5


@dataclass(frozen=True)
class HumanRating:
    """One person's score of the tuned model's answer to one example, for one metric."""

    example: int
    metric: str
    score: int


def parse_human_ratings(
    raw: bytes, *, pointwise: Collection[str], examples: int | None = None
) -> tuple[tuple[HumanRating, ...], list[str]]:
    """(the ratings, what is wrong, by line); `examples`: the set's size when known."""
    import orjson  # here: only a job with human ratings needs it (issue 31)

    ratings: list[HumanRating] = []
    problems: list[str] = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        problem = None
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            entry, problem = None, "not JSON"
        if problem is None:
            rating, problem = _rating(entry, pointwise, examples)
            if rating is not None:
                ratings.append(rating)
        if problem is not None:
            problems.append(f"line {number}: {problem}")
    if not ratings and not problems:
        problems.append("no ratings; one {\"example\": INDEX, \"metric\": NAME, \"score\": 1-5}"
                        " a line")
    shown = problems[:MAX_LISTED_PROBLEMS]
    if len(problems) > len(shown):
        shown.append(f"… and {len(problems) - len(shown)} more")
    return tuple(ratings), shown


def _rating(entry: object, pointwise: Collection[str],
            examples: int | None) -> tuple[HumanRating | None, str | None]:
    if not isinstance(entry, dict) or set(entry) != {"example", "metric", "score"}:
        return None, 'expected exactly {"example", "metric", "score"}'
    example, metric, score = entry["example"], entry["metric"], entry["score"]
    if not isinstance(example, int) or isinstance(example, bool) or example < 0:
        return None, f"example {example!r} is not a 0-based index"
    if examples is not None and example >= examples:
        return None, f"example {example} is out of range (the set has {examples} examples)"
    if metric not in pointwise:
        known = ", ".join(sorted(pointwise)) or "none declared"
        return None, f"metric {metric!r} is not a pointwise `modelBased` metric ({known})"
    if (not isinstance(score, int) or isinstance(score, bool)
            or not SCORE_MIN <= score <= SCORE_MAX):
        return None, f"score {score!r} is not a whole number from {SCORE_MIN} to {SCORE_MAX}"
    return HumanRating(example=example, metric=str(metric), score=score), None
