"""The metric table with a few-shot baseline and model-based metrics rated by people."""

from __future__ import annotations

from tuning_operator.reporting import wording
from tuning_operator.reporting.model import Evaluation, MetricScore


def test_both_baselines_are_named_by_their_shots_and_agreement_is_shown() -> None:
    """`baseline (zero-shot)` and `baseline (3-shot)` head their columns; the agreement
    column shows kappa, the share within one step and the rated examples."""
    evaluation = Evaluation(verdict="failed", few_shot=3, metrics=(
        MetricScore(name="exactMatch", tuned=0.6, baseline=0.2, gain=0.4, few_shot=0.9),
        MetricScore(name="correctness", tuned=4.2, baseline=2.5, gain=1.7, few_shot=3.9,
                    kappa=0.8123, within_one=0.96, rated=25)))
    assert wording.metric_columns(evaluation) == (
        "metric", "tuned", "baseline (zero-shot)", "baseline (3-shot)", "gain",
        "agreement (κ, within ±1)")
    rows = wording.metric_rows(evaluation)
    assert rows[0][3] == wording.score(0.9) and rows[0][-1] == "–"
    assert rows[1][-1] == "0.81, 96% on 25"


def test_without_few_shot_or_ratings_the_table_keeps_its_four_columns() -> None:
    """A zero-shot-only evaluation reads as before: metric, tuned, baseline, gain."""
    evaluation = Evaluation(verdict="passed", metrics=(
        MetricScore(name="bleu", tuned=0.4, baseline=0.3, gain=0.1),))
    assert wording.metric_columns(evaluation) == ("metric", "tuned", "baseline", "gain")
    assert len(wording.metric_rows(evaluation)[0]) == 4
