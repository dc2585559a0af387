"""The Gemini API dataset format, `{"text_input": "…", "output": "…"}` (seed 001).

Teams moving from the Gemini API bring data in this format. Vertex tuning does not read it, so a
line in it is an error that names the fix (`tuning-operator dataset convert --from gemini-api`);
the line is still measured (tokens, duplicates, leakage) so the rest of the report is useful
before converting. Where the catalog gives the model's Gemini API character limits (1.5 Flash:
40,000 input, 5,000 output), they are checked too.

An example and its conversion have the same duplicate key, so leakage between a Gemini API file
and a Vertex file is still found.
"""

from __future__ import annotations

from typing import Any

import orjson

from tuning_operator.datasets.findings import FindingKind, FindingLog
from tuning_operator.datasets.stats import ExampleFacts
from tuning_operator.specs.catalog import BaseModel
from tuning_operator.specs.tokens import estimate_tokens

INPUT_FIELD = "text_input"
OUTPUT_FIELD = "output"


def gemini_api_fields(obj: dict[str, Any], line: int, log: FindingLog) -> tuple[str, str] | None:
    """(text_input, output) when both are non-empty strings, else None (logged)."""
    values = (obj.get(INPUT_FIELD), obj.get(OUTPUT_FIELD))
    for field, value in zip((INPUT_FIELD, OUTPUT_FIELD), values, strict=True):
        if type(value) is not str or not value.strip():
            log.add(FindingKind.GEMINI_API_FIELD_INVALID,
                    f"`{field}` must be a non-empty string", line=line)
            return None
    text_input, output = values
    assert isinstance(text_input, str) and isinstance(output, str)
    return text_input, output


def gemini_api_facts(
    obj: dict[str, Any], line: int, log: FindingLog, model: BaseModel
) -> ExampleFacts | None:
    """Log that the line needs converting, check its fields, and measure it as converted."""
    log.add(
        FindingKind.GEMINI_API_FORMAT,
        "Gemini API format (`text_input`/`output`); Vertex tuning needs `contents`:"
        " run `tuning-operator dataset convert --from gemini-api IN OUT`",
        line=line,
    )
    fields = gemini_api_fields(obj, line, log)
    if fields is None:
        return None
    text_input, output = fields
    _check_lengths(text_input, output, line, log, model)
    text_bytes = len(text_input.encode()) + len(output.encode())
    key = hash(("user", text_input.strip(), "model", output.strip()))
    return (estimate_tokens(text_bytes), 2, key, None, 0)


def _check_lengths(
    text_input: str, output: str, line: int, log: FindingLog, model: BaseModel
) -> None:
    input_limit = model.gemini_api_max_input_chars
    if input_limit is not None and len(text_input) > input_limit:
        log.add(FindingKind.GEMINI_API_INPUT_TOO_LONG,
                lambda: f"`text_input` has {len(text_input):,} characters; {model.name}'s"
                f" Gemini API limit is {input_limit:,}", line=line)
    output_limit = model.gemini_api_max_output_chars
    if output_limit is not None and len(output) > output_limit:
        log.add(FindingKind.GEMINI_API_OUTPUT_TOO_LONG,
                lambda: f"`output` has {len(output):,} characters; {model.name}'s"
                f" Gemini API limit is {output_limit:,}", line=line)


def to_vertex(text_input: str, output: str) -> bytes:
    """The Vertex JSONL line (without newline) for one Gemini API example."""
    return orjson.dumps(
        {
            "contents": [
                {"role": "user", "parts": [{"text": text_input}]},
                {"role": "model", "parts": [{"text": output}]},
            ]
        }
    )
