"""`tuning-operator emulator`: run the Vertex tuning emulator until SIGTERM or Ctrl-C.

On start it prints one JSON line on stdout, `{"event": "emulator.ready", "grpc": "HOST:PORT",
"rest": "http://HOST:PORT", …}`, so a caller that asked for port 0 learns the ports it got.
The emulator package is imported inside the handler only (it pulls in gRPC).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any


def register(sub: Any) -> None:
    """Add the `emulator` command to the top-level parser."""
    parser = sub.add_parser(
        "emulator",
        help="run the Vertex AI tuning-job emulator (gRPC + REST) on loopback ports",
        description=(
            "Serve google.cloud.aiplatform.v1.GenAiTuningService on 127.0.0.1 over gRPC and"
            " REST, with Vertex's validation, a job state machine, quota and fault injection."
            " Admin routes (call counts, faults) live under /emulator/ on the REST port."
        ),
    )
    parser.add_argument("--port", type=int, default=8790, help="gRPC port (0: a free port)")
    parser.add_argument(
        "--rest-port", type=int, default=8791, help="REST and admin port (0: a free port)"
    )
    parser.add_argument(
        "--job-seconds", type=float, default=60.0, help="seconds from create to SUCCEEDED"
    )
    parser.add_argument(
        "--cancel-seconds", type=float, default=1.0, help="seconds a cancel stays in CANCELLING"
    )
    parser.add_argument(
        "--max-active",
        type=int,
        default=None,
        help="active jobs per quota scope before creates fail with RESOURCE_EXHAUSTED",
    )
    parser.add_argument(
        "--quota-scope",
        choices=("global", "region"),
        default="global",
        help="what --max-active counts: global (default, as Vertex: one count per project"
        " across every region) or region (one count per project and region)",
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="share of calls answered UNAVAILABLE / RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED",
    )
    parser.add_argument(
        "--ghost-create-rate",
        type=float,
        default=0.0,
        help="share of creates committed and then answered DEADLINE_EXCEEDED",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to each call")
    parser.add_argument(
        "--state", type=Path, default=None, metavar="FILE", help="persist jobs to FILE (JSON)"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of ids and random faults")
    parser.add_argument(
        "--answers", type=Path, default=None, metavar="FILE",
        help="scripted GenerateContent answers: a JSON list of {model, answers, default}",
    )
    parser.add_argument(
        "--autorater", type=Path, default=None, metavar="FILE",
        help="scripted EvaluateInstances scores: a JSON list of {metric, scores, default}",
    )
    parser.set_defaults(handler=run_emulator)


def run_emulator(args: argparse.Namespace) -> int:
    from tuning_operator.emulator import (
        EmulatorSettings,
        VertexEmulator,
    )

    try:
        settings = EmulatorSettings(
            port=args.port,
            rest_port=args.rest_port,
            job_seconds=args.job_seconds,
            cancel_seconds=args.cancel_seconds,
            max_active=args.max_active,
            quota_scope=args.quota_scope,
            fault_rate=args.fault_rate,
            ghost_create_rate=args.ghost_create_rate,
            latency_ms=args.latency_ms,
            state_file=args.state,
            seed=args.seed,
            answers_file=args.answers,
            autorater_file=args.autorater,
        )
        emulator = VertexEmulator(settings)
    except (ValueError, OSError, RuntimeError) as error:
        print(f"tuning-operator emulator: {error}", file=sys.stderr)
        return 2
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with emulator:
        ready = {
            "event": "emulator.ready",
            "grpc": emulator.grpc_endpoint,
            "rest": emulator.rest_endpoint,
            "admin": f"{emulator.rest_endpoint}/emulator/",
            "state": str(args.state) if args.state else None,
        }
        print(json.dumps(ready), flush=True)
        while not stopping.wait(0.1):
            pass
    return 0
