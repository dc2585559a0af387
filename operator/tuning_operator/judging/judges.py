"""Model-based metrics and the few-shot baseline, as functions of data.

- `choose_shots`: the N training examples a few-shot baseline is shown, the same ones every
  run (ranked by a digest of their content, not by file order, so the first lines of a sorted
  file do not all come from one class), never one whose question is in the evaluation set.
- `with_shots`: an example's turns with the shots before it, as prior user/model turns.
- `Judgement`: what the autorater said of one answer (a 1-5 score, or a pairwise choice) and
  why; its JSON form is what the journal keeps, so a judgement paid for is never asked again.
- `roles_asked`: who an evaluation asks (tuned, zero-shot, few-shot), by the journal's key.
- `model_based_scores`: per metric, the mean score (tuned, zero-shot, few-shot) or the tuned
  model's win rate, and the autorater's agreement with the people who rated the same answers.
- `few_shot_note`: the metrics on which a prompt with examples does as well as tuning.
Nothing here asks a model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from tuning_operator.judging.agreement import agreement
from tuning_operator.judging.scoring import MetricScore
from tuning_operator.specs.evaluation import EvaluationSpec
from tuning_operator.specs.judges import ModelBasedMetric
from tuning_operator.specs.ratings import HumanRating

Turn = Mapping[str, Any]
Choice = Literal["CANDIDATE", "BASELINE", "TIE"]
Role = Literal["tuned", "zero-shot", "few-shot"]  # whose answer a pointwise judgement scores


@dataclass(frozen=True)
class Shot:
    """One solved example shown to the base model before the question."""

    contents: tuple[Turn, ...]  # the asked turns, ending with a user turn
    reference: str  # the model turn that answers them


def choose_shots(candidates: Sequence[Shot], n: int, *,
                 exclude_prompts: frozenset[str] = frozenset()) -> tuple[Shot, ...]:
    """The `n` shots with the smallest content digests, none asking an evaluated prompt."""
    usable = [s for s in candidates if _last_text(s.contents) not in exclude_prompts]
    return tuple(sorted(usable, key=_shot_digest)[:n])


def with_shots(shots: Sequence[Shot], contents: Sequence[Turn]) -> tuple[Turn, ...]:
    """The shots as prior turns (their user turns, then the reference as a model turn)."""
    turns: list[Turn] = []
    for shot in shots:
        turns.extend(shot.contents)
        turns.append({"role": "model", "parts": [{"text": shot.reference}]})
    return (*turns, *contents)


def shots_digest(shots: Sequence[Shot]) -> str:
    """What a few-shot answer depends on besides its example: which shots it was shown."""
    return hashlib.sha256(b"".join(_shot_digest(s).encode() for s in shots)).hexdigest()[:12]


@dataclass(frozen=True)
class Judgement:
    """The autorater on one answer: a score (pointwise) or a choice (pairwise), and why."""

    score: float | None = None
    choice: Choice | None = None
    explanation: str = ""

    def to_json(self) -> str:
        return orjson.dumps({"score": self.score, "choice": self.choice,
                             "explanation": self.explanation}).decode()

    @classmethod
    def from_json(cls, text: str) -> Judgement | None:
        """A journaled judgement, or None when the line is not one (asked again)."""
        try:
            document = orjson.loads(text)
            score, choice = document.get("score"), document.get("choice")
            return cls(score=None if score is None else float(score),
                       choice=choice if choice in ("CANDIDATE", "BASELINE", "TIE") else None,
                       explanation=str(document.get("explanation") or ""))
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
            return None


# (metric name, role, example index) → the judgement; pairwise judgements use role "tuned"
Judged = Mapping[tuple[str, Role, int], Judgement]


def model_based_scores(metrics: Sequence[ModelBasedMetric], judged: Judged, *,
                       examples: Sequence[int], roles: Sequence[Role],
                       ratings: Sequence[HumanRating] = ()) -> dict[str, MetricScore]:
    """Each metric over `examples` (those every model answered): means, win rate, agreement."""
    result: dict[str, MetricScore] = {}
    for metric in metrics:
        if metric.kind == "pairwise":
            result[metric.name] = MetricScore(tuned=win_rate(
                [judged[(metric.name, "tuned", i)].choice for i in examples]))
            continue
        means = {role: _mean([judged[(metric.name, role, i)].score for i in examples])
                 for role in roles}
        rated = [r for r in ratings if r.metric == metric.name
                 and (metric.name, "tuned", r.example) in judged]
        calibration = agreement([r.score for r in rated],
                                [judged[(metric.name, "tuned", r.example)].score or 0
                                 for r in rated]) if rated else None
        result[metric.name] = MetricScore(tuned=means["tuned"], baseline=means.get("zero-shot"),
                                          few_shot=means.get("few-shot"), agreement=calibration)
    return result


def few_shot_key(base_model: str, shots: Sequence[Shot]) -> str:
    """How the few-shot baseline's answers are journaled: the base model and its shots."""
    return f"{base_model}#{len(shots)}-shot:{shots_digest(shots)}"


def roles_asked(spec: EvaluationSpec, tuned_model: str, base_model: str | None,
                shots: Sequence[Shot]) -> dict[Role, str]:
    """Who is asked, by role → the journal's model key; the tuned model first."""
    baselines = spec.baselines
    roles: dict[Role, str] = {"tuned": tuned_model}
    if base_model and baselines.zero_shot:
        roles["zero-shot"] = base_model
    if base_model and baselines.few_shot and shots:
        roles["few-shot"] = few_shot_key(base_model, shots)
    return roles


def few_shot_note(metrics: Mapping[str, MetricScore]) -> str:
    """Seed 004's question, answered where it bites: the metrics a prompt does as well on."""
    behind = [name for name, m in metrics.items()
              if m.few_shot is not None and m.tuned <= m.few_shot]
    if not behind:
        return ""
    return f"; the tuned model does not beat the few-shot baseline on {', '.join(behind)}"


def win_rate(choices: Sequence[Choice | None]) -> float:
    """The candidate's share of the choices, a tie counting half."""
    if not choices:
        return 0.0
    return sum(1.0 if c == "CANDIDATE" else 0.5 if c == "TIE" else 0.0
               for c in choices) / len(choices)


def worst_judged(metric: str, judged: Judged, *, examples: Sequence[int],
                 count: int = 3) -> list[tuple[int, Judgement]]:
    """The tuned model's `count` lowest-scored examples on a pointwise metric (ties: first)."""
    scored = [(i, judged[(metric, "tuned", i)]) for i in examples
              if (metric, "tuned", i) in judged]
    return sorted(scored, key=lambda pair: (pair[1].score or 0.0, pair[0]))[:count]


def _mean(values: Sequence[float | None]) -> float:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else 0.0


def _shot_digest(shot: Shot) -> str:
    document = {"contents": list(shot.contents), "reference": shot.reference}
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _last_text(contents: Sequence[Turn]) -> str:
    parts = contents[-1].get("parts") if contents else None
    if not isinstance(parts, list):
        return ""
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict))
