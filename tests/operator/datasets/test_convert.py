"""Gemini API format → Vertex format, line by line."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import orjson

from tests.support.dataset_examples import distinct_examples
from tuning_operator.datasets import Verdict, check_dataset
from tuning_operator.datasets.convert import convert_gemini_api
from tuning_operator.datasets.findings import FindingKind
from tuning_operator.specs.catalog import BaseModel


def test_pairs_become_a_user_and_a_model_turn() -> None:
    """`text_input` is the user turn, `output` the model turn; nothing else is added."""
    out = io.BytesIO()
    result = convert_gemini_api([b'{"text_input": "1", "output": "2"}\n'], out.write)
    assert orjson.loads(out.getvalue()) == {"contents": [
        {"role": "user", "parts": [{"text": "1"}]},
        {"role": "model", "parts": [{"text": "2"}]},
    ]}
    assert (result.lines, result.converted, result.skipped) == (1, 1, 0)


def test_vertex_lines_pass_through_and_bom_and_blank_lines_are_dropped() -> None:
    """A half-converted file can be finished; the output is clean JSONL."""
    vertex = b'{"contents":[{"role":"user","parts":[{"text":"a"}]}]}'
    out = io.BytesIO()
    result = convert_gemini_api(
        [b'\xef\xbb\xbf{"text_input": "q", "output": "a"}\r\n', b"\n", vertex + b"\r\n"], out.write)
    lines = out.getvalue().split(b"\n")
    assert lines[1] == vertex and lines[2] == b""
    assert (result.converted, result.passed_through, result.skipped) == (1, 1, 0)
    assert result.findings == ()


def test_invalid_lines_are_reported_by_line_and_not_written() -> None:
    """Unconvertible lines are skipped with a finding naming the line."""
    out = io.BytesIO()
    result = convert_gemini_api(
        [b'{"text_input": "q"}', b"[1]", b'{"prompt": "x"}', b'{"text_input": "q", "output": "a'],
        out.write)
    assert out.getvalue() == b""
    assert result.skipped == 4
    assert [(f.kind, f.line) for f in result.findings] == [
        (FindingKind.GEMINI_API_FIELD_INVALID, 1),
        (FindingKind.NOT_AN_OBJECT, 2),
        (FindingKind.MISSING_CONTENTS, 3),
        (FindingKind.TRUNCATED_LINE, 4),
    ]


def test_a_converted_dataset_passes_the_pre_flight(
    tmp_path: Path, jsonl: Callable[..., Path], flash: BaseModel
) -> None:
    """Round trip: a valid Gemini API dataset converts into one Vertex accepts."""
    pairs = [{"text_input": e["contents"][0]["parts"][0]["text"],
              "output": e["contents"][1]["parts"][0]["text"]}
             for e in distinct_examples(120, seed=4)]
    source = jsonl(pairs, name="gemini.jsonl")
    before = check_dataset(str(source), model=flash)
    assert {t.kind for t in before.totals} >= {FindingKind.GEMINI_API_FORMAT}
    target = tmp_path / "vertex.jsonl"
    with source.open("rb") as lines, target.open("wb") as out:
        convert_gemini_api(lines, out.write)
    validation = jsonl(distinct_examples(20, seed=5), name="val.jsonl")
    after = check_dataset(str(target), str(validation), model=flash)
    assert after.verdict is Verdict.OK, [str(f) for f in after.findings]
    assert after.training.stats.tokens_total == before.training.stats.tokens_total
