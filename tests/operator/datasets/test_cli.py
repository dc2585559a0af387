"""`tuning-operator dataset validate | stats | convert`: output and exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from tests.support.dataset_examples import distinct_examples
from tuning_operator.cli import main

CORPUS = Path(__file__).parent / "corpus"
GOOD = str(CORPUS / "good/train.jsonl")
VALIDATION = str(CORPUS / "good/validation.jsonl")


def test_validate_good_dataset_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """A clean dataset: OK, exit 0, the recommendation printed."""
    assert main(["dataset", "validate", GOOD, "--validation", VALIDATION]) == 0
    out = capsys.readouterr().out
    assert "for gemini-2.5-flash: OK (0 errors, 0 warnings)" in out
    assert "recommended: epochCount Vertex default" in out


def test_validate_bad_dataset_exits_1_and_names_file_and_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Errors: exit 1, one `FILE:LINE: error: …` line per finding."""
    bad = str(CORPUS / "bad/model-turn-missing.jsonl")
    assert main(["dataset", "validate", bad, "--validation", VALIDATION]) == 1
    assert f"{bad}:13: error: the conversation ends with a user turn" in capsys.readouterr().out


def test_warnings_fail_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    """Warnings exit 0, or 1 with --fail-on warnings."""
    dup = str(CORPUS / "bad/exact-duplicate.jsonl")
    assert main(["dataset", "validate", dup, "--validation", VALIDATION]) == 0
    assert main(["dataset", "validate", dup, "--validation", VALIDATION,
                 "--fail-on", "warnings"]) == 1
    capsys.readouterr()


def test_validate_json_and_allow_leakage(capsys: pytest.CaptureFixture[str]) -> None:
    """JSON output is the report; --allow-leakage turns the leak into a warning."""
    leak = str(CORPUS / "bad/leakage-exact.jsonl")
    assert main(["dataset", "validate", leak, "--validation", VALIDATION, "--format", "json",
                 "--allow-leakage", "--thorough"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["verdict"] == "warnings"
    assert {(f["kind"], f["severity"]) for f in document["findings"]} >= {
        ("leakage-exact", "warning")}


def test_unknown_model_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 2 and the list of known models."""
    assert main(["dataset", "validate", GOOD, "--model", "gemini-9"]) == 2
    assert "known models: gemini-1.0-pro-002" in capsys.readouterr().err


def test_stats_prints_estimates_and_billable_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    """Billable tokens = tokens × the given epochs, or the recommended epochs by default."""
    assert main(["dataset", "stats", GOOD, "--epochs", "3", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["billableTokens"] == 3 * document["stats"]["tokensTotal"]
    assert main(["dataset", "stats", GOOD, "--model", "gemini-1.5-pro-002"]) == 0
    out = capsys.readouterr().out
    assert "× 20 epochs" in out and "p95" in out


def test_stats_of_a_missing_file_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that cannot be read is an error, not empty statistics."""
    assert main(["dataset", "stats", str(tmp_path / "none.jsonl")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_convert_writes_vertex_lines(
    jsonl: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Convert writes the whole file, and the result validates."""
    pairs = [{"text_input": e["contents"][0]["parts"][0]["text"], "output": "billing"}
             for e in distinct_examples(120)]
    source = jsonl(pairs, name="gemini.jsonl")
    target = tmp_path / "out.jsonl"
    assert main(["dataset", "convert", "--from", "gemini-api", str(source), str(target)]) == 0
    assert "120 converted" in capsys.readouterr().err
    first = orjson.loads(target.read_bytes().splitlines()[0])
    assert [turn["role"] for turn in first["contents"]] == ["user", "model"]
    assert main(["dataset", "validate", str(target), "--validation", VALIDATION]) == 0


def test_convert_refuses_partial_output_unless_asked(
    jsonl: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unconvertible line: nothing written and exit 1; --skip-invalid writes the rest."""
    source = jsonl([{"text_input": "a", "output": "b"}, {"text_input": "c"}], name="g.jsonl")
    target = tmp_path / "out.jsonl"
    assert main(["dataset", "convert", "--from", "gemini-api", str(source), str(target)]) == 1
    assert not target.exists() and not (tmp_path / "out.jsonl.partial").exists()
    assert f"{source}:2: `output` must be a non-empty string" in capsys.readouterr().err
    assert main(["dataset", "convert", "--from", "gemini-api", str(source), str(target),
                 "--skip-invalid"]) == 0
    assert len(target.read_bytes().splitlines()) == 1
