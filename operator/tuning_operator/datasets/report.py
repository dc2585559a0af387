"""The result of a dataset pre-flight: typed, frozen, and printable as JSON.

`validate --check-datasets`, `plan` and the operator all read the same DatasetReport: the
verdict decides (errors: the operator refuses the job, phase Invalid), the findings explain,
the statistics and recommendation inform the plan. Nothing here reads files or the network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from tuning_operator.datasets.findings import DatasetRole, Finding, FindingTotal, Severity
from tuning_operator.datasets.objects import DatasetObject
from tuning_operator.datasets.recommend import Recommendation
from tuning_operator.datasets.stats import DatasetStats


class Verdict(StrEnum):
    OK = "ok"
    WARNINGS = "warnings"
    ERRORS = "errors"


class DatasetFormat(StrEnum):
    VERTEX = "vertex"
    GEMINI_API = "gemini-api"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DatasetFileReport:
    """One file: which version was read, what it holds, and how much the hygiene sample saw."""

    role: DatasetRole
    uri: str
    object: DatasetObject | None  # None when the file could not be read
    read: bool  # False when a check before reading (existence, size) failed
    format: DatasetFormat
    stats: DatasetStats
    sampled_examples: int  # examples the near-duplicate and layout checks covered


@dataclass(frozen=True)
class DatasetReport:
    """Training (and validation) checked against one base model."""

    model: str
    training: DatasetFileReport
    validation: DatasetFileReport | None
    findings: tuple[Finding, ...]  # capped listing, training first, by line
    totals: tuple[FindingTotal, ...]  # exact counts per (file, kind, severity)
    recommendation: Recommendation
    evaluation: DatasetFileReport | None = None

    def file(self, role: DatasetRole) -> DatasetFileReport | None:
        return {DatasetRole.TRAINING: self.training, DatasetRole.VALIDATION: self.validation,
                DatasetRole.EVALUATION: self.evaluation}[role]

    @property
    def errors(self) -> int:
        return sum(t.count for t in self.totals if t.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(t.count for t in self.totals if t.severity is Severity.WARNING)

    @property
    def verdict(self) -> Verdict:
        if self.errors:
            return Verdict.ERRORS
        return Verdict.WARNINGS if self.warnings else Verdict.OK

    def reason(self) -> str:
        """One line for a status condition or an event: the first error and how many more."""
        first = next((f for f in self.findings if f.severity is Severity.ERROR), None)
        if first is None:
            return f"dataset check: {self.verdict.value}"
        file = self.file(first.dataset)
        uri = file.uri if file is not None else first.dataset.value
        where = uri if first.line is None else f"{uri}:{first.line}"
        more = f" (+{self.errors - 1} more errors)" if self.errors > 1 else ""
        return f"{where}: {first.message}{more}"

    def billable_tokens(self, epochs: int) -> int:
        """Estimated billable training tokens for `epochs` epochs."""
        return self.training.stats.billable_tokens(epochs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: enums as their values, camelCase keys."""
        document = asdict(self)
        document["verdict"] = self.verdict.value
        document["errors"] = self.errors
        document["warnings"] = self.warnings
        return _plain(document)  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    """Enums as their values, keys in camelCase (the style of the job files and of Vertex)."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dict):
        return {_camel(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)
