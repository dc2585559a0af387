"""Rewrite a Gemini API dataset (`text_input` / `output`) as a Vertex dataset (`contents`).

One pass, one line in, one line out: `{"text_input": X, "output": Y}` becomes a user turn X and
a model turn Y. Lines already in the Vertex format pass through unchanged, so a half-converted
file can be finished. A line that is neither is reported with its line number and not written;
the caller decides whether a partial output is acceptable. A byte-order mark and blank lines
are dropped. The Gemini API's character limits do
not apply to the result (Vertex limits tokens, which `check_dataset` checks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tuning_operator.datasets.examples import BOM, decode_line
from tuning_operator.datasets.findings import (
    DatasetRole,
    Finding,
    FindingKind,
    FindingLog,
    FindingTotal,
)
from tuning_operator.datasets.gemini_api import (
    INPUT_FIELD,
    OUTPUT_FIELD,
    gemini_api_fields,
    to_vertex,
)


@dataclass(frozen=True)
class Conversion:
    """What a conversion did; `skipped` lines were not written (see the findings)."""

    lines: int
    converted: int
    passed_through: int
    skipped: int
    findings: tuple[Finding, ...]
    totals: tuple[FindingTotal, ...]


def convert_gemini_api(
    lines: Iterable[bytes], write: Callable[[bytes], object], *, listed_per_kind: int = 5
) -> Conversion:
    """Convert line by line, calling `write` with each output line (newline included)."""
    log = FindingLog(DatasetRole.TRAINING, listed_per_kind=listed_per_kind)
    converted = passed = skipped = 0
    line = 0
    for line, raw in enumerate(lines, 1):
        if line == 1:
            raw = raw.removeprefix(BOM)  # noqa: PLW2901 - the output is written without it
        if not raw.strip():
            continue  # blank lines are dropped: the output is clean JSONL
        obj = decode_line(raw, line, log)
        if isinstance(obj, dict) and "contents" in obj:
            write(raw.rstrip(b"\r\n") + b"\n")
            passed += 1
            continue
        fields = None
        if isinstance(obj, dict) and (INPUT_FIELD in obj or OUTPUT_FIELD in obj):
            fields = gemini_api_fields(obj, line, log)
        elif obj is not None:
            log.add(
                FindingKind.NOT_AN_OBJECT if not isinstance(obj, dict)
                else FindingKind.MISSING_CONTENTS,
                f"neither the Gemini API format ({INPUT_FIELD}/{OUTPUT_FIELD}) nor a Vertex"
                " example (contents)",
                line=line,
            )
        if fields is None:
            skipped += 1
            continue
        write(to_vertex(*fields) + b"\n")
        converted += 1
    return Conversion(
        lines=line,
        converted=converted,
        passed_through=passed,
        skipped=skipped,
        findings=log.findings(),
        totals=log.totals(),
    )
