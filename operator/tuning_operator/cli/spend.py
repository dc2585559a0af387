"""`spend`: the ledger per team and model for one UTC month, estimated vs billed.

Reads the state directory (what each create expected, what Vertex billed) and the policy's
prices from the jobs directory; no cloud call, so it runs wherever `status` runs. Jobs count
in the month they were created.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from tuning_operator.cli.gitops import DEFAULT_JOBS_DIR
from tuning_operator.cli.status import DEFAULT_STATE_DIR
from tuning_operator.planning.cost import money_text, tokens_text
from tuning_operator.specs.money import Prices

if TYPE_CHECKING:
    from tuning_operator.state.ledger import LedgerRow

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def register(sub: Any) -> None:
    spend = sub.add_parser("spend", help="estimated vs billed tokens and cost per team and model")
    spend.add_argument("--month", help="YYYY-MM, UTC (default: this month)")
    spend.add_argument("--team", help="only this team")
    spend.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    spend.add_argument("--jobs-dir", default=DEFAULT_JOBS_DIR,
                       help="where `_policy.yaml` gives the prices (none: tokens only)")
    spend.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    spend.set_defaults(handler=run_spend)


def _sum(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(v or 0.0 for v in values)


def totals(rows: list[LedgerRow], prices: Prices | None) -> list[dict[str, Any]]:
    """One entry per (team, model): jobs, estimated and billed tokens and cost."""
    groups: dict[tuple[str, str], list[LedgerRow]] = defaultdict(list)
    for row in rows:
        groups[(row.team, row.model or "unknown")].append(row)
    result = []
    for (team, model), group in sorted(groups.items()):
        billed = [r.billed_tokens for r in group if r.billed_tokens is not None]
        asked = [r.billed_prediction.total for r in group if r.billed_prediction is not None]
        estimated = _sum([None if r.estimated_tokens is None else float(r.estimated_tokens)
                          for r in group])
        result.append({
            "team": team, "model": model, "jobs": len(group),
            "estimatedTrainingTokens": None if estimated is None else int(estimated),
            "billedTrainingTokens": sum(billed) if billed else None,
            "billedJobs": len(billed),
            "predictionTokens": sum(r.prediction_tokens or 0 for r in group),
            "billedPredictionTokens": sum(asked) if asked else None,
            "billedPredictionJobs": len(asked),
            "estimatedCost": _round(_sum([r.cost(prices, billed=False) for r in group])),
            "billedCost": _round(_sum([r.cost(prices, billed=True) for r in group
                                       if r.billed_tokens is not None])) if billed else None,
            "epochsAssumed": sum(r.epochs_assumed for r in group),
        })
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def run_spend(args: argparse.Namespace) -> int:
    from tuning_operator.specs import load_jobs_dir
    from tuning_operator.state.ledger import BILLED_NOTE, ledger, month_of
    from tuning_operator.state.store import FileStatusStore

    month = args.month or month_of(time.time())
    if not MONTH.match(month):
        print(f"--month {month!r}: expected YYYY-MM", file=sys.stderr)
        return 1
    load = load_jobs_dir(args.jobs_dir)
    prices = load.policy.prices if load.policy else None
    rows = [r for r in ledger(FileStatusStore(args.state_dir).fetch().values())
            if r.month == month and (args.team is None or r.team == args.team)]
    entries = totals(rows, prices)
    currency = prices.currency if prices else None
    if args.format == "json":
        print(json.dumps({"month": month, "currency": currency, "note": BILLED_NOTE,
                          "teams": entries}, indent=2))
        return 0
    print(_markdown(month, entries, currency) if args.format == "markdown"
          else _table(month, entries, currency))
    return 0


def _cells(entry: dict[str, Any], currency: str | None) -> list[str]:
    def tokens(value: int | None) -> str:
        return "-" if value is None else tokens_text(value)

    def cost(value: float | None) -> str:
        return "unpriced" if value is None else money_text(value, currency)

    billed = tokens(entry["billedTrainingTokens"])
    if entry["billedJobs"] < entry["jobs"]:
        billed += f" ({entry['billedJobs']}/{entry['jobs']} jobs)"
    asked = "-" if not entry["predictionTokens"] else f"≈{tokens(entry['predictionTokens'])}"
    if entry["billedPredictionTokens"] is not None:
        asked = (f"{tokens(entry['billedPredictionTokens'])} billed"
                 f" ({entry['billedPredictionJobs']}/{entry['jobs']} jobs)")
    return [entry["team"], entry["model"], str(entry["jobs"]),
            tokens(entry["estimatedTrainingTokens"]), billed, asked,
            cost(entry["estimatedCost"]),
            "-" if entry["billedJobs"] == 0 else cost(entry["billedCost"])]


HEADER = ["team", "model", "jobs", "estimated tokens", "billed tokens", "prediction tokens",
          "estimated cost", "billed cost"]


def _table(month: str, entries: list[dict[str, Any]], currency: str | None) -> str:
    from tuning_operator.state.ledger import BILLED_NOTE  # the state package: `spend` only

    if not entries:
        return f"{month}: no jobs created"
    rows = [HEADER] + [_cells(e, currency) for e in entries]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    return "\n".join([f"spend {month} (UTC)", *lines, f"note: {BILLED_NOTE}"])


def _markdown(month: str, entries: list[dict[str, Any]], currency: str | None) -> str:
    from tuning_operator.state.ledger import BILLED_NOTE

    lines = [f"### tuning-operator spend {month} (UTC)", "",
             "| " + " | ".join(HEADER) + " |", "|---" * len(HEADER) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in _cells(e, currency)) + " |"
              for e in entries]
    return "\n".join([*lines, "", f"_{BILLED_NOTE}_"])
