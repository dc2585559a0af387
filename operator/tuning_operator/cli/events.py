"""`tuning-operator events tail`: print status events as they arrive, for operators on call.

It reads a subscription of the status topic (ordered, so each job's events print in order) and
acknowledges each event once printed. The Pub/Sub client is imported inside the handler only.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tuning_operator.errors import ConfigError


def register(sub: Any) -> None:
    """Add `events tail` to the top-level parser."""
    events = sub.add_parser("events", help="Follow the status events the operator publishes.")
    actions = events.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    tail = actions.add_parser(
        "tail",
        help="Print status events from a Pub/Sub subscription as they arrive.",
        description="Print status events from a subscription of the status topic, one line"
        " each, acknowledging each once printed. Ctrl-C stops.",
    )
    tail.add_argument(
        "--subscription",
        required=True,
        metavar="projects/P/subscriptions/S",
        help="A subscription of the status topic (ideally with message ordering on).",
    )
    tail.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: one readable line per event; json: the CloudEvent as one JSON line.",
    )
    tail.add_argument(
        "--max-messages",
        type=int,
        default=0,
        metavar="N",
        help="Stop after N events (default: never).",
    )
    tail.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="Stop after this many seconds (default: never).",
    )
    tail.set_defaults(handler=tail_events)


def tail_events(args: argparse.Namespace) -> int:
    from tuning_operator.events.pubsub import (
        parse_subscription,
        tail_subscription,
    )

    try:
        subscription = parse_subscription(args.subscription)
    except ConfigError as error:
        print(f"tuning-operator events tail: {error}", file=sys.stderr)
        return 2

    def show(event: Any) -> None:
        line = event.to_json_line().decode() if args.format == "json" else describe(event)
        sys.stdout.write(line if line.endswith("\n") else line + "\n")
        sys.stdout.flush()

    def warn(problem: str) -> None:
        print(f"skipped a message that is not a status event: {problem}", file=sys.stderr)

    tail_subscription(
        subscription,
        show,
        max_messages=args.max_messages,
        timeout=args.timeout,
        on_malformed=warn,
    )
    return 0


def describe(event: Any) -> str:
    """One line an engineer on call reads: when, which job, what changed, and why."""
    details = event.details or {}
    verdict = details.get("verdict") or (details.get("evaluation") or {}).get("verdict")
    change = (f"{event.type.split('.')[2]}: {verdict}" if verdict
              else f"{event.previous_phase or '-'} → {event.phase}")
    parts = [event.time.strftime("%Y-%m-%dT%H:%M:%SZ"), f"{event.team or '-'}/{event.job}", change]
    if event.vertex_state:
        parts.append(event.vertex_state.removeprefix("JOB_STATE_"))
    if event.error:
        parts.append(f"error: {event.error}")
    if event.reason:
        parts.append(f"({event.reason})")
    if event.git_author:
        parts.append(f"by {event.git_author}")
    return "  ".join(parts)
