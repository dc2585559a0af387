"""The operator's commands: `run` (the service) and `demo`; their arguments only.

Settings come from flags, then `TUNING_OPERATOR_*` environment variables, then a `--config`
YAML file, then the defaults (manager/settings.py): flags win. The operator itself is built in
the manager package; Google Cloud and gRPC are imported only once `run` knows it needs them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tuning_operator.cli.options import add_decision_options


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
    add("--vertex-endpoint", metavar="HOST:PORT", help="an emulator instead of Vertex")
    add("--vertex-transport", choices=("grpc", "rest"))
    add("--state-dir", help="status store, outbox, audit trail (default: .tuning-operator)")
    add_decision_options(run)
    add("--resync", type=float, help="seconds between full passes (grows with List pages)")
    add("--once", action="store_true", default=None, help="one pass, then exit")
    add("--until-settled", action="store_true", default=None,
        help="exit 0 once every valid job is in a final phase")
    add("--deadline", type=float, help="with --until-settled: exit 1 after this many seconds")
    add("--lease", help="file:PATH or gs://BUCKET/OBJECT: only the holder acts")
    add("--lease-term", type=float, metavar="SECONDS",
        help="a gs:// lease lapses this long after its holder's last renewal (default: 30)")
    add("--metrics-port", type=int, help="serve /metrics, /healthz, /readyz on this port")
    add("--metrics-address", help="the address the metrics port listens on (default: 127.0.0.1;"
        " 0.0.0.0 in a container, for the probes)")
    add("--events", help="pubsub:projects/P/topics/T, file:PATH or stdout"
        " (default: file:STATE_DIR/events.jsonl)")
    add("--source", metavar="URI",
        help="the events' ce-source (default: //tuning-operator/PROJECT/JOBS-REPOSITORY, the"
        " same for every replica and restart)")
    add("--crud-per-minute", type=float, help="client-side Vertex CRUD request budget")
    add("--submissions-per-minute", type=float, help="client-side job submission budget")
    add("--predictions-per-minute", type=float,
        help="client-side generateContent budget of smoke tests and evaluations (default 600;"
        " raise it to your project's prediction quota)")
    add("--emulator-job-seconds", type=float, help="embedded emulator: seconds per job")
    add("--emulator-answers", metavar="FILE",
        help="embedded emulator: scripted generateContent answers (see `emulator --answers`)")
    add("--live", action="store_true", default=None, help="show a live status table (stderr)")
    add("--log-file", help="write the JSON logs here instead of stdout")
    add("--check-datasets", choices=("auto", "on", "off"),
        help="dataset pre-flight before each create; auto: on for real Vertex or with"
        " STORAGE_EMULATOR_HOST, off against an emulator without storage")


def run_command(args: argparse.Namespace) -> int:
    from tuning_operator.errors import ConfigError, OperatorError
    from tuning_operator.manager.composition import Shutdown, operate
    from tuning_operator.manager.settings import resolve_settings, validate_settings

    shutdown = Shutdown.on_signals()  # first, before anything is written
    try:
        return operate(validate_settings(resolve_settings(args)), shutdown=shutdown)
    except ConfigError as exc:
        print(f"tuning-operator run: {exc}", file=sys.stderr)
        return 2
    except (OperatorError, OSError) as exc:
        print(f"tuning-operator run: {exc}", file=sys.stderr)
        return 1


def demo_command(args: argparse.Namespace) -> int:
    """The README's demo: a fresh state, the embedded emulator, a live table, ends by itself."""
    from tuning_operator.manager.demo import run_demo

    return run_demo(jobs_dir=args.jobs_dir, state=args.state_dir, job_seconds=args.job_seconds,
                    write_report=_write_report)


def _write_report(name: str, state_dir: Path, output: Path) -> int:
    from tuning_operator.cli import main

    return main(["report", name, "--state-dir", str(state_dir), "--output", str(output)])
