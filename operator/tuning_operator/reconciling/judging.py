"""Asking the autorater: the model-based metrics of one evaluation, journaled like its answers.

`run_evaluation` calls `judge_answers` once every model has answered every example. Each
judgement (one metric, one answer, or one tuned/baseline pair) is an EvaluateInstances call
the project pays for, so it is appended to the job's answers journal (the same `Answers`
store, under keys of its own) as soon as it arrives, and a judgement found there is never
asked again: a run killed mid-judging resumes where it stopped. A judgement's key holds a digest
of the rubric and of the answers judged, so a changed rubric or a changed answer is judged
anew. At most `CONCURRENCY` judgements are in flight per job. An outage (a temporary error)
stops the judging and is returned for the caller to pause on; a judgement the autorater cannot
give (a permanent error) is left out and named. Nothing here scores or gates.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tuning_operator.errors import OperatorError, TemporaryError
from tuning_operator.judging.judges import Judgement, Role
from tuning_operator.specs.judges import ModelBasedMetric
from tuning_operator.state.answers import AnswerKey, Answers

CONCURRENCY = 8  # judgements in flight per job
JUDGE_PREFIX = "judge:"

Judge = Callable[[ModelBasedMetric, Mapping[str, str]], Judgement]  # one attempt


@dataclass(frozen=True)
class Case:
    """One example as the autorater sees it: the question, the reference, the answers."""

    index: int
    digest: str  # the example digest its answers are keyed by
    prompt: str
    reference: str
    answers: Mapping[Role, str]


@dataclass
class Judging:
    """The outcome of one judging run: what is judged, what could not be, an outage."""

    judged: dict[tuple[str, Role, int], Judgement] = field(default_factory=dict)
    failures: dict[tuple[str, int], str] = field(default_factory=dict)
    unasked: int = 0
    calls: int = 0
    outage: TemporaryError | None = None


def judge_answers(*, metrics: Sequence[ModelBasedMetric], cases: Sequence[Case],
                  roles: Sequence[Role], judge: Judge, journal: Answers,
                  journaled: Mapping[AnswerKey, str], digest: str,
                  max_calls: int | None = None,
                  stop: threading.Event | None = None) -> Judging:
    """Every judgement the metrics need over `cases`, from the journal or the autorater."""
    result = Judging()
    todo: list[tuple[ModelBasedMetric, Role, Case, str]] = []
    for metric in metrics:
        for case in cases:
            for role in _judged_roles(metric, roles):
                key = (JUDGE_PREFIX + metric.name, _judgement_key(metric, role, case))
                kept = journaled.get(key)
                known = Judgement.from_json(kept) if kept is not None else None
                if known is not None:
                    result.judged[(metric.name, role, case.index)] = known
                else:
                    todo.append((metric, role, case, key[1]))
    if not todo:
        return result
    lock = threading.Lock()

    def ask(metric: ModelBasedMetric, role: Role, case: Case, key: str) -> None:
        with lock:
            halted = result.outage is not None or (stop is not None and stop.is_set())
            if halted or (max_calls is not None and result.calls >= max_calls):
                result.unasked += 1
                return
            result.calls += 1
        try:
            judgement = judge(metric, _instance(metric, role, case))
            journal.append(digest=digest, model=JUDGE_PREFIX + metric.name, example=key,
                           index=case.index, answer=judgement.to_json())
        except TemporaryError as exc:  # ArtifactsUnavailable too: not kept, asked again
            with lock:
                result.outage = result.outage or exc
                result.unasked += 1
            return
        except OperatorError as exc:
            with lock:
                result.failures[(metric.name, case.index)] = str(exc)
            return
        with lock:
            result.judged[(metric.name, role, case.index)] = judgement

    with ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="judge") as pool:
        for future in [pool.submit(ask, *item) for item in todo]:
            future.result()
    return result


def _judged_roles(metric: ModelBasedMetric, roles: Sequence[Role]) -> Sequence[Role]:
    """Pointwise: every model's answers; pairwise: one choice per example (tuned vs the
    zero-shot baseline, else the few-shot one), kept under the role `tuned`."""
    return roles if metric.kind == "pointwise" else ("tuned",)


def pairwise_baseline(roles: Sequence[Role]) -> Role | None:
    """The baseline a pairwise metric compares the tuned model with."""
    return next((r for r in ("zero-shot", "few-shot") if r in roles), None)


def _instance(metric: ModelBasedMetric, role: Role, case: Case) -> dict[str, str]:
    if metric.kind == "pairwise":
        baseline = pairwise_baseline(list(case.answers))
        return {"prompt": case.prompt, "response": case.answers["tuned"],
                "baseline_response": case.answers[baseline] if baseline else "",
                "reference": case.reference}
    return {"prompt": case.prompt, "response": case.answers[role], "reference": case.reference}


def _judgement_key(metric: ModelBasedMetric, role: Role, case: Case) -> str:
    """The example digest, the role, and a digest of what the autorater is shown."""
    shown = repr((metric.kind, metric.rubric, sorted(_instance(metric, role, case).items())))
    return f"{case.digest}:{role}:{hashlib.sha256(shown.encode()).hexdigest()[:16]}"
