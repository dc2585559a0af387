"""The operator's commands: `run` (the service), `demo`, and the offline `status` / `history`.

Settings come from flags, then `TUNING_OPERATOR_*` environment variables, then a `--config`
YAML file, then the defaults below: flags win. Google Cloud and gRPC are imported only once
`run` knows it needs them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

DEFAULTS: dict[str, Any] = {
    "jobs_dir": "jobs",
    "project": None,
    "region": "us-central1",
    "vertex_endpoint": None,
    "vertex_transport": "grpc",
    "state_dir": ".tuning-operator",
    "max_concurrent_jobs": None,
    "quota_scope": "global",
    "quota_regions": "",
    "resync": 30.0,
    "once": False,
    "until_settled": False,
    "deadline": None,
    "lease": None,
    "metrics_port": None,
    "metrics_address": "127.0.0.1",
    "events": None,
    "allow_mass_deletion": False,
    "create_fence": 60.0,
    "settle": 0.5,
    "crud_per_minute": 600.0,
    "submissions_per_minute": 60.0,
    "emulator_job_seconds": 30.0,
    "emulator_answers": None,
    "live": False,
    "log_file": None,
    "check_datasets": "auto",
}
ENV_PREFIX = "TUNING_OPERATOR_"


def register(sub: Any) -> None:
    run = sub.add_parser("run", help="reconcile the jobs directory with Vertex, continuously")
    add_run_options(run)
    run.set_defaults(handler=run_command)

    demo = sub.add_parser("demo", help="run the operator on examples/jobs with a local emulator")
    demo.add_argument("--jobs-dir", default="examples/jobs")
    demo.add_argument("--state-dir", default=".tuning-operator/demo")
    demo.add_argument("--job-seconds", type=float, default=8.0)
    demo.set_defaults(handler=demo_command)



def add_run_options(run: argparse.ArgumentParser) -> None:
    add = run.add_argument
    add("--config", help="YAML file with any of these settings (keys as the flags, no --)")
    add("--jobs-dir", help="the directory of job files (default: jobs)")
    add("--project", help="real Vertex in this project (application default credentials)")
    add("--region", help="region of jobs that name none (default: us-central1)")
    add("--vertex-endpoint", metavar="HOST:PORT", help="an emulator instead of Vertex")
    add("--vertex-transport", choices=("grpc", "rest"))
    add("--state-dir", help="status store, outbox, audit trail (default: .tuning-operator)")
    add("--max-concurrent-jobs", type=int,
        help="concurrent tuning jobs (the quota; global across regions by default)")
    add("--quota-scope", choices=("global", "region"),
        help="global (default, as Vertex counts it): one count for every region; region: each"
        " region on its own")
    add("--quota-regions", metavar="R1,R2",
        help="regions listed too, for unmanaged active jobs that hold global quota slots")
    add("--resync", type=float, help="seconds between full passes (grows with List pages)")
    add("--once", action="store_true", default=None, help="one pass, then exit")
    add("--until-settled", action="store_true", default=None,
        help="exit 0 once every valid job is in a final phase")
    add("--deadline", type=float, help="with --until-settled: exit 1 after this many seconds")
    add("--lease", help="file:PATH or gs://BUCKET/OBJECT: only the holder acts")
    add("--metrics-port", type=int, help="serve /metrics, /healthz, /readyz on this port")
    add("--metrics-address", help="the address the metrics port listens on (default: 127.0.0.1;"
        " 0.0.0.0 in a container, for the probes)")
    add("--events", help="pubsub:projects/P/topics/T, file:PATH or stdout"
        " (default: file:STATE_DIR/events.jsonl)")
    add("--allow-mass-deletion", action="store_true", default=None,
        help="let more than half of the jobs vanish at once and still cancel onDelete: Cancel")
    add("--create-fence", type=float, help="seconds a create with unknown outcome blocks retries")
    add("--settle", type=float, help="seconds a changed file must be quiet before a create")
    add("--crud-per-minute", type=float, help="client-side Vertex CRUD request budget")
    add("--submissions-per-minute", type=float, help="client-side job submission budget")
    add("--emulator-job-seconds", type=float, help="embedded emulator: seconds per job")
    add("--emulator-answers", metavar="FILE",
        help="embedded emulator: scripted generateContent answers (see `emulator --answers`)")
    add("--live", action="store_true", default=None, help="show a live status table (stderr)")
    add("--log-file", help="write the JSON logs here instead of stdout")
    add("--check-datasets", choices=("auto", "on", "off"),
        help="dataset pre-flight before each create; auto: on for real Vertex or with"
        " STORAGE_EMULATOR_HOST, off against an emulator without storage")


def resolve_settings(args: argparse.Namespace,
                     environ: dict[str, str] | None = None) -> argparse.Namespace:
    """Flags, then environment, then the config file, then defaults."""
    environ = dict(os.environ) if environ is None else environ
    from_file: dict[str, Any] = {}
    if getattr(args, "config", None):
        loaded = yaml.safe_load(Path(args.config).read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise SystemExit(f"{args.config}: expected a mapping of settings")
        from_file = {k.replace("-", "_"): v for k, v in loaded.items()}
        unknown = sorted(set(from_file) - set(DEFAULTS))
        if unknown:
            raise SystemExit(f"{args.config}: unknown settings {', '.join(unknown)};"
                             f" known: {', '.join(sorted(DEFAULTS))}")
    resolved = {}
    for key, default in DEFAULTS.items():
        value = getattr(args, key, None)
        if value is None and f"{ENV_PREFIX}{key.upper()}" in environ:
            value = _coerce(environ[f"{ENV_PREFIX}{key.upper()}"], default)
        if value is None:
            value = from_file.get(key, default)
        resolved[key] = value
    return argparse.Namespace(**resolved)


def _coerce(text: str, default: Any) -> Any:
    if isinstance(default, bool):
        return text.lower() in ("1", "true", "yes", "on")
    if isinstance(default, float):
        return float(text)
    return int(text) if text.isdigit() else text


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


def run_command(args: argparse.Namespace) -> int:
    from tuning_operator.errors import ConfigError, OperatorError

    stop = _stop_on_signals()  # first, before anything is written
    try:
        options = validate_settings(resolve_settings(args))
        return run_operator(options, stop=stop)
    except ConfigError as exc:
        print(f"tuning-operator run: {exc}", file=sys.stderr)
        return 2
    except (OperatorError, OSError) as exc:
        print(f"tuning-operator run: {exc}", file=sys.stderr)
        return 1


_RANGES: dict[str, tuple[type, float, float | None]] = {
    # setting: (type, least, greatest or None)
    "max_concurrent_jobs": (int, 0, None), "resync": (float, 0.05, 86400.0),
    "deadline": (float, 0.0, None), "create_fence": (float, 0.0, 86400.0),
    "settle": (float, 0.0, 3600.0), "crud_per_minute": (float, 1.0, None),
    "submissions_per_minute": (float, 1.0, None), "emulator_job_seconds": (float, 0.0, None),
    "metrics_port": (int, 0, 65535),
}


def validate_settings(options: argparse.Namespace) -> argparse.Namespace:
    """Reject what would misbehave later: out-of-range numbers, NaN, a jobs dir that is a file."""
    import math

    from tuning_operator.errors import ConfigError

    for key, (kind, least, greatest) in _RANGES.items():
        value = getattr(options, key)
        if value is None:
            continue
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"--{key.replace('_', '-')} {value!r}: expected a"
                              f" {'whole number' if kind is int else 'number'}") from None
        if (isinstance(number, float) and not math.isfinite(number)) or number < least or (
                greatest is not None and number > greatest):
            bound = f" and at most {greatest:g}" if greatest is not None else ""
            raise ConfigError(f"--{key.replace('_', '-')} {value!r}: must be at least"
                              f" {least:g}{bound}")
        setattr(options, key, number)
    if options.quota_scope not in ("global", "region"):
        raise ConfigError(f"--quota-scope {options.quota_scope!r}: global or region")
    jobs = Path(options.jobs_dir)
    if jobs.exists() and not jobs.is_dir():
        raise ConfigError(f"--jobs-dir {jobs}: is not a directory; point it at the directory"
                          " of job files")
    if not jobs.exists():
        raise ConfigError(f"--jobs-dir {jobs}: no such directory; create it or point"
                          " --jobs-dir at the checkout of the jobs repository")
    state = Path(options.state_dir)
    if state.exists() and not state.is_dir():
        raise ConfigError(f"--state-dir {state}: is a file; the state directory holds the"
                          " status store, outbox and audit trail: point it at a directory")
    try:
        state.mkdir(parents=True, exist_ok=True)
        probe = state / ".probe"
        probe.write_bytes(b"probe\n")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--state-dir {state}: cannot be written ({exc.strerror or exc});"
                          " give the operator a writable directory") from None
    return options


def _stop_on_signals() -> threading.Event:
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
    from tuning_operator.reconciling.reconciler import OperatorSettings, Reconciler
    from tuning_operator.reconciling.recording import EventRecorder
    from tuning_operator.reconciling.watch import DirectoryWatch
    from tuning_operator.state.guard import StateDirectory
    from tuning_operator.state.lease import default_holder, open_lease
    from tuning_operator.state.store import FileStatusStore

    stop = stop or _stop_on_signals()
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
            settings=OperatorSettings(
                jobs_dir=jobs_dir, default_region=options.region,
                max_concurrent_jobs=options.max_concurrent_jobs,
                quota_scope=options.quota_scope,
                quota_regions=tuple(r for r in str(options.quota_regions).split(",") if r),
                create_fence_seconds=options.create_fence, settle_seconds=options.settle,
                allow_mass_deletion=options.allow_mass_deletion),
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
        live = _LiveTable(reconciler) if options.live else None
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


class _LiveTable:
    """A rich table of every job's phase, redrawn after each pass (on stderr)."""

    def __init__(self, reconciler: Any) -> None:
        from rich.console import Console
        from rich.live import Live

        self.reconciler = reconciler
        self.started = time.time()
        self.live = Live(console=Console(stderr=True), refresh_per_second=4, transient=False)

    def __enter__(self) -> _LiveTable:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def refresh(self, report: Any) -> None:
        records = self.reconciler.records.values()
        title = (f"tuning-operator · pass {report.generation} · "
                 f"{time.time() - self.started:4.0f} s · {len(records)} jobs")
        from tuning_operator.cli.status import status_table

        self.live.update(status_table(records, title=title))


def demo_command(args: argparse.Namespace) -> int:
    """The README's demo: a fresh state, the embedded emulator, a live table, ends by itself."""
    state_dir = Path(args.state_dir)
    shutil.rmtree(state_dir, ignore_errors=True)
    options = resolve_settings(argparse.Namespace(), environ={})
    options.jobs_dir, options.state_dir = args.jobs_dir, str(state_dir)
    options.emulator_job_seconds = args.job_seconds
    options.max_concurrent_jobs, options.resync, options.settle = 2, 1.0, 0.0
    options.until_settled, options.deadline, options.live = True, 90.0, True
    options.log_file = str(state_dir / "operator.log")
    options.check_datasets = "on"
    if not Path(args.jobs_dir).is_dir():
        print(f"demo: no job files at {args.jobs_dir}; run it from a checkout of the repository"
              " or pass --jobs-dir", file=sys.stderr)
        return 2
    state_dir.mkdir(parents=True)
    answers = Path(args.jobs_dir).parent / "emulator-answers.json"  # the tuned models' replies
    options.emulator_answers = str(answers) if answers.is_file() else None
    with _demo_datasets(Path(args.jobs_dir).parent / "datasets") as served:
        if not served:
            options.check_datasets = "off"
        code = run_operator(options)
    events = state_dir / "events.jsonl"
    count = sum(1 for _ in events.open()) if events.exists() else 0
    print(f"\n{'settled' if code == 0 else 'NOT settled'}: {count} events in {events};"
          f" audit trail {state_dir / 'audit.jsonl'}; logs {options.log_file}")
    _demo_verdicts(state_dir)
    print(f"next: tuning-operator status --state-dir {state_dir}  |  "
          f"tuning-operator history ticket-classifier-v3 --state-dir {state_dir}")
    return code


def _demo_verdicts(state_dir: Path) -> None:
    """Each job's diagnosis and evaluation in one line, and the HTML report of the evaluated."""
    from tuning_operator.cli import main
    from tuning_operator.state.store import FileStatusStore

    for record in sorted(FileStatusStore(state_dir).fetch().values(), key=lambda r: r.name):
        diagnosis = (record.diagnosis or {}).get("verdict", "-")
        line = f"  {record.name}: {record.phase}, curves {diagnosis}"
        if record.evaluation:
            line += f", evaluation {record.evaluation['verdict']} ({record.evaluation['reason']})"
            report = state_dir / f"{record.name}.html"
            main(["report", record.name, "--state-dir", str(state_dir), "--output", str(report)])
        print(line)


@contextlib.contextmanager
def _demo_datasets(root: Path) -> Iterator[bool]:
    """fake-gcs-server with examples/datasets uploaded, so the pre-flight reads real objects.

    Yields False (the demo then runs without the dataset pre-flight) where fake-gcs-server is
    not installed: it is a test tool, and a plain `pip install tuning-operator` has none.
    """
    from tuning_operator.datasets.local_gcs import LocalGcsServer, LocalGcsUnavailable

    server = LocalGcsServer()
    try:
        server.__enter__()
    except LocalGcsUnavailable as exc:
        print(f"demo: dataset pre-flight skipped ({exc})", file=sys.stderr)
        yield False
        return
    with contextlib.ExitStack() as stack:
        stack.push(server.__exit__)
        previous = os.environ.get("STORAGE_EMULATOR_HOST")
        os.environ["STORAGE_EMULATOR_HOST"] = server.url
        try:
            client = server.client()
            for bucket_dir in sorted(p for p in root.iterdir() if p.is_dir()):
                bucket = client.create_bucket(bucket_dir.name)
                for path in sorted(bucket_dir.rglob("*.jsonl")):
                    blob = bucket.blob(path.relative_to(bucket_dir).as_posix())
                    blob.upload_from_filename(str(path))
            yield True
        finally:
            if previous is None:
                os.environ.pop("STORAGE_EMULATOR_HOST", None)
            else:
                os.environ["STORAGE_EMULATOR_HOST"] = previous


