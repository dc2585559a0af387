"""The subset of the AIP-160 list filter the emulator understands, parsed once into a predicate.

Supported: `labels.KEY = "v"` / `!=` / `labels.KEY:*` (key exists) / `labels:KEY`,
`state = JOB_STATE_X` / `!=` (quoted or bare), `AND`, `OR`, `NOT` / `-`, parentheses and
juxtaposition (implicit AND). As in AIP-160, OR binds tighter than AND: `a AND b OR c` is
`a AND (b OR c)`. Anything else is a `FilterError` (the store answers INVALID_ARGUMENT), never a
silent match-all: a filter the emulator misreads would hide jobs from the operator.
This module knows nothing of gRPC or of the stored jobs beyond their labels and state name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

JOB_STATES = frozenset(
    {
        "JOB_STATE_UNSPECIFIED",
        "JOB_STATE_QUEUED",
        "JOB_STATE_PENDING",
        "JOB_STATE_RUNNING",
        "JOB_STATE_SUCCEEDED",
        "JOB_STATE_FAILED",
        "JOB_STATE_CANCELLING",
        "JOB_STATE_CANCELLED",
        "JOB_STATE_PAUSED",
        "JOB_STATE_EXPIRED",
        "JOB_STATE_UPDATING",
        "JOB_STATE_PARTIALLY_SUCCEEDED",
    }
)

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<op>!=|=|:|\(|\))
      | (?P<word>[^\s()=!:"]+)
    )""",
    re.VERBOSE,
)


class FilterError(ValueError):
    """The filter text is not in the supported subset; the message says what is wrong."""


@dataclass(frozen=True)
class JobFacts:
    """What a filter can look at for one job."""

    labels: Mapping[str, str]
    state: str


Predicate = Callable[[JobFacts], bool]


@dataclass(frozen=True)
class _Token:
    kind: str  # "string", "op", "word"
    text: str


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise FilterError(f"cannot read the filter at position {position}: {text[position:]!r}")
        kind = match.lastgroup or "word"
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append(_Token(kind, value))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._at = 0

    def _peek(self) -> _Token | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def _next(self) -> _Token:
        token = self._peek()
        if token is None:
            raise FilterError("the filter ends too early")
        self._at += 1
        return token

    def _is_keyword(self, word: str) -> bool:
        token = self._peek()
        return token is not None and token.kind == "word" and token.text == word

    def parse(self) -> Predicate:
        predicate = self._expression()
        if self._peek() is not None:
            raise FilterError(f"unexpected {self._next().text!r} in the filter")
        return predicate

    def _expression(self) -> Predicate:
        parts = [self._sequence()]
        while self._is_keyword("AND"):
            self._at += 1
            parts.append(self._sequence())
        return _all(parts)

    def _sequence(self) -> Predicate:
        parts = [self._factor()]
        while (token := self._peek()) is not None and not (
            (token.kind == "op" and token.text == ")") or self._is_keyword("AND")
        ):
            parts.append(self._factor())
        return _all(parts)

    def _factor(self) -> Predicate:
        parts = [self._term()]
        while self._is_keyword("OR"):
            self._at += 1
            parts.append(self._term())
        return _any(parts)

    def _term(self) -> Predicate:
        if self._is_keyword("NOT"):
            self._at += 1
            inner = self._simple()
            return lambda facts: not inner(facts)
        token = self._peek()
        if token is not None and token.kind == "word" and token.text.startswith("-"):
            self._tokens[self._at] = _Token("word", token.text[1:])
            inner = self._simple()
            return lambda facts: not inner(facts)
        return self._simple()

    def _simple(self) -> Predicate:
        token = self._next()
        if token.kind == "op" and token.text == "(":
            inner = self._expression()
            closing = self._next()
            if closing.text != ")":
                raise FilterError(f"expected ')' but found {closing.text!r}")
            return inner
        if token.kind != "word" or token.text in {"AND", "OR", "NOT"}:
            raise FilterError(f"expected a field name but found {token.text!r}")
        operator = self._next()
        if operator.kind != "op" or operator.text not in {"=", "!=", ":"}:
            raise FilterError(f"expected =, != or : after {token.text!r}")
        value = self._next()
        if value.kind == "op":
            raise FilterError(f"expected a value after {token.text} {operator.text}")
        return _restriction(token.text, operator.text, value.text)


def _all(parts: list[Predicate]) -> Predicate:
    return parts[0] if len(parts) == 1 else (lambda facts: all(p(facts) for p in parts))


def _any(parts: list[Predicate]) -> Predicate:
    return parts[0] if len(parts) == 1 else (lambda facts: any(p(facts) for p in parts))


def _restriction(field: str, operator: str, value: str) -> Predicate:
    if field == "labels" and operator == ":":
        return lambda facts: value in facts.labels
    if field.startswith("labels.") and len(field) > len("labels."):
        key = field.removeprefix("labels.")
        if operator == ":" and value == "*":
            return lambda facts: key in facts.labels
        if operator in {"=", ":"}:
            return lambda facts: facts.labels.get(key) == value
        return lambda facts: facts.labels.get(key) != value
    if field == "state":
        if value not in JOB_STATES:
            raise FilterError(f"unknown job state {value!r} in the filter; use JOB_STATE_…")
        if operator == "=":
            return lambda facts: facts.state == value
        if operator == "!=":
            return lambda facts: facts.state != value
        raise FilterError("state supports = and != only")
    raise FilterError(
        f"unsupported filter field {field!r}; the emulator filters on labels.KEY and state"
    )


def compile_filter(text: str) -> Predicate:
    """Parse `text` once; an empty filter matches every job."""
    tokens = _tokenize(text)
    if not tokens:
        return lambda facts: True
    return _Parser(tokens).parse()
