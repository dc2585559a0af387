"""Scores of answers against references, and the gate: tables of inputs and expected numbers."""

from __future__ import annotations

import pytest

from tuning_operator.judging.scoring import (
    MetricScore,
    apply_gate,
    bleu,
    exact_match,
    normalise,
    rouge_l,
    score,
)
from tuning_operator.specs.evaluation import MetricBar

NORMALISE = [
    ("plain", "billing", "billing"),
    ("case", "Billing", "billing"),
    ("final-period", "Billing.", "billing"),
    ("quotes", '"billing"', "billing"),
    ("spaces", "  two\n\twords ", "two words"),
    ("nfkc-fullwidth", "ＢＩＬＬＩＮＧ", "billing"),
    ("inner-punctuation-kept", "e-mail, phone", "e-mail, phone"),
    ("german-sharp-s", "Straße", "strasse"),
]


@pytest.mark.parametrize(("case", "text", "expected"), NORMALISE, ids=[c[0] for c in NORMALISE])
def test_normalise(case: str, text: str, expected: str) -> None:
    """Exact match compares the normalised forms."""
    del case
    assert normalise(text) == expected


EXACT = [
    ("all", ["a", "b"], ["A", "b."], 1.0),
    ("half", ["a", "b"], ["a", "c"], 0.5),
    ("none", ["a"], ["b"], 0.0),
    ("empty-answer", ["a"], [""], 0.0),
    ("no-examples", [], [], 0.0),
]


@pytest.mark.parametrize(("case", "refs", "answers", "expected"), EXACT,
                         ids=[c[0] for c in EXACT])
def test_exact_match(case: str, refs: list[str], answers: list[str], expected: float) -> None:
    """Exact match is the share of normalised answers equal to their reference."""
    del case
    assert exact_match(refs, answers) == expected


def test_bleu_is_one_for_identical_and_lower_for_different_text() -> None:
    """BLEU is 1 for identical corpora, strictly between 0 and 1 for a partial match."""
    refs = ["the cat sat on the mat", "a quick brown fox jumps"]
    assert bleu(refs, refs) == pytest.approx(1.0)
    partial = bleu(refs, ["the cat sat on a mat", "a quick brown dog jumps"])
    assert 0.0 < partial < 1.0
    assert bleu(refs, ["zzz", "yyy"]) == 0.0


ROUGE = [
    ("identical", ["the cat sat"], ["the cat sat"], 1.0),
    ("subsequence", ["the cat sat"], ["the cat sat on"], 2 * 0.75 * 1.0 / 1.75),
    ("disjoint", ["the cat"], ["a dog"], 0.0),
    ("japanese", ["日本語のテスト"], ["日本語のテスト"], 1.0),
    ("japanese-half", ["日本語"], ["日本"], 2 * 1.0 * (2 / 3) / (1 + 2 / 3)),
    ("mean-of-two", ["a b", "c d"], ["a b", "x y"], 0.5),
]


@pytest.mark.parametrize(("case", "refs", "answers", "expected"), ROUGE,
                         ids=[c[0] for c in ROUGE])
def test_rouge_l(case: str, refs: list[str], answers: list[str], expected: float) -> None:
    """ROUGE-L is the mean LCS F-measure; scripts without spaces are scored per character."""
    del case
    assert rouge_l(refs, answers) == pytest.approx(expected)


def test_score_reports_tuned_baseline_and_gain() -> None:
    """score() measures both models on the same references and derives the gain."""
    refs = [f"q{i}" for i in range(10)]
    tuned = [*refs[:9], "wrong"]
    base = refs[:3] + ["wrong"] * 7
    result = score(["exactMatch"], refs, tuned, base)
    assert result["exactMatch"].tuned == pytest.approx(0.9)
    assert result["exactMatch"].baseline == pytest.approx(0.3)
    assert result["exactMatch"].gain == pytest.approx(0.6)
    assert result["exactMatch"].to_dict() == {"tuned": 0.9, "baseline": 0.3, "gain": 0.6}


def test_score_without_baseline_has_no_gain() -> None:
    """Without base-model answers, baseline and gain are None."""
    result = score(["bleu", "rougeL"], ["a b c d"], ["a b c d"])
    assert result["rougeL"].to_dict() == {"tuned": 1.0, "baseline": None, "gain": None}


def test_mismatched_lengths_and_unknown_metrics_are_errors() -> None:
    """A missing answer or an unknown metric is a programming error, raised at once."""
    with pytest.raises(ValueError, match="1 answers for 2 references"):
        exact_match(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="known metrics: exactMatch, bleu, rougeL"):
        score(["accuracy"], ["a"], ["a"])


def bar(min_: float | None = None, gain: float | None = None) -> MetricBar:
    return MetricBar(min=min_, min_gain_over_baseline=gain)


# (case, require, scores, passed, expected reason parts)
GATE = [
    ("no-bar-passes", {}, {"exactMatch": MetricScore(0.1, 0.0)}, True, []),
    ("min-passes", {"exactMatch": bar(0.8)}, {"exactMatch": MetricScore(0.9, 0.3)}, True,
     ["exactMatch 0.900 ≥ min 0.800"]),
    ("min-fails", {"exactMatch": bar(0.95)}, {"exactMatch": MetricScore(0.9, 0.3)}, False,
     ["exactMatch 0.900 < min 0.950"]),
    ("gain-passes", {"exactMatch": bar(gain=0.1)}, {"exactMatch": MetricScore(0.9, 0.3)}, True,
     ["exactMatch gain +0.600 (0.900 vs baseline 0.300) ≥ minGainOverBaseline 0.100"]),
    ("gain-fails", {"bleu": bar(gain=0.2)}, {"bleu": MetricScore(0.35, 0.3)}, False,
     ["bleu gain +0.050 (0.350 vs baseline 0.300) < minGainOverBaseline 0.200"]),
    ("gain-at-bar-despite-float-error", {"rougeL": bar(gain=0.1)},
     {"rougeL": MetricScore(0.3, 0.2)}, True, ["rougeL gain +0.100"]),
    ("min-at-bar", {"rougeL": bar(0.7)}, {"rougeL": MetricScore(0.7)}, True,
     ["rougeL 0.700 ≥ min 0.700"]),
    ("one-of-two-fails", {"exactMatch": bar(0.8, 0.1), "bleu": bar(0.5)},
     {"exactMatch": MetricScore(0.9, 0.3), "bleu": MetricScore(0.4, 0.1)}, False,
     ["bleu 0.400 < min 0.500"]),
    ("negative-gain", {"exactMatch": bar(gain=0.0)}, {"exactMatch": MetricScore(0.2, 0.3)},
     False, ["exactMatch gain -0.100 (0.200 vs baseline 0.300) < minGainOverBaseline 0.000"]),
    ("no-baseline", {"exactMatch": bar(gain=0.1)}, {"exactMatch": MetricScore(0.9)}, False,
     ["exactMatch: no baseline to compare with"]),
    ("not-measured", {"bleu": bar(0.1)}, {"exactMatch": MetricScore(0.9)}, False,
     ["bleu was not measured"]),
]


@pytest.mark.parametrize(("case", "require", "scores", "passed", "reasons"), GATE,
                         ids=[c[0] for c in GATE])
def test_apply_gate(case: str, require: dict[str, MetricBar], scores: dict[str, MetricScore],
                    passed: bool, reasons: list[str]) -> None:
    """The gate passes only when every bar is cleared; reasons carry the metric and numbers."""
    del case
    ok, said = apply_gate(require, scores)
    assert ok is passed
    assert len(said) == len(reasons)
    for part, reason in zip(reasons, said, strict=True):
        assert part in reason
