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

from tuning_operator.judging.agreement import Agreement
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
    """One metric for the tuned model, the zero-shot base model (None: not asked), the
    few-shot base model, and, for a model-based metric, the autorater's agreement with people.
    A pairwise metric's `tuned` is the tuned model's win rate; it has no baseline figure."""

    tuned: float
    baseline: float | None = None
    few_shot: float | None = None
    agreement: Agreement | None = None

    @property
    def gain(self) -> float | None:
        return None if self.baseline is None else self.tuned - self.baseline

    def stronger_baseline(self) -> tuple[str, float] | None:
        """(`zero-shot` | `few-shot`, its score): the baseline a gain must be measured against
        (a prompt that does as well as tuning makes tuning not worth it); None: none asked."""
        asked = [(label, value) for label, value in (("zero-shot", self.baseline),
                                                     ("few-shot", self.few_shot))
                 if value is not None]
        return max(asked, key=lambda pair: pair[1]) if asked else None

    def to_dict(self) -> dict[str, float | None]:
        gain = self.gain
        shown: dict[str, float | None] = {
            "tuned": round(self.tuned, 6),
            "baseline": None if self.baseline is None else round(self.baseline, 6),
            "gain": None if gain is None else round(gain, 6)}
        if self.few_shot is not None:
            shown["fewShot"] = round(self.few_shot, 6)
            shown["fewShotGain"] = round(self.tuned - self.few_shot, 6)
        if self.agreement is not None:
            shown["kappa"] = round(self.agreement.kappa, 6)
            shown["withinOne"] = round(self.agreement.within_one, 6)
            shown["rated"] = self.agreement.examples
        return shown


def score(
    metrics: Sequence[str],
    references: Sequence[str],
    tuned: Sequence[str],
    baseline: Sequence[str] | None = None,
    few_shot: Sequence[str] | None = None,
) -> dict[str, MetricScore]:
    """Every metric for the tuned answers and, when given, the base model's answers (zero-shot
    and few-shot)."""
    result = {}
    for name in metrics:
        scorer = SCORERS.get(name)
        if scorer is None:
            raise ValueError(unknown_metric(name))
        result[name] = MetricScore(
            tuned=scorer(references, tuned),
            baseline=None if baseline is None else scorer(references, baseline),
            few_shot=None if few_shot is None else scorer(references, few_shot),
        )
    return result


def apply_gate(
    require: Mapping[str, MetricBar], metrics: Mapping[str, MetricScore]
) -> tuple[bool, list[str]]:
    """(passed, reasons): each reason names the metric and the numbers; a failed gate lists
    only what failed, a passed one what it cleared. No bar at all passes. A model-based
    metric whose autorater does not agree with people well enough (`minAgreement`) is not
    trusted: it fails, and its other bars are not read."""
    passed: list[str] = []
    failed: list[str] = []
    for name, bar in require.items():
        measured = metrics.get(name)
        if measured is None:
            failed.append(f"{name} was not measured")
            continue
        distrust = _distrust(name, bar, measured)
        if distrust is not None:
            failed.append(distrust)
            continue
        for ok, reason in _bar_checks(name, bar, measured):
            (passed if ok else failed).append(reason)
    return (False, failed) if failed else (True, passed)


def _distrust(name: str, bar: MetricBar, measured: MetricScore) -> str | None:
    """Why the autorater of `name` may not gate, or None (trusted, or no `minAgreement`)."""
    if bar.min_agreement is None:
        return None
    agreement = measured.agreement
    if agreement is None or agreement.examples == 0:
        return f"{name}: autorater not trusted: no human-rated example was judged"
    if agreement.kappa + TOLERANCE >= bar.min_agreement:
        return None
    return (f"{name}: autorater not trusted: kappa {agreement.kappa:.2f} <"
            f" {bar.min_agreement:.2f} on {agreement.examples} human-rated examples")


def _bar_checks(name: str, bar: MetricBar,
                measured: MetricScore) -> list[tuple[bool, str]]:
    """Each bar of `bar` against `measured`: (cleared, the reason in numbers)."""
    checks: list[tuple[bool, str]] = []
    if bar.min is not None:
        ok = measured.tuned + TOLERANCE >= bar.min
        checks.append((ok, f"{name} {measured.tuned:.3f} {'≥' if ok else '<'} min {bar.min:.3f}"))
    if bar.min_win_rate is not None:
        ok = measured.tuned + TOLERANCE >= bar.min_win_rate
        checks.append((ok, f"{name} win rate {measured.tuned:.3f} {'≥' if ok else '<'}"
                           f" minWinRate {bar.min_win_rate:.3f}"))
    if bar.min_gain_over_baseline is not None:
        against = measured.stronger_baseline()
        if against is None:
            checks.append((False, f"{name}: no baseline to compare with (minGainOverBaseline"
                                  f" {bar.min_gain_over_baseline:.3f})"))
            return checks
        label, value = against
        which = ("baseline" if measured.few_shot is None or measured.baseline is None
                 else f"{label} baseline, the stronger,")
        gain = measured.tuned - value
        ok = gain + TOLERANCE >= bar.min_gain_over_baseline
        checks.append((ok, f"{name} gain {gain:+.3f} ({measured.tuned:.3f} vs {which}"
                           f" {value:.3f}) {'≥' if ok else '<'}"
                           f" minGainOverBaseline {bar.min_gain_over_baseline:.3f}"))
    return checks


def _same_length(references: Sequence[str], answers: Sequence[str]) -> None:
    if len(references) != len(answers):
        raise ValueError(f"{len(answers)} answers for {len(references)} references")
