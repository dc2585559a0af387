"""The emulator's jobs on disk, so a restarted emulator (and operator) sees the same jobs.

One JSON document, rewritten whole after every create and cancel: written to a temporary file
in the same directory, then renamed over the old one, so a crash leaves either the old or the
new state and never half of one. Only the facts the timeline is derived from are stored; states
are recomputed on load. This module never decides anything about the jobs it stores.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from tuning_operator.emulator.datastats import CountedData
from tuning_operator.emulator.timeline import JobRecord

FORMAT_VERSION = 1


def _record_document(record: JobRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "createdAt": record.created_at,
        "durationSeconds": record.duration,
        "outcome": record.outcome,
        "cancelRequestedAt": record.cancel_requested_at,
        "cancelSeconds": record.cancel_seconds,
        "submitted": record.submitted,
        **({"counted": asdict(record.counted)} if record.counted is not None else {}),
    }


def counted_from(document: dict[str, Any]) -> CountedData | None:
    """The counted training file a stored job document carries (None: absent or malformed)."""
    counted = document.get("counted")
    try:
        return CountedData(**{k: int(v) for k, v in counted.items()}) if counted else None
    except (AttributeError, TypeError, ValueError):
        return None


def save(path: Path, records: Iterable[JobRecord]) -> None:
    """Replace the state file atomically with these records."""
    write_json(path, {"version": FORMAT_VERSION, "jobs": [_record_document(r) for r in records]})


def write_json(path: Path, document: Any) -> None:
    """Replace `path` atomically with `document` as JSON (the job state, the model aliases)."""
    payload = orjson.dumps(document, option=orjson.OPT_INDENT_2)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(path: Path) -> list[dict[str, Any]]:
    """The stored job documents in create order; an absent file is an empty store."""
    if not path.exists():
        return []
    document = orjson.loads(path.read_bytes())
    if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: not an emulator state file of version {FORMAT_VERSION};"
            " delete it or point --state at another file"
        )
    jobs = document.get("jobs", [])
    assert isinstance(jobs, list)
    return jobs
