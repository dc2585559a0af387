"""`status` and `history`: what the operator knows, read offline from its state directory.

Tables never break a job name mid-word: on a narrow terminal the less important columns go
first and long cells end in an ellipsis. The JSON uses the same camelCase words as the events.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_STATE_DIR = ".tuning-operator"
_COLOURS = {"Succeeded": "green", "Failed": "red", "Invalid": "red", "Conflict": "yellow",
            "Waiting": "yellow", "Running": "cyan", "Submitted": "cyan"}
# Columns in the order they are given up when the terminal is narrow (last one first).
_COLUMNS = ("job", "phase", "team", "vertex state", "last change", "reason", "age")


def register(sub: Any) -> None:
    status = sub.add_parser("status", help="every job's phase, from the state directory")
    status.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    status.add_argument("--format", choices=("table", "json"), default="table")
    status.set_defaults(handler=status_command)

    history = sub.add_parser("history", help="one job's audit trail, newest last")
    history.add_argument("name")
    history.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    history.add_argument("--format", choices=("text", "json"), default="text")
    history.set_defaults(handler=history_command)


def status_table(records: Iterable[Any], *, title: str, width: int | None = None) -> Any:
    from rich.console import Console
    from rich.table import Table

    width = width or Console(stderr=True).width
    rows = sorted(records, key=lambda r: (r.team or "", r.name))
    now = time.time()
    cells = [{
        "job": r.name, "team": r.team or "-", "phase": r.phase or "-",
        "vertex state": (r.vertex_state or "-").removeprefix("JOB_STATE_"),
        "age": _age(now - r.first_seen), "last change": _age(now - r.updated) if r.updated else "-",
        "reason": r.reason or "",
    } for r in rows]
    columns = list(_COLUMNS)
    needed = {c: max([len(c), *(len(row[c]) for row in cells)]) for c in columns}
    needed["reason"] = min(needed["reason"], 20)  # the reason is the column that gets cut
    while len(columns) > 2 and sum(needed[c] + 3 for c in columns) > width:
        columns.pop()
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, no_wrap=True, overflow="ellipsis",
                         ratio=1 if column == "reason" else None)
    for row in cells:
        phase = row["phase"]
        row["phase"] = f"[{_COLOURS.get(phase, 'white')}]{phase}[/]"
        table.add_row(*(row[c] for c in columns))
    return table


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _when(at: float | None) -> str | None:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds") if at else None


def vertex_line(health: dict[str, Any]) -> str | None:
    """One line on how fresh the phases are: when Vertex was last listed, and any failure."""
    if not health:
        return None
    reached = _when(health.get("vertexLastReached")) or "never"
    line = f"Vertex last reached: {reached}"
    if health.get("vertexError"):
        line += (f"; failing since {_when(health.get('vertexFailingSince'))}:"
                 f" {health['vertexError']} (the phases below may be stale)")
    return line


def status_command(args: argparse.Namespace) -> int:
    from tuning_operator.reconciling.health import read_health
    from tuning_operator.state.store import FileStatusStore

    store = FileStatusStore(args.state_dir)
    records = store.fetch()
    health = read_health(Path(args.state_dir))
    if args.format == "json":
        jobs = [{_camel(k): v for k, v in r.to_dict().items()}
                for r in sorted(records.values(), key=lambda r: r.name)]
        print(json.dumps({"operator": health, "jobs": jobs}, indent=2))
        return 0
    if store.recovered:
        print(f"warning: {store.recovered}", file=sys.stderr)
    line = vertex_line(health)
    if line:
        print(line)
    if not records:
        print(f"no jobs recorded in {args.state_dir} (has the operator run with this"
              " --state-dir?)", file=sys.stderr)
        return 1
    from rich.console import Console

    revisions = {r.last_applied_revision for r in records.values()}
    revision = next(iter(revisions)) if len(revisions) == 1 else None
    at = f" at {revision[:12]}" if revision else ""
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
