"""Pure judging beyond string metrics: agreement with people, shots, win rates, trust gates."""

from __future__ import annotations

import pytest

from tuning_operator.judging.agreement import agreement, quadratic_kappa
from tuning_operator.judging.judges import (
    Judgement,
    Shot,
    choose_shots,
    model_based_scores,
    win_rate,
    with_shots,
)
from tuning_operator.judging.scoring import MetricScore, apply_gate
from tuning_operator.specs.evaluation import MetricBar
from tuning_operator.specs.judges import ModelBasedMetric
from tuning_operator.specs.ratings import HumanRating


def user(text: str) -> dict[str, object]:
    return {"role": "user", "parts": [{"text": text}]}


@pytest.mark.parametrize(("people", "autorater", "kappa"), [
    ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], 1.0),
    ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], -1.0),
    ([4, 4, 4], [4, 4, 4], 1.0),
    ([1, 2, 4, 5], [2, 2, 4, 4], 1 - 2 / 14),  # by hand: observed 2, expected by chance 14
])
def test_quadratic_kappa_matches_the_textbook_values(
        people: list[int], autorater: list[int], kappa: float) -> None:
    """Perfect agreement is 1, a reversed scale -1, and a near miss close to 1."""
    assert quadratic_kappa(people, autorater) == pytest.approx(kappa, abs=1e-4)


def test_agreement_rounds_the_autorater_and_counts_within_one() -> None:
    """Autorater scores are rounded to the scale; within-one is the share at most a step off."""
    figures = agreement([5, 1, 3], [4.6, 3.2, 3.0])
    assert figures.examples == 3 and figures.within_one == pytest.approx(2 / 3)


def test_shots_are_chosen_by_content_not_by_order_and_skip_evaluated_prompts() -> None:
    """The same shots whatever the order of the file; an evaluated question is never a shot."""
    shots = [Shot(contents=(user(f"q{i}"),), reference=f"a{i}") for i in range(10)]
    chosen = choose_shots(shots, 3, exclude_prompts=frozenset({"q0"}))
    assert chosen == choose_shots(list(reversed(shots)), 3, exclude_prompts=frozenset({"q0"}))
    assert len(chosen) == 3 and all(s.contents[0] != user("q0") for s in chosen)
    turns = with_shots(chosen[:1], (user("asked"),))
    assert [t["role"] for t in turns] == ["user", "model", "user"]


def test_model_based_scores_give_means_win_rates_and_agreement() -> None:
    """Pointwise: a mean per model and the agreement on rated examples; pairwise: a win rate."""
    correct = ModelBasedMetric(name="correctness", kind="pointwise", rubric="{response}")
    preferred = ModelBasedMetric(name="preferred", kind="pairwise", rubric="{response}")
    judged = {("correctness", "tuned", 0): Judgement(score=5), ("correctness", "tuned", 1):
              Judgement(score=3), ("correctness", "zero-shot", 0): Judgement(score=2),
              ("correctness", "zero-shot", 1): Judgement(score=2),
              ("preferred", "tuned", 0): Judgement(choice="CANDIDATE"),
              ("preferred", "tuned", 1): Judgement(choice="TIE")}
    scores = model_based_scores(
        [correct, preferred], judged, examples=[0, 1], roles=["tuned", "zero-shot"],
        ratings=[HumanRating(0, "correctness", 5), HumanRating(1, "correctness", 3)])
    assert (scores["correctness"].tuned, scores["correctness"].baseline) == (4.0, 2.0)
    agreed = scores["correctness"].agreement
    assert agreed is not None and agreed.kappa == pytest.approx(1.0)
    assert scores["preferred"].tuned == 0.75 == win_rate(["CANDIDATE", "TIE"])


def test_an_autorater_that_disagrees_with_people_does_not_gate() -> None:
    """Below minAgreement the metric fails as not trusted, whatever its score."""
    low = agreement([1, 2, 3, 4, 5, 1, 2], [5, 4, 3, 2, 1, 4, 4])
    passed, reasons = apply_gate({"correctness": MetricBar(min=4.0, min_agreement=0.7)},
                                 {"correctness": MetricScore(tuned=5.0, agreement=low)})
    assert not passed
    assert reasons[0].startswith("correctness: autorater not trusted: kappa ")
    assert reasons[0].endswith("< 0.70 on 7 human-rated examples")


def test_gain_is_measured_against_the_stronger_baseline() -> None:
    """With a few-shot baseline above zero-shot, the gain is over few-shot, and says so."""
    passed, reasons = apply_gate(
        {"exactMatch": MetricBar(min_gain_over_baseline=0.1)},
        {"exactMatch": MetricScore(tuned=0.8, baseline=0.3, few_shot=0.9)})
    assert not passed
    assert reasons == ["exactMatch gain -0.100 (0.800 vs few-shot baseline, the stronger,"
                       " 0.900) < minGainOverBaseline 0.100"]


@pytest.mark.parametrize(("rate", "passed"), [(0.75, True), (0.5, False)])
def test_a_win_rate_gate_both_ways(rate: float, passed: bool) -> None:
    """minWinRate passes at or above the bar and fails below it."""
    assert apply_gate({"preferred": MetricBar(min_win_rate=0.6)},
                      {"preferred": MetricScore(tuned=rate)})[0] is passed
