"""The plan's JSON is written through orjson, byte for byte what `json.dumps(indent=2)` wrote."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tuning_operator.cli import main
from tuning_operator.planning.render_json import indented_json

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "jobs"

DOCUMENTS = [
    {"empty": [], "nothing": {}, "nested": [{"a": None, "b": True, "c": False}, [1, -2]]},
    {"description": "Zürich, 東京, emoji 😀, line\u2028separator, del\x7f, nul\x00, tab\t"},
    {"é-key": "non-ASCII key", "quote\"and\\slash/": "\b\f\n\r"},
    {"floats": [0.0, -0.0, 0.1, 1.0, 12.34, 1 / 3, 1e-4, 1e15, 1e16, 1e22, 1.5e300]},
    {"small": 1e-5}, {"tiny": [2.5e-7]}, {"nan": float("nan")}, {"inf": [float("-inf")]},
    {"big": 2**70}, {"lone": "\ud800"}, {1: "int key"}, ["top", "level", 3],
    "a string alone", 7, None,
]


@pytest.mark.parametrize("document", DOCUMENTS, ids=[repr(d)[:40] for d in DOCUMENTS])
def test_the_text_is_what_json_writes(document: object) -> None:
    """Non-ASCII escaped as `json` escapes it (astral as surrogate pairs), floats as `repr`
    writes them, and whatever orjson writes otherwise goes through `json` itself."""
    assert indented_json(document) == json.dumps(document, indent=2)


def test_what_json_refuses_is_still_refused() -> None:
    """A dataclass orjson could write is refused as `json` refuses it: nothing new is accepted."""
    @dataclass
    class Point:
        x: int

    with pytest.raises(TypeError):
        indented_json({"point": Point(1)})


def test_plan_json_with_non_ascii_text_keeps_its_bytes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`plan --format json` escapes a non-ASCII team directory and description (`\\u00e9`),
    exactly as the standard library's encoder did before orjson wrote it."""
    jobs = tmp_path / "jobs"
    shutil.copytree(EXAMPLES, jobs)
    source = next(p for p in jobs.rglob("*.yaml") if "description:" in p.read_text())
    (jobs / "équipe-😀").mkdir()
    moved = jobs / "équipe-😀" / source.name
    moved.write_text(source.read_text().replace("description:", "description: Zürich", 1))
    source.unlink()
    main(["plan", "--offline", "--jobs-dir", str(jobs), "--format", "json"])
    out = capsys.readouterr().out
    assert out.isascii()
    assert out == json.dumps(json.loads(out), indent=2) + "\n"
    assert '"team": "\\u00e9quipe-\\ud83d\\ude00"' in out
