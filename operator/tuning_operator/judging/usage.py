"""What Vertex billed for an answer, carried with the answer's text (issue 30: the ledger).

Every scorer, journal and test double reads an answer as text; only the ledger wants the
tokens a response's `usage_metadata` reported. So an `Answer` is a `str` that also holds its
`Usage` (None: the response reported none), and the journals write it beside the line's
answer, so an answer paid for before a restart still counts. `usage_of` sums answers and says
`None` when any is unknown: a partial sum would read as the bill. Nothing here prices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Usage:
    """Billed prediction tokens: the prompt's (input) and the answer's with thoughts (output)."""

    input: int
    output: int

    @property
    def total(self) -> int:
        return self.input + self.output

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input + other.input, self.output + other.output)

    def to_json(self) -> dict[str, int]:
        return {"input": self.input, "output": self.output}

    @classmethod
    def from_json(cls, value: Any) -> Usage | None:
        """`{"input": n, "output": m}` of non-negative integers; anything else is unknown."""
        if not isinstance(value, Mapping):
            return None
        given, taken = value.get("input"), value.get("output")
        if not (type(given) is int and type(taken) is int and given >= 0 and taken >= 0):
            return None
        return cls(given, taken)


class Answer(str):
    """A model's answer text, with what Vertex billed for it."""

    usage: Usage | None

    def __new__(cls, text: str, usage: Usage | None = None) -> Answer:
        answer = super().__new__(cls, text)
        answer.usage = usage
        return answer


def usage_of(answers: Iterable[str]) -> Usage | None:
    """The answers' billed tokens together; None when there are none or any is unknown."""
    total: Usage | None = None
    for answer in answers:
        usage = answer.usage if isinstance(answer, Answer) else None
        if usage is None:
            return None
        total = usage if total is None else total + usage
    return total
