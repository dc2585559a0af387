"""The table of every job's phase: printed once by `status`, redrawn after each pass by `run
--live` (on stderr, so the JSON logs on stdout stay clean).

Tables never break a job name mid-word and never drop what a person must see: on a narrow
terminal the team, Vertex state and ages go first, while the verdict (curves · gate) stays and
the reason wraps onto more lines. rich is imported only when a table is drawn.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

_COLOURS = {"Succeeded": "green", "Failed": "red", "Invalid": "red", "Conflict": "yellow",
            "Waiting": "yellow", "Blocked": "red", "Running": "cyan", "Submitted": "cyan"}
# Columns in the order they are given up when the terminal is narrow (last one first); the
# first four are always shown.
_COLUMNS = ("job", "phase", "verdict", "reason", "continued from", "team", "vertex state",
            "last change", "age")
_KEPT = 4


def status_table(records: Iterable[Any], *, title: str, width: int | None = None) -> Any:
    """The records as a rich table that fits `width` (the terminal's by default)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    width = width or Console(stderr=True).width
    rows = sorted(records, key=lambda r: (r.team or "", r.name))
    now = time.time()
    cells = [{
        "job": r.name, "team": r.team or "-", "phase": r.phase or "-",
        "vertex state": (r.vertex_state or "-").removeprefix("JOB_STATE_"),
        "age": _age(now - r.first_seen), "last change": _age(now - r.updated) if r.updated else "-",
        "reason": r.reason or "", "verdict": verdict(r),
        "continued from": r.lineage.short() if r.lineage else "-",
    } for r in rows]
    columns = list(_COLUMNS)
    needed = {c: max([len(c), *(len(row[c]) for row in cells)]) for c in columns}
    needed["reason"] = min(needed["reason"], 20)  # the reason wraps onto more lines
    while len(columns) > _KEPT and sum(needed[c] + 3 for c in columns) > width:
        columns.pop()
    below = sum(needed[c] + 3 for c in columns) > width  # too narrow: the reason goes under
    if below:
        columns.remove("reason")
    table = Table(title=title, title_justify="left")
    for column in columns:
        wraps = column in ("reason", "verdict")
        table.add_column(column, no_wrap=not wraps, overflow="fold" if wraps else "ellipsis",
                         ratio=1 if column == "reason" else None,
                         min_width=needed[column] if column == "phase" else None,
                         max_width=needed[column] if column == "job" else None)
    for row in cells:
        phase = row["phase"]
        row["phase"] = f"[{_COLOURS.get(phase, 'white')}]{phase}[/]"
        table.add_row(*(row[c] for c in columns))
        if below and row["reason"]:  # its own line under the job, wrapped, never cut
            table.add_row(Text(f"  {row['reason']}", style="dim", no_wrap=False,
                               overflow="fold"), *([""] * (len(columns) - 1)))
    return table


def verdict(record: Any) -> str:
    """The curves' verdict and the evaluation gate's, e.g. `overfitting · gate failed`."""
    parts = []
    if record.diagnosis is not None:
        parts.append(str(record.diagnosis.verdict))
    if record.evaluation is not None:
        parts.append(f"gate {record.evaluation.verdict}")
    return " · ".join(parts) or "-"


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


class LiveTable:
    """A rich table of every job's phase, redrawn after each pass (on stderr)."""

    def __init__(self, status: Any) -> None:
        """`status`: the reconciler's read-only view (`reconciling.status.StatusView`)."""
        from rich.console import Console
        from rich.live import Live

        self.status = status
        self.started = time.time()
        self.live = Live(console=Console(stderr=True), refresh_per_second=4, transient=False)

    def __enter__(self) -> LiveTable:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def refresh(self, report: Any) -> None:
        records = self.status.records().values()
        title = (f"tuning-operator · pass {report.generation} · "
                 f"{time.time() - self.started:4.0f} s · {len(records)} jobs")
        self.live.update(status_table(records, title=title))
