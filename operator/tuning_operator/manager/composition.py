"""The composition root: the operator built once from its settings, then run.

Every adapter, store, recorder and worker is constructed here and passed in; nothing is
re-wired after construction. Google Cloud and gRPC are imported only once the settings say
they are needed (real Vertex, or the embedded emulator).
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
from typing import Any

from tuning_operator.manager.live import LiveTable
from tuning_operator.manager.settings import operator_settings


def configure_logging(log_file: str | None) -> None:
    import logging

    import structlog

    stream = open(log_file, "a", encoding="utf-8") if log_file else sys.stdout  # noqa: SIM115
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


def stop_on_signals() -> threading.Event:
    """SIGTERM/SIGINT set this event: one that arrives during start-up drains, never kills."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def run_operator(options: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    """Build the operator from its settings and run it until it is done or told to stop."""
    from tuning_operator.events import AuditTrail, Outbox, open_sink
    from tuning_operator.reconciling.aftercare import Aftercare
    from tuning_operator.reconciling.loop import LoopSettings, OperatorLoop
    from tuning_operator.reconciling.metrics import OperatorMetrics
    from tuning_operator.reconciling.reconciler import Reconciler
    from tuning_operator.reconciling.recording import EventRecorder
    from tuning_operator.reconciling.watch import DirectoryWatch
    from tuning_operator.state.guard import StateDirectory
    from tuning_operator.state.lease import default_holder, open_lease
    from tuning_operator.state.store import FileStatusStore

    stop = stop or stop_on_signals()
    configure_logging(options.log_file)
    state_dir = Path(options.state_dir)
    jobs_dir = Path(options.jobs_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        vertex, metrics_reader, prediction = _open_vertex(options, state_dir, stack)
        sink = open_sink(options.events or f"file:{state_dir / 'events.jsonl'}")
        stack.callback(sink.close)
        outbox = Outbox(state_dir / "outbox", sink)
        stack.callback(outbox.close, 10.0)
        audit = AuditTrail(state_dir / "audit.jsonl")
        stack.callback(audit.close)
        instance = default_holder()
        recorder = EventRecorder(outbox=outbox, audit=audit, jobs_dir=jobs_dir, instance=instance)
        store = FileStatusStore(state_dir, recover=True)
        reconciler = Reconciler(
            settings=operator_settings(options),
            vertex=vertex, store=store, recorder=recorder,
            datasets=_dataset_checker(options), state=StateDirectory(state_dir),
            revision_of=recorder.provenance.revision)
        reconciler.aftercare = Aftercare(
            recorder=recorder, throttler=reconciler.throttler, clock=time.time,
            state_dir=state_dir, metrics=metrics_reader, predict=prediction.generate,
            project=options.project or "local-project", stop=stop)
        if store.recovered:
            recorder.audit_operator(action="state-recovered", reason=store.recovered)
        lease = open_lease(options.lease, clock=time.time)
        metrics = OperatorMetrics()
        if options.metrics_port is not None:
            stack.callback(metrics.serve(options.metrics_port, options.metrics_address).shutdown)
        live = LiveTable(reconciler) if options.live else None
        if live is not None:
            stack.enter_context(live)
        from tuning_operator.reconciling.health import VertexHealth

        health = VertexHealth(state_dir, reconciler)

        def on_pass(report: Any) -> None:
            health.write()
            if live is not None:
                live.refresh(report)

        loop = OperatorLoop(
            reconciler=reconciler, lease=lease,
            settings=LoopSettings(resync_seconds=options.resync, once=options.once,
                                  until_settled=options.until_settled,
                                  deadline_seconds=options.deadline),
            metrics=metrics, on_pass=on_pass, stop=stop, on_state_lost=store.note_lost)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: loop.shutdown())
        if not options.once:
            DirectoryWatch(jobs_dir, on_change=loop.trigger, stop=loop.stop,
                           on_failure=lambda _exc: metrics.watch_restarts.inc()).start()
        return loop.run()
    return 1  # unreachable; ExitStack does not swallow exceptions


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


def _open_vertex(options: argparse.Namespace, state_dir: Path,
                 stack: ExitStack) -> tuple[Any, Any, Any]:
    """The tuning, metrics and prediction adapters: real Vertex, or one emulator for all."""
    from tuning_operator.vertex.budget import RequestBudget
    from tuning_operator.vertex.jobs import VertexTuningJobs
    from tuning_operator.vertex.metrics import VertexMetrics
    from tuning_operator.vertex.prediction import VertexPrediction

    budget = RequestBudget(crud_per_minute=options.crud_per_minute,
                           submissions_per_minute=options.submissions_per_minute)
    # Predictions have quotas of their own: a budget of their own, so an evaluation never
    # starves the tuning calls.
    prediction_budget = RequestBudget(crud_per_minute=options.crud_per_minute,
                                      submissions_per_minute=options.submissions_per_minute)
    if options.project and not options.vertex_endpoint:
        return (stack.enter_context(VertexTuningJobs.for_vertex(project=options.project,
                                                                budget=budget)),
                stack.enter_context(VertexMetrics.for_vertex(budget=budget)),
                stack.enter_context(VertexPrediction.for_vertex(budget=prediction_budget)))
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
                endpoint, budget=prediction_budget, transport=transport)))
