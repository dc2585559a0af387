"""Judging a succeeded job: the endpoint smoke test and the evaluation against the base model.

The executors of the `SmokeTest` and `Evaluate` actions call these; they connect the prediction
adapter (which asks), the answers journal (which remembers what was paid for) and the pure
scoring (which judges). `run_evaluation` asks every example of the tuned model and, with
`baseline`, of the base model (zero-shot, and few-shot with N solved examples as prior turns),
with bounded concurrency; every answer is journaled before it counts, so a run killed at any
point resumes without asking a journaled example again, and an example whose turns are
unchanged keeps its answers when the set changes. Once every answer is in, the model-based
metrics are judged (`judging.py`, journaled the same way).
At most `E × (1 + zero-shot + few-shot)` generateContent calls and
`E × (pointwise metrics × models asked + pairwise metrics)` evaluateInstances calls per
evaluation (E examples), fewer when answers or judgements are journaled; `max_calls` caps a
run (the verdict is then `pending` and the next run goes on). An
outage (a temporary error) halts the run at once and raises `EndpointUnavailable` with the
pending result: the caller backs off across passes, and an outage never decides a verdict.
Nothing here decides *when* to evaluate.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Protocol, cast

import orjson
import structlog

from tuning_operator.datasets.evalset import EvaluationExample, EvaluationSet
from tuning_operator.errors import (
    ArtifactsUnavailable,
    NotFound,
    OperatorError,
    TemporaryError,
)
from tuning_operator.judging.judges import (
    Role,
    Shot,
    few_shot_note,
    model_based_scores,
    roles_asked,
    with_shots,
    worst_judged,
)
from tuning_operator.judging.scoring import MetricScore, apply_gate, score
from tuning_operator.judging.usage import usage_of
from tuning_operator.reconciling.judging import JUDGE_PREFIX, Case, Judge, Judging, judge_answers
from tuning_operator.specs.evaluation import EvaluationSpec, GenerationConfig
from tuning_operator.specs.ratings import HumanRating
from tuning_operator.state.answers import Answers
from tuning_operator.state.records import (
    Evaluation,
    ExampleFailure,
    JudgedExample,
    MetricFigures,
    SmokeTestResult,
)

MAX_FAILURE_SHARE = 0.1  # more unanswered examples than this: the verdict is `error`
MAX_LISTED_FAILURES = 10
MAX_EXPLANATION = 500  # characters of the autorater's explanation kept per worst example
DEFAULT_SMOKE_PROMPT = "Reply with OK."
_log = structlog.get_logger("tuning_operator.evaluation")


class Predict(Protocol):
    """`VertexPrediction.generate`: the answer of `model` to `contents`, one attempt."""

    def __call__(self, model: str, contents: Sequence[Mapping[str, Any]],
                 generation_config: GenerationConfig, *,
                 system_instruction: Mapping[str, Any] | None = None) -> str: ...


def run_smoke_test(
    *,
    endpoint: str,
    predict: Predict,
    generation_config: GenerationConfig,
    examples: EvaluationSet | None = None,
    prompt: str | None = None,
) -> SmokeTestResult:
    """One generateContent to `endpoint`: the first example, else `prompt`.

    Healthy, or unhealthy with the error; retrying later (with backoff) is the caller's
    decision, and so is the time of the answer (`at`).
    """
    if examples is not None and examples.examples:
        first = examples.examples[0]
        contents, system = first.contents, first.system_instruction
    else:
        contents = ({"role": "user", "parts": [{"text": prompt or DEFAULT_SMOKE_PROMPT}]},)
        system = None
    try:
        answer = predict(endpoint, contents, generation_config, system_instruction=system)
    except OperatorError as error:
        return SmokeTestResult(endpoint="unhealthy", error=str(error))
    return SmokeTestResult(endpoint="healthy", usage=usage_of([answer]))


def answers_digest(generation_config: GenerationConfig) -> str:
    """What every journaled answer of a run shares: the generation config it was asked with."""
    document = generation_config.model_dump(mode="json", by_alias=True)
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def example_digest(example: EvaluationExample) -> str:
    """What makes an answer reusable for an example: the turns asked and the system
    instruction (not its place in the set, not its reference); computed once per example."""
    return example.digest


class _Asking:
    """The shared state of one run's workers: answers, failures, the call count, the halt."""

    def __init__(self, *, predict: Predict, journal: Answers, digest: str,
                 config: GenerationConfig, max_calls: int | None,
                 stop: threading.Event | None,
                 routes: Mapping[str, tuple[str, Sequence[Shot]]] | None = None) -> None:
        self.predict, self.journal, self.digest, self.config = predict, journal, digest, config
        self.routes = routes or {}  # a few-shot key → (the base model, the shots it is shown)
        self.max_calls, self.stop = max_calls, stop
        self.lock = threading.Lock()
        self.calls = 0
        self.answers: dict[tuple[str, int], str] = {}
        self.asked: list[str] = []  # the answers received (and journaled) by this run
        self.failures: dict[int, str] = {}
        self.unasked = 0
        self.abort: str | None = None  # the model itself is unreachable: stop asking
        self.outage: TemporaryError | None = None  # the endpoint is down: resume later

    def _may_call(self) -> bool:
        with self.lock:
            if (self.abort is not None or self.outage is not None
                    or (self.stop is not None and self.stop.is_set())):
                return False
            if self.max_calls is not None and self.calls >= self.max_calls:
                return False
            self.calls += 1
            return True

    def ask_all(self, todo: Iterator[tuple[str, EvaluationExample]]) -> None:
        """One asker: takes the next question until none is left (no future per question:
        20,000 of them cost the machine a second an evaluation)."""
        while True:
            with self.lock:
                item = next(todo, None)
            if item is None:
                return
            self.ask(*item)

    def ask(self, model: str, example: EvaluationExample) -> None:
        """Ask once. An outage (a temporary error) halts the run instead of sleeping in it:
        the pass goes on, and the caller backs off across passes; only an answer the model
        cannot give (a permanent error) counts against the example."""
        if not self._may_call():
            with self.lock:
                self.unasked += 1
            return
        target, shots = self.routes.get(model, (model, ()))
        try:
            answer = self.predict(target, with_shots(shots, example.contents), self.config,
                                  system_instruction=example.system_instruction)
        except TemporaryError as exc:
            with self.lock:
                self.outage = self.outage or exc
                self.unasked += 1
            return
        except NotFound as exc:
            with self.lock:
                self.abort = self.abort or str(exc)
            return
        except OperatorError as exc:
            with self.lock:
                self.failures.setdefault(example.index, str(exc))
            return
        try:
            self.journal.append(digest=self.digest, model=model, example=example_digest(example),
                                index=example.index, answer=answer)
        except ArtifactsUnavailable as exc:  # not kept, so not counted: asked again later
            with self.lock:
                self.outage = self.outage or exc
                self.unasked += 1
            return
        with self.lock:
            self.answers[(model, example.index)] = answer
            self.asked.append(answer)


class EndpointLimit:
    """A `Predict` with at most `limit` requests in flight per endpoint, across every run
    that asks it (two jobs evaluated against one base model share its limit)."""

    def __init__(self, predict: Predict, limit: int) -> None:
        self.predict, self.limit = predict, limit
        self._lock = threading.Lock()
        self._slots: dict[str, threading.Semaphore] = {}

    def __call__(self, model: str, contents: Sequence[Mapping[str, Any]],
                 generation_config: GenerationConfig, *,
                 system_instruction: Mapping[str, Any] | None = None) -> str:
        with self._lock:
            slots = self._slots.setdefault(model, threading.Semaphore(self.limit))
        with slots:
            return self.predict(model, contents, generation_config,
                                system_instruction=system_instruction)


class EndpointUnavailable(TemporaryError):
    """The evaluation paused on an outage; `evaluation` is where it stands (pending)."""

    def __init__(self, evaluation: Evaluation, cause: TemporaryError) -> None:
        super().__init__(f"the endpoint is unavailable ({cause})", retry_after=cause.retry_after)
        self.evaluation = evaluation


def run_evaluation(
    *,
    job_name: str,
    spec: EvaluationSpec,
    examples: EvaluationSet,
    tuned_model: str,
    base_model: str | None,
    predict: Predict,
    journal: Answers,
    generation_config: GenerationConfig | None = None,
    checkpoint: str | None = None,
    concurrency: int = 4,
    max_calls: int | None = None,
    stop: threading.Event | None = None,
    shots: Sequence[Shot] = (),
    judge: Judge | None = None,
    ratings: Sequence[HumanRating] = (),
) -> Evaluation:
    """Ask, journal, judge, score and gate: the job's evaluation (passed, failed, error or
    pending), its metrics (tuned, baselines, gain, the autorater's agreement with `ratings`),
    the checkpoint asked and the examples not answered. `shots`: the few-shot baseline's.
    """
    config = generation_config or spec.generation_config
    chosen = examples.examples[: spec.max_examples]
    roles = roles_asked(spec, tuned_model, base_model, shots)
    routes = {key: (base_model, tuple(shots)) for role, key in roles.items()
              if role == "few-shot" and base_model}
    models = list(roles.values())
    digest = answers_digest(config)
    asking = _Asking(predict=predict, journal=journal, digest=digest, config=config,
                     max_calls=max_calls, stop=stop, routes=routes)
    try:
        journaled = journal.load(digest)  # by example digest: a rewritten set keeps what it can
    except ArtifactsUnavailable as exc:
        raise EndpointUnavailable(Evaluation(verdict="pending", reason=(
            f"the answers cannot be read ({exc})"), checkpoint=checkpoint), exc) from exc
    asking.answers.update({(m, e.index): journaled[(m, d)] for e in chosen
                           for d in (example_digest(e),) for m in models if (m, d) in journaled})
    todo = [(m, e) for e in chosen for m in models if (m, e.index) not in asking.answers]
    _log.info("evaluation.start", job=job_name, examples=len(chosen), models=len(models),
              journaled=len(chosen) * len(models) - len(todo), to_ask=len(todo))
    if todo:  # `concurrency` requests in flight per model asked
        workers, pending = max(1, concurrency) * len(models), iter(todo)  # one queue, shared
        with ThreadPoolExecutor(workers, thread_name_prefix=f"evaluate-{job_name}") as pool:
            for future in [pool.submit(asking.ask_all, pending) for _ in range(workers)]:
                future.result()
    judging: Judging | None = None if judge is None and spec.model_based else Judging()
    if judge is not None and spec.model_based and _all_answered(chosen, models, asking):
        judging = judge_answers(
            metrics=spec.model_based, cases=_cases(chosen, roles, asking), roles=list(roles),
            judge=judge, journal=journal, journaled=journaled, digest=digest, stop=stop,
            max_calls=None if max_calls is None else max(0, max_calls - asking.calls))
    result = _verdict(spec, chosen, roles=roles, asking=asking, checkpoint=checkpoint,
                      judging=judging, ratings=ratings)
    _log.info("evaluation.done", job=job_name, verdict=result.verdict, calls=asking.calls,
              judgements=judging.calls if judging else 0, reason=result.reason)
    # Billed: every answer the journal holds for this config (those of the other checkpoints,
    # of the baselines, of examples since rewritten) and those this run received.
    answers = [a for (model, _), a in journaled.items() if not model.startswith(JUDGE_PREFIX)]
    result = replace(result, usage=usage_of([*answers, *asking.asked]))
    outage = asking.outage or (judging.outage if judging else None)
    if outage is not None and not result.final:
        paused = replace(result, reason=f"the endpoint is unavailable ({outage}); "
                         + result.reason)
        raise EndpointUnavailable(paused, outage)
    return result


def _all_answered(chosen: Sequence[EvaluationExample], models: Sequence[str],
                  asking: _Asking) -> bool:
    return not asking.unasked and all(
        (m, e.index) in asking.answers for e in chosen for m in models
        if e.index not in asking.failures)


def _cases(chosen: Sequence[EvaluationExample], roles: Mapping[Role, str],
           asking: _Asking) -> list[Case]:
    return [Case(index=e.index, digest=example_digest(e), prompt=e.prompt,
                 reference=e.reference,
                 answers={role: asking.answers[(model, e.index)] for role, model in roles.items()})
            for e in chosen if e.index not in asking.failures]


def verdict_examples(spec: EvaluationSpec, examples: EvaluationSet) -> dict[int, str]:
    """The examples a verdict covers, index → example digest (what its answers are keyed by)."""
    return {e.index: example_digest(e) for e in examples.examples[: spec.max_examples]}


def _verdict(spec: EvaluationSpec, chosen: Sequence[EvaluationExample], *,
             roles: Mapping[Role, str], asking: _Asking, checkpoint: str | None,
             judging: Judging | None, ratings: Sequence[HumanRating]) -> Evaluation:
    """The verdict on what was asked; `judging` None: no autorater client to judge with."""
    models = list(roles.values())
    failures = tuple(ExampleFailure(example=i, error=e) for i, e in sorted(asking.failures.items()))
    error = Evaluation(verdict="error", reason="", checkpoint=checkpoint,
                       failures=failures[:MAX_LISTED_FAILURES],
                       few_shot=spec.baselines.few_shot if "few-shot" in roles else 0)
    if asking.abort is not None:
        return replace(error, reason=f"the model cannot be asked: {asking.abort}")
    if not chosen:
        return replace(error, reason="the evaluation set has no examples")
    answered = [e for e in chosen if all((m, e.index) in asking.answers for m in models)]
    missing = len(chosen) - len(answered) - len(asking.failures)
    if asking.unasked or missing > 0:
        return replace(error, verdict="pending", reason=(
            f"{len(answered)} of {len(chosen)} examples answered; the rest are"
            " asked on the next run (journaled answers are kept)"))
    if len(asking.failures) > MAX_FAILURE_SHARE * len(chosen) or not answered:
        first = failures[0]
        return replace(error, reason=(
            f"{len(asking.failures)} of {len(chosen)} examples could not be"
            f" answered (first: example {first.example}: {first.error})"))
    if judging is None:
        return replace(error, reason="the model-based metrics need an autorater: the operator"
                       " has no EvaluationService client")
    if judging.unasked:
        return replace(error, verdict="pending", reason=(
            f"every answer is in; {judging.unasked} judgements of the model-based metrics are"
            " asked on the next run (journaled judgements are kept)"))
    unjudged_examples = {index for _, index in judging.failures}
    if len(unjudged_examples) > MAX_FAILURE_SHARE * len(answered):
        (metric, index), why = next(iter(sorted(judging.failures.items())))
        return replace(error, reason=(
            f"the autorater could not judge {len(unjudged_examples)} of {len(answered)}"
            f" examples (first: {metric} on example {index}: {why})"))
    metrics = _scores(spec, answered, roles=roles, asking=asking, judging=judging,
                      ratings=ratings)
    worst = tuple(JudgedExample(metric=m.name, example=index, score=j.score or 0.0,
                                explanation=j.explanation[:MAX_EXPLANATION])
                  for m in spec.model_based if m.kind == "pointwise"
                  for index, j in worst_judged(m.name, judging.judged,
                                               examples=[e.index for e in answered]))
    passed, reasons = apply_gate(spec.require, metrics)
    skipped = (f" ({len(asking.failures)} unanswered examples left out)"
               if asking.failures else "")
    unjudged = (f" ({len(judging.failures)} judgements the autorater could not give left out)"
                if judging.failures else "")
    return replace(
        error,
        verdict="passed" if passed else "failed",
        examples=len(answered),
        metrics={name: _figures(value) for name, value in metrics.items()},
        worst=worst,
        reason=("; ".join(reasons) if reasons else "no bar in `require`: metrics only")
        + few_shot_note(metrics) + skipped + unjudged,
    )


def _scores(spec: EvaluationSpec, answered: Sequence[EvaluationExample], *,
            roles: Mapping[Role, str], asking: _Asking, judging: Judging,
            ratings: Sequence[HumanRating]) -> dict[str, MetricScore]:
    """The string metrics of every model asked, then the model-based ones over the examples
    every judgement covers."""
    def answers(role: Role) -> list[str] | None:
        model = roles.get(role)
        return None if model is None else [asking.answers[(model, e.index)] for e in answered]

    tuned = answers("tuned")
    assert tuned is not None
    metrics = score(spec.metrics, [e.reference for e in answered], tuned,
                    answers("zero-shot"), answers("few-shot"))
    judged_examples = [e.index for e in answered
                       if all((m.name, e.index) not in judging.failures for m in spec.model_based)]
    metrics.update(model_based_scores(spec.model_based, judging.judged,
                                      examples=judged_examples, roles=list(roles),
                                      ratings=ratings))
    return metrics


def _figures(score: MetricScore) -> MetricFigures:
    """A metric as recorded: rounded as shown, so a restart reads back the same figures."""
    shown = score.to_dict()
    rated = shown.get("rated")
    return MetricFigures(tuned=cast(float, shown["tuned"]), baseline=shown["baseline"],
                         gain=shown["gain"], few_shot=shown.get("fewShot"),
                         kappa=shown.get("kappa"), within_one=shown.get("withinOne"),
                         rated=None if rated is None else int(rated))
