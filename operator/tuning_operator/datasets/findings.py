"""What the dataset pre-flight can find wrong, and a capped log of it.

Every problem has a kind (an enum value with a fixed default severity), an optional 1-based line
number and a message that says how to fix it. A file with a million bad lines must not produce a
million-line report: the log lists at most `listed_per_kind` findings of each kind and counts
the rest, so totals stay exact while the listing stays short. This module never reads files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """An error makes Vertex reject the job (or the operator refuse it); a warning does not."""

    ERROR = "error"
    WARNING = "warning"


class DatasetRole(StrEnum):
    TRAINING = "training"
    VALIDATION = "validation"
    EVALUATION = "evaluation"  # the job's evaluation set (same format; read, never sent)


class FindingKind(StrEnum):
    """Every problem the pre-flight reports; the value is stable (JSON output, tests)."""

    # The file as a whole.
    UNREADABLE = "unreadable"
    FILE_TOO_LARGE = "file-too-large"
    TOO_FEW_EXAMPLES = "too-few-examples"
    FEW_EXAMPLES = "few-examples"
    TOO_MANY_VALIDATION_EXAMPLES = "too-many-validation-examples"
    TOO_MANY_TRAINING_EXAMPLES = "too-many-training-examples"
    NO_VALIDATION_SET = "no-validation-set"
    # One line is not one JSON object.
    BOM = "bom"
    BLANK_LINE = "blank-line"
    TRUNCATED_LINE = "truncated-line"
    TRAILING_DATA = "trailing-data"
    NOT_UTF8 = "not-utf8"
    INVALID_JSON = "invalid-json"
    NOT_AN_OBJECT = "not-an-object"
    # The object is not a Vertex example.
    MISSING_CONTENTS = "missing-contents"
    CONTENTS_NOT_A_LIST = "contents-not-a-list"
    CONTENTS_EMPTY = "contents-empty"
    TURN_NOT_AN_OBJECT = "turn-not-an-object"
    ROLE_INVALID = "role-invalid"
    FIRST_TURN_NOT_USER = "first-turn-not-user"
    ROLES_NOT_ALTERNATING = "roles-not-alternating"
    LAST_TURN_NOT_MODEL = "last-turn-not-model"
    PARTS_EMPTY = "parts-empty"
    PART_INVALID = "part-invalid"
    TEXT_EMPTY = "text-empty"
    FILE_DATA_INVALID = "file-data-invalid"
    FILE_URI_NOT_GCS = "file-uri-not-gcs"
    MODALITY_UNSUPPORTED = "modality-unsupported"
    SYSTEM_INSTRUCTION_INVALID = "system-instruction-invalid"
    TOO_MANY_TOKENS = "too-many-tokens"
    NEAR_TOKEN_LIMIT = "near-token-limit"
    # The Gemini API format (`text_input` / `output`).
    GEMINI_API_FORMAT = "gemini-api-format"
    GEMINI_API_FIELD_INVALID = "gemini-api-field-invalid"
    GEMINI_API_INPUT_TOO_LONG = "gemini-api-input-too-long"
    GEMINI_API_OUTPUT_TOO_LONG = "gemini-api-output-too-long"
    # Hygiene (seed 004): duplicates, leakage, train-serving skew.
    EXACT_DUPLICATE = "exact-duplicate"
    NEAR_DUPLICATE = "near-duplicate"
    LEAKAGE_EXACT = "leakage-exact"
    LEAKAGE_NEAR = "leakage-near"
    MIXED_SYSTEM_INSTRUCTIONS = "mixed-system-instructions"
    MIXED_PROMPT_LAYOUTS = "mixed-prompt-layouts"

    @property
    def severity(self) -> Severity:
        return Severity.WARNING if self in _WARNINGS else Severity.ERROR


_WARNINGS = frozenset(
    {
        FindingKind.FEW_EXAMPLES,
        FindingKind.NO_VALIDATION_SET,
        FindingKind.NEAR_TOKEN_LIMIT,
        FindingKind.EXACT_DUPLICATE,
        FindingKind.NEAR_DUPLICATE,
        FindingKind.MIXED_SYSTEM_INSTRUCTIONS,
        FindingKind.MIXED_PROMPT_LAYOUTS,
    }
)


@dataclass(frozen=True)
class Finding:
    """One problem; `line` is 1-based in the file named by `dataset`, None for the whole file."""

    kind: FindingKind
    severity: Severity
    dataset: DatasetRole
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.dataset.value if self.line is None else f"{self.dataset.value}:{self.line}"
        return f"{where}: {self.severity.value}: {self.message} [{self.kind.value}]"


@dataclass(frozen=True)
class FindingTotal:
    """How many findings of one kind one file has, listed or not."""

    kind: FindingKind
    severity: Severity
    dataset: DatasetRole
    count: int


class FindingLog:
    """Collects the findings of one file: all counted, at most `listed_per_kind` kept per kind."""

    def __init__(self, dataset: DatasetRole, *, listed_per_kind: int = 5) -> None:
        self.dataset = dataset
        self._listed_per_kind = listed_per_kind
        self._counts: dict[tuple[FindingKind, Severity], int] = {}
        self._listed_counts: dict[tuple[FindingKind, Severity], int] = {}
        self._listed: list[Finding] = []

    def add(
        self,
        kind: FindingKind,
        message: str | Callable[[], str],
        *,
        line: int | None = None,
        severity: Severity | None = None,
        count: int = 1,
    ) -> None:
        """Record `count` findings; a callable message is only built when the finding is listed."""
        key = (kind, severity or kind.severity)
        self._counts[key] = self._counts.get(key, 0) + count
        listed = self._listed_counts.get(key, 0)
        if listed < self._listed_per_kind:
            self._listed_counts[key] = listed + 1
            text = message if isinstance(message, str) else message()
            self._listed.append(Finding(key[0], key[1], self.dataset, line, text))

    def has_errors(self) -> bool:
        return any(severity is Severity.ERROR for _, severity in self._counts)

    def findings(self) -> tuple[Finding, ...]:
        return tuple(self._listed)

    def totals(self) -> tuple[FindingTotal, ...]:
        return tuple(
            FindingTotal(kind, severity, self.dataset, count)
            for (kind, severity), count in self._counts.items()
        )
