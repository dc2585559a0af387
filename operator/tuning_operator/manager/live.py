"""The table of every job's phase: printed once by `status`, redrawn after each pass by `run
--live` (on stderr, so the JSON logs on stdout stay clean).

Tables never break a job name mid-word: on a narrow terminal the less important columns go
first and long cells end in an ellipsis. rich is imported only when a table is drawn.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

_COLOURS = {"Succeeded": "green", "Failed": "red", "Invalid": "red", "Conflict": "yellow",
            "Waiting": "yellow", "Running": "cyan", "Submitted": "cyan"}
# Columns in the order they are given up when the terminal is narrow (last one first).
_COLUMNS = ("job", "phase", "team", "vertex state", "last change", "reason", "age")


def status_table(records: Iterable[Any], *, title: str, width: int | None = None) -> Any:
    """The records as a rich table that fits `width` (the terminal's by default)."""
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
