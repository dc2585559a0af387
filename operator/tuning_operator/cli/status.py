"""`status` and `history`: what the operator knows, read offline from its state directory.

The table itself is drawn by `manager.live`, shared with `run --live`. The JSON uses the same
camelCase words as the events. `status --check-datasets` is the one part that reads more than
the state directory: it stats each recorded dataset object and names those overwritten since
the job trained on them (`trained on generation G, now H`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuning_operator.manager.live import status_table

if TYPE_CHECKING:
    from tuning_operator.state.store import JobRecord

DEFAULT_STATE_DIR = ".tuning-operator"


def register(sub: Any) -> None:
    status = sub.add_parser("status", help="every job's phase, from the state directory")
    status.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    status.add_argument("--format", choices=("table", "json"), default="table")
    status.add_argument("--check-datasets", action="store_true",
                        help="stat each job's dataset objects: say which were overwritten"
                             " since the job trained on them")
    status.set_defaults(handler=status_command)

    history = sub.add_parser("history", help="one job's (or alias's) audit trail, newest last")
    history.add_argument("name")
    history.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    history.add_argument("--format", choices=("text", "json"), default="text")
    history.set_defaults(handler=history_command)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _shown(value: Any) -> Any:
    """A sub-record as stored, its keys in camelCase (the stored data statistics and pre-flight
    are in snake case; the diagnosis and the evaluation are already camelCase)."""
    if isinstance(value, dict):
        return {_camel(k): v for k, v in value.items()}
    return value


def job_json(stored: dict[str, Any]) -> dict[str, Any]:
    """One record as `status --format json` shows it: camelCase keys, and Vertex's evaluation
    during tuning inside the `evaluation` block, beside the operator's own (an `evaluation` of
    only `duringTuning` until the operator has evaluated)."""
    # Keyed by checkpoint id: those keys are Vertex's, never camel-cased.
    during = stored.get("during_tuning")
    job = {_camel(k): _shown(v) for k, v in stored.items() if k != "during_tuning"}
    if during:
        job["evaluation"] = {**(job.get("evaluation") or {}), "duringTuning": during}
    return job


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


def dataset_drift(records: Iterable[JobRecord]) -> dict[str, dict[str, dict[str, str | None]]]:
    """Per job, each dataset object whose generation is no longer the one it trained on (URI →
    trainedOn, now: None when the object is gone, or why it could not be read)."""
    from tuning_operator.datasets.objects import DatasetObjects
    from tuning_operator.errors import OperatorError

    objects = DatasetObjects()
    now_of: dict[str, dict[str, str | None]] = {}
    drift: dict[str, dict[str, dict[str, str | None]]] = {}
    for record in sorted(records, key=lambda r: r.name):
        trained = record.preflight.generations if record.preflight else {}
        for uri, generation in sorted(trained.items()):
            if uri not in now_of:
                try:
                    now_of[uri] = {"now": objects.stat(uri, deadline=10.0).generation}
                except OperatorError as exc:  # DatasetNotFound, TemporaryError, ConfigError
                    now_of[uri] = {"now": None, "error": str(exc)}
            if now_of[uri]["now"] != generation:
                drift.setdefault(record.name, {})[uri] = {"trainedOn": generation,
                                                          **now_of[uri]}
    return drift


def _drift_lines(drift: dict[str, dict[str, dict[str, str | None]]]) -> list[str]:
    return [f"{job}: trained on {uri} generation {seen['trainedOn']}, now "
            + (seen["now"] or f"unreadable ({seen.get('error')})")
            for job, uris in drift.items() for uri, seen in uris.items()]


def status_command(args: argparse.Namespace) -> int:
    from tuning_operator.reconciling.health import read_health
    from tuning_operator.state.records import alias_to_json
    from tuning_operator.state.store import FileStatusStore

    store = FileStatusStore(args.state_dir)
    records = store.fetch()
    health = read_health(Path(args.state_dir))
    # The same warnings, errors and exit code for every format; JSON goes to stdout regardless.
    if store.recovered:
        print(f"warning: {store.recovered}", file=sys.stderr)
    aliases = {k: alias_to_json(r) for k, r in sorted(store.memory.aliases.items())}
    drift = dataset_drift(records.values()) if args.check_datasets else {}
    if args.format == "json":
        jobs = [job_json(r.to_dict()) for r in sorted(records.values(), key=lambda r: r.name)]
        if args.check_datasets:
            for job in jobs:
                job["datasetsChanged"] = drift.get(job["name"], {})
        print(json.dumps({"operator": health, "jobs": jobs, "aliases": aliases}, indent=2))
    elif line := vertex_line(health):
        print(line)
    if not records:
        print(f"no jobs recorded in {args.state_dir} (has the operator run with this"
              " --state-dir?)", file=sys.stderr)
        return 1
    if args.format == "json":
        return 0
    from rich.console import Console

    revisions = {r.last_applied_revision for r in records.values()}
    revision = next(iter(revisions)) if len(revisions) == 1 else None
    at = f" at {revision[:12]}" if revision else ""
    Console().print(status_table(records.values(), title=f"{len(records)} jobs{at}"))
    for key, alias in aliases.items():  # the aliases a failed gate holds (`aliases` has all)
        if alias["hold"]:
            print(f"hold {key}: {alias['hold']}")
    for line in _drift_lines(drift):
        print(line)
    return 0


def history_command(args: argparse.Namespace) -> int:
    from tuning_operator.events import read_history, read_trail

    trail = Path(args.state_dir) / "audit.jsonl"
    if not trail.exists():
        print(f"no audit trail at {trail}", file=sys.stderr)
        return 1
    # An alias is recorded as `team/alias`: its bare name finds it too.
    records = read_history(trail, args.name) or [
        r for r in read_trail(trail) if r.job.endswith(f"/{args.name}")]
    if not records:
        print(f"no history for job {args.name!r} in {trail}", file=sys.stderr)
        return 1
    for r in records:
        if args.format == "json":
            sys.stdout.write(r.to_json_line().decode())
            continue
        who = f" by {r.git_author} @ {r.git_commit[:12]}" if r.git_commit and r.git_author else (
            f" (author unknown: {r.provenance_unknown})" if r.provenance_unknown else "")
        phase = f" {r.previous_phase or '∅'} → {r.phase}" if r.action == "phase-changed" else ""
        print(f"{r.time.isoformat(timespec='seconds')} {r.action}{phase}: {r.reason}{who}")
    return 0
