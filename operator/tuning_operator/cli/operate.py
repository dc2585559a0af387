"""The operator's commands: `run` (the service), `demo`, and the offline `status` / `history`.

Settings come from flags, then `TUNING_OPERATOR_*` environment variables, then a `--config`
YAML file, then the defaults below: flags win. Google Cloud and gRPC are imported only once
`run` knows it needs them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
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

    status = sub.add_parser("status", help="every job's phase, from the state directory")
    status.add_argument("--state-dir", default=DEFAULTS["state_dir"])
    status.add_argument("--format", choices=("table", "json"), default="table")
    status.set_defaults(handler=status_command)

    history = sub.add_parser("history", help="one job's audit trail, newest last")
    history.add_argument("name")
    history.add_argument("--state-dir", default=DEFAULTS["state_dir"])
    history.add_argument("--format", choices=("text", "json"), default="text")
    history.set_defaults(handler=history_command)


def add_run_options(run: argparse.ArgumentParser) -> None:
    add = run.add_argument
    add("--config", help="YAML file with any of these settings (keys as the flags, no --)")
    add("--jobs-dir", help="the directory of job files (default: jobs)")
    add("--project", help="real Vertex in this project (application default credentials)")
    add("--region", help="region of jobs that name none (default: us-central1)")
    add("--vertex-endpoint", metavar="HOST:PORT", help="an emulator instead of Vertex")
    add("--vertex-transport", choices=("grpc", "rest"))
    add("--state-dir", help="status store, outbox, audit trail (default: .tuning-operator)")
    add("--max-concurrent-jobs", type=int, help="concurrent tuning jobs per region (the quota)")
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
    return run_operator(resolve_settings(args))


def run_operator(options: argparse.Namespace) -> int:
    """Build the operator from its settings and run it until it is done or told to stop."""
    from tuning_operator.events import AuditTrail, Outbox, open_sink
    from tuning_operator.reconciling.loop import LoopSettings, OperatorLoop
    from tuning_operator.reconciling.metrics import OperatorMetrics
    from tuning_operator.reconciling.reconciler import OperatorSettings, Reconciler
    from tuning_operator.reconciling.recording import EventRecorder
    from tuning_operator.reconciling.watch import DirectoryWatch
    from tuning_operator.state.lease import default_holder, open_lease
    from tuning_operator.state.store import FileStatusStore

    configure_logging(options.log_file)
    state_dir = Path(options.state_dir)
    jobs_dir = Path(options.jobs_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        vertex = _open_vertex(options, state_dir, stack)
        sink = open_sink(options.events or f"file:{state_dir / 'events.jsonl'}")
        stack.callback(sink.close)
        outbox = Outbox(state_dir / "outbox", sink)
        stack.callback(outbox.close, 10.0)
        audit = AuditTrail(state_dir / "audit.jsonl")
        stack.callback(audit.close)
        instance = default_holder()
        recorder = EventRecorder(outbox=outbox, audit=audit, jobs_dir=jobs_dir, instance=instance)
        reconciler = Reconciler(
            settings=OperatorSettings(
                jobs_dir=jobs_dir, default_region=options.region,
                max_concurrent_jobs=options.max_concurrent_jobs,
                create_fence_seconds=options.create_fence, settle_seconds=options.settle,
                allow_mass_deletion=options.allow_mass_deletion),
            vertex=vertex, store=FileStatusStore(state_dir), recorder=recorder,
            datasets=_dataset_checker(options), revision_of=recorder.provenance.revision)
        lease = open_lease(options.lease, clock=time.time)
        metrics = OperatorMetrics()
        if options.metrics_port is not None:
            stack.callback(metrics.serve(options.metrics_port, options.metrics_address).shutdown)
        live = _LiveTable(reconciler) if options.live else None
        if live is not None:
            stack.enter_context(live)
        loop = OperatorLoop(
            reconciler=reconciler, lease=lease,
            settings=LoopSettings(resync_seconds=options.resync, once=options.once,
                                  until_settled=options.until_settled,
                                  deadline_seconds=options.deadline),
            metrics=metrics, on_pass=live.refresh if live else None)
        if not options.once:
            DirectoryWatch(jobs_dir, on_change=loop.trigger, stop=loop.stop,
                           on_failure=lambda _exc: metrics.watch_restarts.inc()).start()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: loop.shutdown())
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


def _open_vertex(options: argparse.Namespace, state_dir: Path, stack: ExitStack) -> Any:
    from tuning_operator.vertex.budget import RequestBudget
    from tuning_operator.vertex.jobs import VertexTuningJobs

    budget = RequestBudget(crud_per_minute=options.crud_per_minute,
                           submissions_per_minute=options.submissions_per_minute)
    if options.project and not options.vertex_endpoint:
        return stack.enter_context(VertexTuningJobs.for_vertex(project=options.project,
                                                               budget=budget))
    endpoint = options.vertex_endpoint
    if endpoint is None:  # the embedded default: an emulator in this process
        from tuning_operator.emulator import VertexEmulator

        emulator = VertexEmulator(job_seconds=options.emulator_job_seconds,
                                  state_file=state_dir / "emulator-state.json")
        stack.enter_context(emulator)
        endpoint = emulator.grpc_endpoint
        if options.vertex_transport == "rest":
            endpoint = emulator.rest_endpoint.removeprefix("http://")
    return stack.enter_context(VertexTuningJobs.for_emulator(
        endpoint, project=options.project or "local-project", budget=budget,
        transport=options.vertex_transport))


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
        self.live.update(status_table(records, title=title))


def status_table(records: Any, *, title: str) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("job", "team", "phase", "vertex state", "age", "last change", "reason"):
        table.add_column(column, overflow="fold")
    now = time.time()
    colours = {"Succeeded": "green", "Failed": "red", "Invalid": "red", "Conflict": "yellow",
               "Waiting": "yellow", "Running": "cyan", "Submitted": "cyan"}
    for r in sorted(records, key=lambda r: (r.team or "", r.name)):
        phase = r.phase or "-"
        table.add_row(r.name, r.team or "-", f"[{colours.get(phase, 'white')}]{phase}[/]",
                      (r.vertex_state or "-").removeprefix("JOB_STATE_"),
                      _age(now - r.first_seen), _age(now - r.updated) if r.updated else "-",
                      (r.reason or "")[:80])
    return table


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


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
    state_dir.mkdir(parents=True)
    with _demo_datasets(Path(args.jobs_dir).parent / "datasets"):
        code = run_operator(options)
    events = state_dir / "events.jsonl"
    count = sum(1 for _ in events.open()) if events.exists() else 0
    print(f"\n{'settled' if code == 0 else 'NOT settled'}: {count} status events in {events};"
          f" audit trail {state_dir / 'audit.jsonl'}; logs {options.log_file}")
    print(f"next: tuning-operator status --state-dir {state_dir}  |  "
          f"tuning-operator history ticket-classifier-v3 --state-dir {state_dir}")
    return code


@contextlib.contextmanager
def _demo_datasets(root: Path) -> Iterator[None]:
    """fake-gcs-server with examples/datasets uploaded, so the pre-flight reads real objects."""
    from tuning_operator.datasets.testing import FakeGcsServer

    with FakeGcsServer() as server:
        previous = os.environ.get("STORAGE_EMULATOR_HOST")
        os.environ["STORAGE_EMULATOR_HOST"] = server.url
        try:
            client = server.client()
            for bucket_dir in sorted(p for p in root.iterdir() if p.is_dir()):
                bucket = client.create_bucket(bucket_dir.name)
                for path in sorted(bucket_dir.rglob("*.jsonl")):
                    blob = bucket.blob(path.relative_to(bucket_dir).as_posix())
                    blob.upload_from_filename(str(path))
            yield
        finally:
            if previous is None:
                os.environ.pop("STORAGE_EMULATOR_HOST", None)
            else:
                os.environ["STORAGE_EMULATOR_HOST"] = previous


def status_command(args: argparse.Namespace) -> int:
    from tuning_operator.state.store import FileStatusStore

    records = FileStatusStore(args.state_dir).fetch()
    if args.format == "json":
        print(json.dumps([vars(r) for r in sorted(records.values(), key=lambda r: r.name)],
                         indent=2))
        return 0
    if not records:
        print(f"no jobs recorded in {args.state_dir} (has the operator run with this"
              " --state-dir?)", file=sys.stderr)
        return 1
    from rich.console import Console

    [*revisions] = {r.last_applied_revision for r in records.values()}
    at = f" at {revisions[0][:12]}" if len(revisions) == 1 and revisions[0] else ""
    Console().print(status_table(records.values(), title=f"{len(records)} jobs{at}"))
    return 0


def history_command(args: argparse.Namespace) -> int:
    from tuning_operator.events import read_history

    trail = Path(args.state_dir) / "audit.jsonl"
    if not trail.exists():
        print(f"no audit trail at {trail}", file=sys.stderr)
        return 1
    records = read_history(trail, args.name)
    if not records:
        print(f"no history for job {args.name!r} in {trail}", file=sys.stderr)
        return 1
    for r in records:
        if args.format == "json":
            sys.stdout.write(r.to_json_line().decode())
            continue
        who = f" by {r.git_author} @ {r.git_commit[:12]}" if r.git_commit and r.git_author else ""
        phase = f" {r.previous_phase or '∅'} → {r.phase}" if r.action == "phase-changed" else ""
        print(f"{r.time.isoformat(timespec='seconds')} {r.action}{phase}: {r.reason}{who}")
    return 0
