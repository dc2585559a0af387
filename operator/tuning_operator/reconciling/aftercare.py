"""The executors of the post-success steps: read the curves, smoke-test, evaluate.

Each is called by the reconciler for an action the planner decided (`planning/aftercare.py`),
asks one adapter (metrics or prediction), records the result in the job's record and, when a
verdict changes, a `diagnosed.v1` / `evaluated.v1` event and an audit line. Results the
operator paid for survive a crash: the curves are written to `metrics/<job>.json`, every
evaluation answer to the job's answer journal, so a restart never asks twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import orjson
import structlog

from tuning_operator.datasets.evalset import EvaluationSetCache
from tuning_operator.errors import ArtifactsUnavailable, OperatorError, TemporaryError
from tuning_operator.judging import Curves, Diagnosis, diagnose
from tuning_operator.judging.asking import (
    CheckpointUnavailable,
    best_fallback,
    diagnosed_best,
    effective_generation_config,
    publisher_model,
    resolve_checkpoint,
    trusted_best,
)
from tuning_operator.judging.judges import Judgement, Shot, choose_shots
from tuning_operator.planning.aftercare import evaluation_key
from tuning_operator.planning.model import ObservedJob
from tuning_operator.planning.planner import Action
from tuning_operator.reconciling.backoff import Done, Outcome, Requeue, Throttler
from tuning_operator.reconciling.checkpoints import evaluate_checkpoints
from tuning_operator.reconciling.evaluation import (
    EndpointLimit,
    EndpointUnavailable,
    Predict,
    run_evaluation,
    run_smoke_test,
    verdict_examples,
)
from tuning_operator.specs import LoadedJob
from tuning_operator.specs.catalog import Catalog, default_catalog
from tuning_operator.specs.evaluation import GenerationConfig
from tuning_operator.specs.judges import ModelBasedMetric
from tuning_operator.state.answers import AnswerJournal, Answers
from tuning_operator.state.records import Evaluation, SmokeTestResult
from tuning_operator.state.store import JobRecord, write_atomically

EVALUATION_CALLS_PER_PASS = 50  # inline (no workers): a pass stays short; the next one goes on
EVALUATION_BATCH = 500  # in a worker: progress is posted and the lease asked between batches
EVALUATION_CONCURRENCY = 8  # requests in flight per endpoint, across every evaluation
METRICS_DIR = "metrics"
SHOT_POOL = 1000  # the first examples of the training set the few-shot baseline picks from


class RegionalJudge(Protocol):
    """`vertex.evaluation.VertexEvaluation.judge`: one judgement by the autorater."""

    def __call__(self, region: str, metric: ModelBasedMetric,
                 instance: Mapping[str, str]) -> Judgement: ...


class MetricsReader(Protocol):
    """`vertex.metrics.VertexMetrics`: a job's curves from its Experiment."""

    def read_curves(self, experiment: str) -> Curves: ...


class Aftercare:
    """The three post-success executors, with the adapters and the state they need."""

    def __init__(self, *, throttler: Throttler,
                 clock: Callable[[], float], state_dir: Path | None = None,
                 metrics: MetricsReader | None = None, predict: Predict | None = None,
                 project: str = "local-project", catalog: Catalog | None = None,
                 stop: threading.Event | None = None,
                 answers: Callable[[str], Answers] | None = None,
                 leading: Callable[[], bool] | None = None,
                 concurrency: int = EVALUATION_CONCURRENCY,
                 judge: RegionalJudge | None = None) -> None:
        self.throttler = throttler
        self.clock = clock
        self.state_dir = state_dir
        self.metrics = metrics
        self.predict = EndpointLimit(predict, concurrency) if predict is not None else None
        self.project = project
        self.catalog = catalog or default_catalog()
        self.stop = stop
        # A job's paid-for answers: the local journal, or the shared artifacts (`--artifacts`).
        self.answers = answers or (
            lambda job: AnswerJournal.for_job(self.state_dir or Path("."), job))
        self.leading = leading or (lambda: True)
        self._sets = EvaluationSetCache()  # the evaluation sets last read, by version
        self.concurrency = concurrency
        self.judge = judge  # the autorater of the model-based metrics
        self.log = structlog.get_logger("tuning_operator.aftercare")

    def read_metrics(self, action: Action, record: JobRecord, observed: ObservedJob) -> Outcome:
        experiment = observed.experiment
        if self.metrics is None or experiment is None:
            return self._give_up_metrics(record, observed, "no metrics reader is configured")
        try:
            curves = self.metrics.read_curves(experiment)
        except TemporaryError as exc:
            wait = self.throttler.failed(f"metrics:{record.name}", now=self.clock(),
                                         at_least=exc.retry_after)
            self.log.warning("metrics_read_failed", job=record.name, error=str(exc))
            return Requeue(after=wait, reason=str(exc))
        except OperatorError as exc:
            return self._give_up_metrics(record, observed, f"the curves cannot be read: {exc}")
        self.throttler.succeeded(f"metrics:{record.name}")
        self._keep_curves(record.name, experiment, curves, observed)
        record.metrics_read_at = self.clock()
        record.metrics_final = not observed.active
        self._tell_diagnosis(record, diagnose(curves, observed.checkpoints))
        return Done()

    def _give_up_metrics(self, record: JobRecord, observed: ObservedJob, why: str) -> Outcome:
        record.metrics_read_at = self.clock()
        record.metrics_final = not observed.active
        self._tell_diagnosis(record, Diagnosis(verdict="inconclusive", reason=why, mitigation=""))
        return Done()

    def _tell_diagnosis(self, record: JobRecord, diagnosis: Diagnosis) -> None:
        record.diagnosis = diagnosis  # a new verdict is told by the pass's notify

    def _keep_curves(self, job: str, experiment: str, curves: Curves,
                     observed: ObservedJob) -> None:
        if self.state_dir is None:
            return
        document = {"experiment": experiment, "series": curves.to_dict(),
                    "checkpoints": [c.to_dict() for c in observed.checkpoints]}
        write_atomically(self.state_dir / METRICS_DIR / f"{job}.json",
                         orjson.dumps(document).decode())

    def smoke_test(self, action: Action, record: JobRecord, observed: ObservedJob,
                   loaded: LoadedJob) -> Outcome:
        spec = loaded.job.spec
        endpoint = observed.tuned_endpoint
        if self.predict is None or endpoint is None:
            result = SmokeTestResult(endpoint="unhealthy",
                                     error="no tuned endpoint or no prediction client")
        else:
            examples = None
            if spec.evaluation is not None and loaded.evaluation_dataset:
                examples = self._examples(loaded, limit=1)
            result = run_smoke_test(
                endpoint=endpoint, predict=self.predict,
                generation_config=self._config(loaded),
                examples=examples, prompt=spec.smoke_test.prompt if spec.smoke_test else None)
        key, now = f"smoke:{record.name}", self.clock()
        record.smoke_test = replace(result, at=now)  # a change is audited when applied
        if result.healthy:
            self.throttler.succeeded(key)
            return Done()
        self.log.warning("endpoint_unhealthy", job=record.name, error=result.error)
        wait = self.throttler.failed(key, now=now, at_least=5.0)
        return Requeue(after=wait, reason="endpoint unhealthy")

    def evaluate(self, action: Action, record: JobRecord, observed: ObservedJob,
                 loaded: LoadedJob, *, progress: Callable[[], None] | None = None) -> Outcome:
        """Ask, journal and judge. In a worker (`progress` given): batch after batch until the
        verdict, an outage, the stop or a lost lease, posting progress between batches. Inline:
        one batch, then a requeue (a pass stays short)."""
        spec = loaded.spec.evaluation
        assert spec is not None
        if self.predict is None or self.state_dir is None or not observed.tuned_endpoint:
            return self._tell_evaluation(record, loaded, Evaluation(
                verdict="error", reason="no prediction client or state directory"))
        verdict, best = diagnosed_best(record.diagnosis)
        try:
            endpoint, checkpoint = resolve_checkpoint(
                spec.checkpoint, tuned_endpoint=observed.tuned_endpoint,
                checkpoints=observed.checkpoints, best=trusted_best(verdict, best)[0])
            examples = self._examples(loaded, limit=spec.max_examples)
            shots = self._shots(loaded, examples) if spec.baselines.few_shot else ()
        except (CheckpointUnavailable, OperatorError) as exc:
            if isinstance(exc, TemporaryError):
                return Requeue(after=exc.retry_after, reason=str(exc))
            return self._tell_evaluation(record, loaded, Evaluation(
                verdict="error", reason=str(exc)))
        root = loaded.base_model or observed.base_model  # a tunedModel's root: Vertex's word
        base = (publisher_model(self.project, observed.region, root)
                if spec.baselines.asked and root else None)
        judge = (partial(self.judge, observed.region)
                 if self.judge is not None and spec.model_based else None)
        key = f"evaluation:{record.name}"
        journal = self.answers(record.name)
        every = spec.checkpoints == "all" and any(c.endpoint for c in observed.checkpoints)
        predict = self.predict

        def run(model: str, checkpoint_id: str | None) -> Evaluation:
            return run_evaluation(
                job_name=record.name, spec=spec, examples=examples, tuned_model=model,
                base_model=base, predict=predict, journal=journal,
                generation_config=self._config(loaded), checkpoint=checkpoint_id,
                concurrency=self.concurrency,
                max_calls=EVALUATION_BATCH if progress else EVALUATION_CALLS_PER_PASS,
                stop=self.stop, shots=shots, judge=judge, ratings=loaded.human_ratings)

        try:
            while True:
                try:
                    result = (evaluate_checkpoints(run, observed.checkpoints,
                                                   metric=next(iter(spec.require)))
                              if every else run(endpoint, checkpoint))
                    if result.final:  # per-example answers beside the verdict, for people
                        journal.keep_verdict(key=str(evaluation_key(loaded)), evaluation=result,
                                             examples=verdict_examples(spec, examples))
                except EndpointUnavailable as exc:  # answers kept; asked again after a backoff
                    return self._paused(record, loaded, exc, key)
                except ArtifactsUnavailable as exc:  # the bucket: answers kept, told next time
                    return Requeue(after=self.throttler.failed(key, now=self.clock()),
                                   reason=str(exc))
                self.throttler.succeeded(key)
                if not every and (fallback := best_fallback(spec.checkpoint, verdict, best)):
                    result = replace(result, reason=f"{result.reason} ({fallback})")
                if result.final:
                    return self._tell_evaluation(record, loaded, result)
                record.evaluation = replace(result, key=evaluation_key(loaded))
                if progress is None or self._halted():
                    return Requeue(after=0.2, reason="evaluation continues")
                progress()
        finally:
            journal.close()

    def _halted(self) -> bool:
        """A stop was asked, or this replica no longer leads: ask nothing more."""
        return (self.stop is not None and self.stop.is_set()) or not self.leading()

    def _paused(self, record: JobRecord, loaded: LoadedJob, exc: EndpointUnavailable,
                key: str) -> Outcome:
        """An outage: pending and backing off, until it outlasts the reviewed giveUpAfter."""
        spec = loaded.spec.evaluation
        assert spec is not None
        now, before = self.clock(), record.evaluation
        since = before.unavailable_since if before and before.unavailable_since else now
        if now - since > spec.give_up_seconds:
            self.throttler.succeeded(key)
            return self._tell_evaluation(record, loaded, replace(
                exc.evaluation, verdict="error", unavailable_since=since,
                reason=f"the endpoint stayed unavailable for more than {spec.give_up_after}"
                       f" (evaluation.giveUpAfter): {exc}"))
        record.evaluation = replace(exc.evaluation, key=evaluation_key(loaded),
                                    unavailable_since=since)
        wait = self.throttler.failed(key, now=now, at_least=exc.retry_after)
        self.log.warning("endpoint_unavailable", job=record.name, error=str(exc),
                         retry_in=round(wait, 1))
        return Requeue(after=wait, reason=str(exc))

    def _tell_evaluation(self, record: JobRecord, loaded: LoadedJob,
                         result: Evaluation) -> Outcome:
        record.evaluation = replace(result, key=evaluation_key(loaded))  # told by notify
        return Done()

    def _examples(self, loaded: LoadedJob, *, limit: int) -> Any:
        assert loaded.evaluation_dataset is not None
        return self._sets.read(loaded.evaluation_dataset, limit=limit)

    def _shots(self, loaded: LoadedJob, examples: Any) -> tuple[Shot, ...]:
        """The few-shot baseline's shots: from `fewShotFrom`, else the training set; never
        a question of the evaluation set."""
        from tuning_operator.datasets.evalset import read_evaluation_set

        spec = loaded.job.spec.evaluation
        assert spec is not None
        source = (loaded.few_shot_from or spec.baselines.few_shot_from
                  or loaded.job.spec.training_dataset)
        pool = read_evaluation_set(source, limit=SHOT_POOL).examples
        return choose_shots([Shot(contents=e.contents, reference=e.reference) for e in pool],
                            spec.baselines.few_shot,
                            exclude_prompts=frozenset(e.prompt for e in examples.examples))

    def _config(self, loaded: LoadedJob) -> GenerationConfig:
        evaluation = loaded.spec.evaluation
        config = evaluation.generation_config if evaluation else GenerationConfig()
        model = self.catalog.get(loaded.base_model) if loaded.base_model else None
        return effective_generation_config(config, model)
