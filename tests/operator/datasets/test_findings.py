"""The capped finding log: short listings, exact totals, severities by kind."""

from __future__ import annotations

from tuning_operator.datasets.findings import (
    DatasetRole,
    FindingKind,
    FindingLog,
    FindingTotal,
    Severity,
)


def test_listing_is_capped_per_kind_but_totals_are_exact() -> None:
    """A million-line problem lists a few lines and counts them all."""
    log = FindingLog(DatasetRole.TRAINING, listed_per_kind=3)
    for line in range(1, 1001):
        log.add(FindingKind.TRUNCATED_LINE, "cut", line=line)
    log.add(FindingKind.BOM, "bom", line=1)
    assert [f.line for f in log.findings() if f.kind is FindingKind.TRUNCATED_LINE] == [1, 2, 3]
    assert set(log.totals()) == {
        FindingTotal(FindingKind.TRUNCATED_LINE, Severity.ERROR, DatasetRole.TRAINING, 1000),
        FindingTotal(FindingKind.BOM, Severity.ERROR, DatasetRole.TRAINING, 1),
    }


def test_a_lazy_message_is_built_only_when_listed() -> None:
    """Callable messages beyond the cap are never called (no formatting cost per bad line)."""
    built: list[int] = []
    log = FindingLog(DatasetRole.VALIDATION, listed_per_kind=2)
    for line in range(5):
        log.add(FindingKind.INVALID_JSON, lambda n=line: str(built.append(n) or n), line=line)
    assert built == [0, 1]


def test_counted_findings_and_severity_override() -> None:
    """One finding can stand for several (duplicate copies); leakage can be made a warning."""
    log = FindingLog(DatasetRole.TRAINING)
    log.add(FindingKind.EXACT_DUPLICATE, "copies", line=9, count=4)
    log.add(FindingKind.LEAKAGE_EXACT, "leak", line=2, severity=Severity.WARNING)
    assert not log.has_errors()
    assert {(t.kind, t.severity, t.count) for t in log.totals()} == {
        (FindingKind.EXACT_DUPLICATE, Severity.WARNING, 4),
        (FindingKind.LEAKAGE_EXACT, Severity.WARNING, 1),
    }


def test_only_best_practice_kinds_are_warnings() -> None:
    """Everything Vertex would reject is an error; hygiene and size advice are warnings."""
    warnings = {k for k in FindingKind if k.severity is Severity.WARNING}
    assert warnings == {
        FindingKind.FEW_EXAMPLES, FindingKind.NO_VALIDATION_SET, FindingKind.NEAR_TOKEN_LIMIT,
        FindingKind.EXACT_DUPLICATE, FindingKind.NEAR_DUPLICATE,
        FindingKind.MIXED_SYSTEM_INSTRUCTIONS, FindingKind.MIXED_PROMPT_LAYOUTS,
    }
