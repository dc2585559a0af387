"""The dataset corpus: each bad file yields exactly its expected finding; good files pass."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tuning_operator.datasets import (
    DatasetReport,
    DatasetRole,
    FindingKind,
    Severity,
    Verdict,
    check_dataset,
)
from tuning_operator.specs.catalog import BaseModel, default_catalog

CORPUS = Path(__file__).parent / "corpus"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yaml").read_text())
GOOD = sorted(p for p in (CORPUS / "good").glob("*.jsonl") if p.name != "validation.jsonl")


def model_for(case: dict[str, Any]) -> BaseModel:
    model = default_catalog().get(case.get("model", "gemini-2.5-flash"))
    assert model is not None
    limits = {re.sub(r"([A-Z])", r"_\1", key).lower(): value
              for key, value in case.get("limits", {}).items()}
    return dataclasses.replace(model, **limits)


def check(case: dict[str, Any]) -> DatasetReport:
    validation = case["validation"]
    return check_dataset(
        str(CORPUS / case["file"]),
        None if validation is None else str(CORPUS / validation),
        model=model_for(case),
    )


def test_the_corpus_has_at_least_30_bad_datasets_and_each_file_has_a_case() -> None:
    """Every bad file is covered by a case, and there are at least 30 distinct error cases."""
    files = {f"bad/{p.name}" for p in (CORPUS / "bad").glob("*.jsonl")}
    named = {case["file"] for case in CASES}
    assert files <= named
    errors = [c for c in CASES if FindingKind(c["expect"]["kind"]).severity is Severity.ERROR]
    assert len(errors) >= 30


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_bad_dataset_reports_its_expected_finding(case: dict[str, Any]) -> None:
    """The expected finding is listed (kind, file, line, message) and no unexpected error is."""
    report = check(case)
    expect = case["expect"]
    kind = FindingKind(expect["kind"])
    matching = [
        f for f in report.findings
        if f.kind is kind and f.dataset is DatasetRole(expect["dataset"])
        and f.line == expect.get("line", f.line)
    ]
    assert matching, f"no {kind} finding in {[str(f) for f in report.findings]}"
    assert any(expect["message"] in f.message for f in matching), [f.message for f in matching]
    error_kinds = {t.kind for t in report.totals if t.severity is Severity.ERROR}
    allowed = {kind, *(FindingKind(k) for k in case.get("also", ()))}
    if kind.severity is Severity.ERROR:
        assert report.verdict is Verdict.ERRORS
        assert error_kinds == allowed
    else:
        assert report.verdict is Verdict.WARNINGS
        assert not error_kinds


@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
def test_good_dataset_passes_with_no_findings(path: Path) -> None:
    """A well-formed file of 120 examples with a separate validation set is simply ok."""
    report = check_dataset(str(path), str(CORPUS / "good/validation.jsonl"),
                           model=model_for({}))
    assert report.verdict is Verdict.OK, [str(f) for f in report.findings]
    assert report.training.stats.examples == 120
