"""`aliases`: where each ModelAlias points, read offline from the operator's state directory.

One row per alias (`team/alias`): the job and Model version it is on, the checkpoint and
endpoint applications should call, since when, on whose commit, and any hold (a failed gate
keeps the alias where it is; the hold says why). The JSON has the words of the alias events.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from tuning_operator.cli.status import DEFAULT_STATE_DIR


def register(sub: Any) -> None:
    aliases = sub.add_parser("aliases", help="every model alias and where it points")
    aliases.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    aliases.add_argument("--format", choices=("table", "json"), default="table")
    aliases.set_defaults(handler=aliases_command)


def aliases_command(args: argparse.Namespace) -> int:
    from tuning_operator.state.records import alias_to_json
    from tuning_operator.state.store import FileStatusStore

    store = FileStatusStore(args.state_dir)
    store.fetch()
    if store.recovered:
        print(f"warning: {store.recovered}", file=sys.stderr)
    records = sorted(store.memory.aliases.items())
    if args.format == "json":
        print(json.dumps({"aliases": [{"key": k, **alias_to_json(r)} for k, r in records]},
                         indent=2))
        return 0
    if not records:
        print(f"no aliases recorded in {args.state_dir}", file=sys.stderr)
        return 1
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(records)} aliases")
    for column in ("alias", "team", "job", "model version", "checkpoint", "endpoint", "since",
                   "author", "revision", "hold"):
        table.add_column(column)
    for _, r in records:
        since = (datetime.fromtimestamp(r.since, UTC).isoformat(timespec="seconds")
                 if r.since else "-")
        table.add_row(r.alias, r.team, r.job or "-", r.model_version or "-",
                      r.checkpoint or "final", r.endpoint or "-", since, r.git_author or "-",
                      (r.git_revision or "-")[:12], r.hold or "")
    Console().print(table)
    return 0
