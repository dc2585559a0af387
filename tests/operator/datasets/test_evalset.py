"""Reading an evaluation set: the turns to ask, the reference, both formats, stable indexes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tuning_operator.datasets.evalset import EvaluationSetCache, example_from, read_evaluation_set
from tuning_operator.datasets.objects import DatasetNotFound

U = {"role": "user", "parts": [{"text": "q"}]}
M = {"role": "model", "parts": [{"text": "a"}]}
BC = {"role": "model", "parts": [{"text": "b"}, {"text": "c"}]}

# (case, line object, expected (number of turns asked, reference) or None)
EXAMPLES = [
    ("single-turn", {"contents": [U, M]}, (1, "a")),
    ("multi-turn", {"contents": [U, M, U, BC]}, (3, "bc")),
    ("gemini-api", {"text_input": "q", "output": "a"}, (1, "a")),
    ("ends-with-user", {"contents": [U]}, None),
    ("no-user-before-reference", {"contents": [M, M]}, None),
    ("not-an-object", ["x"], None),
    ("turn-not-object", {"contents": ["x", M]}, None),
]


@pytest.mark.parametrize(("case", "obj", "expected"), EXAMPLES, ids=[c[0] for c in EXAMPLES])
def test_example_from(case: str, obj: object, expected: tuple[int, str] | None) -> None:
    """The last model turn is the reference; the turns before it are asked."""
    del case
    parsed = example_from(obj)
    if expected is None:
        assert parsed is None
    else:
        assert parsed is not None
        assert (len(parsed[0]), parsed[2]) == expected


def test_read_takes_the_first_examples_in_file_order(tmp_path: Path) -> None:
    """Bad lines are skipped and counted; indexes count examples; the version is returned."""
    path = tmp_path / "set.jsonl"
    lines = [json.dumps({"systemInstruction": {"parts": [{"text": "s"}]}, "contents": [U, M]}),
             "not json", "", json.dumps({"text_input": "q2", "output": "a2"}),
             json.dumps({"contents": [U, M]})]
    path.write_text("\n".join(lines) + "\n")
    read = read_evaluation_set(str(path), limit=2)
    assert [(e.index, e.line, e.reference) for e in read.examples] == [(0, 1, "a"), (1, 4, "a2")]
    assert read.examples[0].system_instruction == {"parts": [{"text": "s"}]}
    assert read.examples[1].prompt == "q2"
    assert read.skipped == 1 and read.version


def test_missing_set_is_dataset_not_found(tmp_path: Path) -> None:
    """A set that is not there raises DatasetNotFound (the executor reports it)."""
    with pytest.raises(DatasetNotFound):
        read_evaluation_set(str(tmp_path / "none.jsonl"), limit=5)


def test_gcs_set_is_read_over_the_wire_with_its_generation(gcs_bucket: Any) -> None:
    """A gs:// evaluation set is read through DatasetObjects; its version is the generation."""
    lines = "".join(json.dumps({"contents": [U, M]}) + "\n" for _ in range(3))
    blob = gcs_bucket.blob("evals/set.jsonl")
    blob.upload_from_string(lines)
    blob.reload()
    read = read_evaluation_set(f"gs://{gcs_bucket.name}/evals/set.jsonl", limit=2)
    assert len(read.examples) == 2 and read.version == str(blob.generation)


def test_the_cache_reads_a_set_once_per_version(tmp_path: Path) -> None:
    """The same version twice: the same object, not parsed again; rewritten: read anew."""
    path = tmp_path / "set.jsonl"
    line = {"text_input": "q", "output": "a"}
    path.write_text(json.dumps(line) + "\n")
    cache = EvaluationSetCache()
    first = cache.read(str(path), limit=10)
    assert cache.read(str(path), limit=10) is first
    second = {"text_input": "q2", "output": "b"}
    path.write_text(json.dumps(line) + "\n" + json.dumps(second) + "\n")
    again = cache.read(str(path), limit=10)
    assert again is not first and len(again.examples) == 2
