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
from pathlib import Path
from typing import Any, Protocol

import orjson
import structlog

from tuning_operator.errors import OperatorError, TemporaryError
from tuning_operator.judging import Curves, Diagnosis, diagnose
from tuning_operator.judging.asking import (
    CheckpointUnavailable,
    effective_generation_config,
    publisher_model,
    resolve_checkpoint,
)
from tuning_operator.planning.aftercare import evaluation_key
from tuning_operator.planning.model import ObservedJob
from tuning_operator.planning.planner import Action
from tuning_operator.reconciling.backoff import Done, Outcome, Requeue, Throttler
from tuning_operator.reconciling.evaluation import (
    EndpointUnavailable,
    Predict,
    run_evaluation,
    run_smoke_test,
)
from tuning_operator.specs import LoadedJob
from tuning_operator.specs.catalog import Catalog, default_catalog
from tuning_operator.specs.evaluation import GenerationConfig
from tuning_operator.state.answers import AnswerJournal
from tuning_operator.state.records import Evaluation, SmokeTestResult
from tuning_operator.state.store import JobRecord, write_atomically

EVALUATION_CALLS_PER_PASS = 50  # a pass stays short; the evaluation resumes on the next one
METRICS_DIR = "metrics"


class MetricsReader(Protocol):
    """`vertex.metrics.VertexMetrics`: a job's curves from its Experiment."""

    def read_curves(self, experiment: str) -> Curves: ...


class VerdictRecorder(Protocol):
    def verdict(self, record: JobRecord, *, type: str, reason: str,
                details: Mapping[str, Any]) -> None: ...

    def action(self, record: JobRecord, *, action: str, reason: str) -> None: ...


class Aftercare:
    """The three post-success executors, with the adapters and the state they need."""

    def __init__(self, *, recorder: VerdictRecorder, throttler: Throttler,
                 clock: Callable[[], float], state_dir: Path | None = None,
                 metrics: MetricsReader | None = None, predict: Predict | None = None,
                 project: str = "local-project", catalog: Catalog | None = None,
                 stop: threading.Event | None = None,
                 answers: Callable[[str], Answers] | None = None) -> None:
        self.recorder = recorder
        self.throttler = throttler
        self.clock = clock
        self.state_dir = state_dir
        self.metrics = metrics
        self.predict = predict
        self.project = project
        self.catalog = catalog or default_catalog()
        self.stop = stop
        # A job's paid-for answers: the local journal, or the shared artifacts (`--artifacts`).
        self.answers = answers or (lambda job: AnswerJournal.for_job(self.state_dir or Path('.'), job))
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
        key = f"smoke:{record.name}"
        now = self.clock()
        before = record.smoke_test
        changed = before is None or before.endpoint != result.endpoint
        record.smoke_test = replace(result, at=now)
        if changed:
            self.recorder.action(record, action="smoke-test",
                                 reason=f"endpoint {result.endpoint}"
                                 + (f": {result.error}" if result.error is not None else ""))
        if result.healthy:
            self.throttler.succeeded(key)
            return Done()
        self.log.warning("endpoint_unhealthy", job=record.name, error=result.error)
        wait = self.throttler.failed(key, now=now, at_least=5.0)
        return Requeue(after=wait, reason="endpoint unhealthy")

    def evaluate(self, action: Action, record: JobRecord, observed: ObservedJob,
                 loaded: LoadedJob) -> Outcome:
        spec = loaded.job.spec.evaluation
        assert spec is not None
        if self.predict is None or self.state_dir is None or not observed.tuned_endpoint:
            return self._tell_evaluation(record, loaded, Evaluation(
                verdict="error", reason="no prediction client or state directory"))
        best = record.diagnosis.best_checkpoint if record.diagnosis else None
        try:
            endpoint, checkpoint = resolve_checkpoint(
                spec.checkpoint, tuned_endpoint=observed.tuned_endpoint,
                checkpoints=observed.checkpoints, best=best.checkpoint_id if best else None)
            examples = self._examples(loaded, limit=spec.max_examples)
        except (CheckpointUnavailable, OperatorError) as exc:
            if isinstance(exc, TemporaryError):
                return Requeue(after=exc.retry_after, reason=str(exc))
            return self._tell_evaluation(record, loaded, Evaluation(
                verdict="error", reason=str(exc)))
        root = loaded.base_model or observed.base_model  # a tunedModel's root: Vertex's word
        base = (publisher_model(self.project, observed.region, root)
                if spec.baseline and root else None)
        key = f"evaluation:{record.name}"
        journal = self.answers(record.name)
        try:
            result = run_evaluation(
                job_name=record.name, spec=spec, examples=examples, tuned_model=endpoint,
                base_model=base, predict=self.predict, journal=journal,
                generation_config=self._config(loaded), checkpoint=checkpoint,
                max_calls=EVALUATION_CALLS_PER_PASS, stop=self.stop)
        except EndpointUnavailable as exc:  # answers kept; asked again after a backoff
            return self._paused(record, loaded, exc, key)
        finally:
            journal.close()
        self.throttler.succeeded(key)
        if not result.final:
            record.evaluation = replace(result, key=evaluation_key(loaded))
            return Requeue(after=0.2, reason="evaluation continues")
        return self._tell_evaluation(record, loaded, result)

    def _paused(self, record: JobRecord, loaded: LoadedJob, exc: EndpointUnavailable,
                key: str) -> Outcome:
        """An outage: pending and backing off, until it outlasts the reviewed giveUpAfter."""
        spec = loaded.job.spec.evaluation
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
        from tuning_operator.datasets.evalset import read_evaluation_set

        assert loaded.evaluation_dataset is not None
        return read_evaluation_set(loaded.evaluation_dataset, limit=limit)

    def _config(self, loaded: LoadedJob) -> GenerationConfig:
        evaluation = loaded.job.spec.evaluation
        config = evaluation.generation_config if evaluation else GenerationConfig()
        model = self.catalog.get(loaded.base_model) if loaded.base_model else None
        return effective_generation_config(config, model)
