"""The composition root: the operator built once from its settings, then run.

`Manager` is controller-runtime's Manager (kopf's operator): it constructs every adapter, the
store, the recorder, the aftercare workers, the lease and the reconciler complete, each handed
what it needs; then `run` starts the runnables (the directory watch, the metrics and health
server, the reconcile loop, gated on the lease) and stops them. Nothing is re-wired after
construction. Google Cloud and gRPC are imported only once the settings say they are needed
(real Vertex, or the embedded emulator).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from tuning_operator.manager.live import LiveTable
from tuning_operator.manager.settings import operator_settings

if TYPE_CHECKING:
    from tuning_operator.events import GitProvenance
    from tuning_operator.reconciling.status import StatusView


def configure_logging(log_file: str | None, *,
                      stream: TextIO | None = None) -> TextIO | None:
    """JSON logs to `stream`, the log file, or stdout; returns the file it opened, if any."""
    import logging

    import structlog

    opened = open(log_file, "a", encoding="utf-8") if log_file else None  # noqa: SIM115
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=opened or stream or sys.stdout),
        cache_logger_on_first_use=False,
    )
    return opened


class Shutdown:
    """The operator's one stop: SIGTERM/SIGINT, a runner's `stop()`, or the run's own end.

    Created before anything is built, so a signal that arrives during start-up is remembered
    and the run drains at once (exit 0) instead of being killed half-way. Requesting it also
    wakes the loop, so a stop never waits out a resync.
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.wake = threading.Event()

    def request(self, *_signal: object) -> None:
        self.stop.set()
        self.wake.set()

    @classmethod
    def on_signals(cls) -> Shutdown:
        """A stop that SIGTERM and SIGINT request: installed here, once per process.

        Python takes signal handlers on the main thread only; elsewhere (an in-process runner)
        none is installed and the stop is requested by whoever runs the operator.
        """
        shutdown = cls()
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, shutdown.request)
        return shutdown


def operate(settings: argparse.Namespace, *, shutdown: Shutdown | None = None) -> int:
    """Run the operator in this process until it is done or told to stop (`run`, `demo`)."""
    shutdown = shutdown or Shutdown.on_signals()
    configure_logging(settings.log_file)
    with Manager(settings, shutdown=shutdown) as manager:
        return manager.run()


class Manager:
    """Every part of the operator, built once from validated settings; `run` starts them.

    `owns_process`: the operator is the process (`run`, `demo`): a pass stuck past the
    deadline ends it. An in-process runner passes False: the run then ends after that pass.
    """

    def __init__(self, settings: argparse.Namespace, *, shutdown: Shutdown,
                 owns_process: bool = True) -> None:
        self.settings = settings
        self.shutdown = shutdown
        self._stack = ExitStack()
        try:
            self._build(settings, owns_process=owns_process)
        except BaseException:
            self._stack.close()
            raise

    def _build(self, options: argparse.Namespace, *, owns_process: bool) -> None:
        from tuning_operator.events import AuditTrail, GitProvenance, Outbox, open_sink
        from tuning_operator.reconciling.aftercare import Aftercare
        from tuning_operator.reconciling.backoff import Throttler
        from tuning_operator.reconciling.health import VertexHealth
        from tuning_operator.reconciling.loop import LoopSettings, OperatorLoop
        from tuning_operator.reconciling.metrics import OperatorMetrics
        from tuning_operator.reconciling.promotion import Promotions
        from tuning_operator.reconciling.reconciler import Reconciler
        from tuning_operator.reconciling.recording import EventRecorder
        from tuning_operator.reconciling.watch import DirectoryWatch
        from tuning_operator.reconciling.workers import AFTERCARE_THREADS, Workers
        from tuning_operator.state.artifacts import open_artifacts
        from tuning_operator.state.guard import StateDirectory
        from tuning_operator.state.lease import default_holder, open_lease
        from tuning_operator.state.store import FileStatusStore

        stack = self._stack
        state_dir, jobs_dir = Path(options.state_dir), Path(options.jobs_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        vertex, metrics_reader, prediction, evaluation, models = _open_vertex(
            options, state_dir, stack)
        sink = open_sink(options.events or f"file:{state_dir / 'events.jsonl'}")
        stack.callback(sink.close)
        outbox = Outbox(state_dir / "outbox", sink)
        stack.callback(outbox.close, 10.0)
        audit = AuditTrail(state_dir / "audit.jsonl")
        stack.callback(audit.close)
        provenance = GitProvenance()
        recorder = EventRecorder(outbox=outbox, audit=audit, jobs_dir=jobs_dir,
                                 instance=default_holder(), provenance=provenance,
                                 source=options.source or _deployment(options, provenance))
        store = FileStatusStore(state_dir, recover=True)
        self.lease = open_lease(options.lease, clock=time.time, term_seconds=options.lease_term)
        artifacts = open_artifacts(options.artifacts, state_dir=state_dir,
                                   holder=self.lease.holder)
        throttler = Throttler()  # one backoff for the pass and the aftercare workers
        aftercare = Aftercare(
            throttler=throttler, clock=time.time, state_dir=state_dir,
            metrics=metrics_reader, predict=prediction.generate,
            project=options.project or "local-project", stop=self.shutdown.stop,
            leading=self.lease.acquire, answers=artifacts.answers if artifacts else None,
            judge=evaluation.judge)
        # Post-success work off the pass; closed (after the stop is set) before the adapters.
        # `--once` is one pass that does its own work (inline), as a one-shot tool expects.
        workers = Workers(0 if options.once else AFTERCARE_THREADS, wake=self.shutdown.wake.set)
        stack.callback(workers.close)
        stack.callback(self.shutdown.stop.set)
        self.reconciler = Reconciler(
            settings=operator_settings(options),
            vertex=vertex, store=store, recorder=recorder, throttler=throttler,
            datasets=_dataset_checker(options), state=StateDirectory(state_dir),
            still_leader=self.lease.acquire, aftercare=aftercare, workers=workers,
            revision_of=recorder.provenance.revision,
            promotions=Promotions(models=models, teller=recorder, clock=time.time,
                                  author_of=lambda path: _author(recorder, jobs_dir / path),
                                  objects=artifacts.aliases() if artifacts else None))
        if store.recovered:
            recorder.audit_operator(action="state-recovered", reason=store.recovered)
        self.metrics = OperatorMetrics()
        self._health = VertexHealth(state_dir, self.status)
        self._live = LiveTable(self.status) if options.live else None
        self.loop = OperatorLoop(
            reconciler=self.reconciler, lease=self.lease,
            settings=LoopSettings(resync_seconds=options.resync, once=options.once,
                                  until_settled=options.until_settled,
                                  deadline_seconds=options.deadline,
                                  settle_seconds=float(options.settle)),
            metrics=self.metrics, on_pass=self._after_pass, stop=self.shutdown.stop,
            wake=self.shutdown.wake, on_state_lost=store.note_lost,
            on_deadline=None if owns_process else self.shutdown.request)
        self._watch = None if options.once else DirectoryWatch(
            jobs_dir, on_change=self.loop.trigger, stop=self.shutdown.stop,
            on_failure=lambda _exc: self.metrics.watch_restarts.inc())

    @property
    def status(self) -> StatusView:
        """Every job's record and phase counts, read-only: what tables and probes show."""
        return self.reconciler.status

    def run(self) -> int:
        """Start the runnables, run the loop until it is done or stopped; its exit code."""
        with ExitStack() as running:
            if self.settings.metrics_port is not None:
                server = self.metrics.serve(self.settings.metrics_port,
                                            self.settings.metrics_address)
                running.callback(server.shutdown)
            if self._live is not None:
                running.enter_context(self._live)
            running.callback(self.shutdown.stop.set)  # ends the watch when the loop ends
            if self._watch is not None:
                self._watch.start()
            return self.loop.run()
        return 1  # unreachable; ExitStack does not swallow exceptions

    def _after_pass(self, report: Any) -> None:
        self._health.write()
        if self._live is not None:
            self._live.refresh(report)

    def __enter__(self) -> Manager:
        return self

    def __exit__(self, *exc: object) -> None:
        """Flush and close what was built: the outbox, the audit trail, the adapters."""
        self._stack.close()


def _dataset_checker(options: argparse.Namespace) -> Any:
    import structlog

    mode = options.check_datasets
    if mode == "auto":
        real_vertex = options.project and not options.vertex_endpoint
        mode = "on" if real_vertex or os.environ.get("STORAGE_EMULATOR_HOST") else "off"
    if mode == "off":
        structlog.get_logger("tuning_operator").info(
            "dataset_preflight_off", why="no storage to read datasets from (--check-datasets)")
        return None
    from tuning_operator.datasets.jobcheck import JobDatasetChecker

    return JobDatasetChecker()


def _author(recorder: Any, path: Path) -> str | None:
    """The git author of the last commit of `path` (an alias file), if it is in git."""
    provenance = recorder.provenance.of(path)
    return provenance.author if provenance else None


def _open_vertex(options: argparse.Namespace, state_dir: Path,
                 stack: ExitStack) -> tuple[Any, Any, Any, Any, Any]:
    """The tuning, metrics, prediction, evaluation and model registry adapters: real Vertex, or
    one emulator for all."""
    from tuning_operator.vertex.budget import RequestBudget
    from tuning_operator.vertex.evaluation import VertexEvaluation
    from tuning_operator.vertex.jobs import VertexTuningJobs
    from tuning_operator.vertex.metrics import VertexMetrics
    from tuning_operator.vertex.models import VertexModels
    from tuning_operator.vertex.prediction import VertexPrediction

    budget = RequestBudget(crud_per_minute=options.crud_per_minute,
                           submissions_per_minute=options.submissions_per_minute)
    # Predictions have quotas of their own: a budget of their own, so an evaluation never
    # starves the tuning calls.
    prediction_budget = RequestBudget(crud_per_minute=options.predictions_per_minute)
    project = options.project or "local-project"
    if options.project and not options.vertex_endpoint:
        return (stack.enter_context(VertexTuningJobs.for_vertex(project=options.project,
                                                                budget=budget)),
                stack.enter_context(VertexMetrics.for_vertex(budget=budget)),
                stack.enter_context(VertexPrediction.for_vertex(budget=prediction_budget)),
                stack.enter_context(VertexEvaluation.for_vertex(budget=prediction_budget,
                                                                project=project)),
                stack.enter_context(VertexModels.for_vertex(budget=budget)))
    endpoint = options.vertex_endpoint
    if endpoint is None:  # the embedded default: an emulator in this process
        from tuning_operator.emulator import VertexEmulator

        emulator = VertexEmulator(job_seconds=options.emulator_job_seconds,
                                  state_file=state_dir / "emulator-state.json",
                                  answers_file=Path(options.emulator_answers)
                                  if options.emulator_answers else None)
        stack.enter_context(emulator)
        endpoint = emulator.grpc_endpoint
        if options.vertex_transport == "rest":
            endpoint = emulator.rest_endpoint.removeprefix("http://")
    transport = options.vertex_transport
    return (stack.enter_context(VertexTuningJobs.for_emulator(
                endpoint, project=options.project or "local-project", budget=budget,
                transport=transport)),
            stack.enter_context(VertexMetrics.for_emulator(endpoint, budget=budget,
                                                           transport=transport)),
            stack.enter_context(VertexPrediction.for_emulator(
                endpoint, budget=prediction_budget, transport=transport)),
            stack.enter_context(VertexEvaluation.for_emulator(
                endpoint, budget=prediction_budget, project=project, transport=transport)),
            stack.enter_context(VertexModels.for_emulator(endpoint, budget=budget,
                                                          transport=transport)))


def _deployment(options: argparse.Namespace, provenance: GitProvenance) -> str:
    """`PROJECT/JOBS-REPOSITORY`: what every replica and restart of this deployment shares
    (the jobs directory's path stands in for a repository without an `origin`)."""
    jobs_dir = Path(options.jobs_dir)
    repository = provenance.repository(jobs_dir) or str(jobs_dir.absolute()).strip("/")
    return f"{options.project or 'local'}/{repository}"
