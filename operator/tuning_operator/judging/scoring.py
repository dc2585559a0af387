"""Scoring answers against references, and the gate a tuned model must clear.

Pure functions of data: no file, no network, no cloud library. The metrics come from
well-kept libraries (sacrebleu for BLEU, rouge-score for ROUGE-L), imported inside the
functions that use them so that importing this module stays cheap. Every score is in [0, 1]:
exact match is the share of answers equal to their reference after normalisation, BLEU is
sacrebleu's corpus BLEU / 100, ROUGE-L is the mean per-example F-measure.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tuning_operator.specs.evaluation import METRICS, MetricBar, unknown_metric

# Scores are sums of floats: 0.4 - 0.3 is 0.10000000000000003 and 0.3 - 0.2 is
# 0.09999999999999998, so a bar is compared with this much slack.
TOLERANCE = 1e-9
_SPACES = re.compile(r"\s+")
# Scripts written without spaces: one token per character, so ROUGE-L sees their words.
_UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_UNSPACED}]|[^\W{_UNSPACED}]+")


def normalise(text: str) -> str:
    """The form exact match compares: NFKC, case-folded, whitespace collapsed, ends trimmed
    of spaces, quotes and final punctuation (`"Billing."` equals `billing`)."""
    folded = _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold())
    return folded.strip(" \"'`.,;:!?。、")


def exact_match(references: Sequence[str], answers: Sequence[str]) -> float:
    """The share of answers equal to their reference after `normalise`."""
    _same_length(references, answers)
    if not references:
        return 0.0
    hits = sum(normalise(r) == normalise(a) for r, a in zip(references, answers, strict=True))
    return hits / len(references)


def bleu(references: Sequence[str], answers: Sequence[str]) -> float:
    """sacrebleu's corpus BLEU (13a tokenizer, one reference per example), scaled to [0, 1]."""
    _same_length(references, answers)
    if not references:
        return 0.0
    score = _bleu_against(tuple(references)).corpus_score(list(answers), None).score
    return min(1.0, max(0.0, float(score) / 100.0))


@functools.lru_cache(maxsize=2)
def _bleu_against(references: tuple[str, ...]) -> Any:
    """A BLEU with the references tokenised once: the tuned and the base model's answers are
    scored against the same references (half of BLEU's time at 10,000 examples)."""
    from sacrebleu.metrics.bleu import BLEU

    return BLEU(references=[list(references)])


class _Tokenizer:
    """rouge-score's default drops every non-ASCII letter; this one keeps them."""

    @staticmethod
    def tokenize(text: str) -> list[str]:
        return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def rouge_l(references: Sequence[str], answers: Sequence[str]) -> float:
    """The mean ROUGE-L F-measure (rouge-score, longest common subsequence) per example."""
    _same_length(references, answers)
    if not references:
        return 0.0
    from rouge_score.rouge_scorer import RougeScorer

    scorer = RougeScorer(["rougeL"], tokenizer=_Tokenizer())
    total = sum(scorer.score(r, a)["rougeL"].fmeasure
                for r, a in zip(references, answers, strict=True))
    return float(total) / len(references)


SCORERS: Mapping[str, Callable[[Sequence[str], Sequence[str]], float]] = {
    "exactMatch": exact_match,
    "bleu": bleu,
    "rougeL": rouge_l,
}
assert tuple(SCORERS) == METRICS  # the spec's names and the scorers stay one list


@dataclass(frozen=True)
class MetricScore:
    """One metric for the tuned model, the base model (None: not asked) and the gain."""

    tuned: float
    baseline: float | None = None

    @property
    def gain(self) -> float | None:
        return None if self.baseline is None else self.tuned - self.baseline

    def to_dict(self) -> dict[str, float | None]:
        gain = self.gain
        return {"tuned": round(self.tuned, 6),
                "baseline": None if self.baseline is None else round(self.baseline, 6),
                "gain": None if gain is None else round(gain, 6)}


def score(
    metrics: Sequence[str],
    references: Sequence[str],
    tuned: Sequence[str],
    baseline: Sequence[str] | None = None,
) -> dict[str, MetricScore]:
    """Every metric for the tuned answers and, when given, the base model's answers."""
    result = {}
    for name in metrics:
        scorer = SCORERS.get(name)
        if scorer is None:
            raise ValueError(unknown_metric(name))
        result[name] = MetricScore(
            tuned=scorer(references, tuned),
            baseline=None if baseline is None else scorer(references, baseline),
        )
    return result


def apply_gate(
    require: Mapping[str, MetricBar], metrics: Mapping[str, MetricScore]
) -> tuple[bool, list[str]]:
    """(passed, reasons): each reason names the metric and the numbers; a failed gate lists
    only what failed, a passed one what it cleared. No bar at all passes."""
    passed: list[str] = []
    failed: list[str] = []
    for name, bar in require.items():
        measured = metrics.get(name)
        if measured is None:
            failed.append(f"{name} was not measured")
            continue
        if bar.min is not None:
            ok = measured.tuned + TOLERANCE >= bar.min
            sign = "≥" if ok else "<"
            (passed if ok else failed).append(
                f"{name} {measured.tuned:.3f} {sign} min {bar.min:.3f}")
        if bar.min_gain_over_baseline is not None:
            gain = measured.gain
            if gain is None or measured.baseline is None:
                failed.append(f"{name}: no baseline to compare with (minGainOverBaseline"
                              f" {bar.min_gain_over_baseline:.3f})")
                continue
            ok = gain + TOLERANCE >= bar.min_gain_over_baseline
            sign = "≥" if ok else "<"
            (passed if ok else failed).append(
                f"{name} gain {gain:+.3f} ({measured.tuned:.3f} vs baseline"
                f" {measured.baseline:.3f}) {sign} minGainOverBaseline"
                f" {bar.min_gain_over_baseline:.3f}")
    return (False, failed) if failed else (True, passed)


def _same_length(references: Sequence[str], answers: Sequence[str]) -> None:
    if len(references) != len(answers):
        raise ValueError(f"{len(answers)} answers for {len(references)} references")
