"""Where a problem is in a YAML file, and how to say it: messages that name the fix.

Pydantic's errors name a location and a type; a person needs the line, the field's real name
(camelCase, as written), what was wrong and what to write instead. This module turns one into
the other. It never decides what is valid: the models and the loader do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError


@dataclass(frozen=True)
class SpecError:
    """One problem in one file; `line`/`column` are 1-based when YAML gives a position."""

    file: str
    message: str
    line: int | None = None
    column: int | None = None
    job: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return f"{where}: {self.message}"



_Where = tuple[int, ...]  # a node's position from the root: pre-order when sorted
_STR, _SEQ, _MAP, _MERGE = (f"tag:yaml.org,2002:{t}" for t in ("str", "seq", "map", "merge"))
_DEEPEST_DIRECT = 64  # nesting the direct construction recurses into before it hands over


# Memos shared by every load: most scalars of a jobs directory repeat (keys, model names,
# numbers), and resolving a plain scalar's tag runs a regular expression per candidate type in
# Python (issue 31). Only short scalars are kept, and only so many, so memory stays bounded.
_MEMO_LONGEST = 64
_MEMO_MOST = 4096
_TAGS: dict[tuple[str, Any], str] = {}
_VALUES: dict[tuple[str, str], Any] = {}  # immutable values only (int, float, bool, null)
_IMMUTABLE = frozenset(f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null"))


class _Unusual(Exception):
    """A node the direct construction leaves to PyYAML's generic constructor."""


class DuplicateKeyLoader(yaml.CSafeLoader):
    """libyaml's safe loader noting duplicate mapping keys while it constructs the document.

    Each mapping is checked once as `construct` builds it (after merge keys are flattened), so
    no second walk of the tree is needed. The generic constructor builds breadth first; every
    finding carries its node's position from the root, and `duplicates()` sorts by it: the
    same findings, in the same order, as `duplicate_keys` of the composed tree.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._where: dict[int, _Where] = {}
        self._found: list[tuple[_Where, str, int, int]] = []

    def construct(self, node: yaml.Node) -> Any:
        """The document `construct_document` builds, its duplicate keys noted on the way.

        Job files hold plain mappings, sequences and scalars: those are built here directly,
        depth first, at a third of the generic constructor's cost (issue 17, P1). Anything
        else (a merge key, a tagged collection, a complex key, deep nesting) is left to the
        generic constructor, which builds the whole document again.
        """
        try:
            return self._direct(node, ())
        except _Unusual:
            self._found.clear()
            return self.construct_document(node)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        """The tag of a node, from the memo for a short scalar (see `_TAGS`)."""
        if kind is not yaml.ScalarNode or len(value) > _MEMO_LONGEST:
            return str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]
        key = (value, implicit)
        tag = _TAGS.get(key)
        if tag is None:
            tag = str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]
            if len(_TAGS) < _MEMO_MOST:
                _TAGS[key] = tag
        return tag

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        """A scalar's value; a short int, float, bool or null from the memo (see `_TAGS`)."""
        if node.tag == _STR:
            return node.value
        if node.tag not in _IMMUTABLE or len(node.value) > _MEMO_LONGEST:
            return self.construct_object(node)
        key = (node.tag, node.value)
        try:
            return _VALUES[key]
        except KeyError:
            value = self.construct_object(node)
            if len(_VALUES) < _MEMO_MOST:
                _VALUES[key] = value
            return value

    def _direct(self, node: yaml.Node, where: _Where) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if len(where) > _DEEPEST_DIRECT:
            raise _Unusual
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
            return [self._direct(item, (*where, index)) for index, item in enumerate(node.value)]
        if not isinstance(node, yaml.MappingNode) or node.tag != _MAP:
            raise _Unusual
        self._note_duplicate_keys(node, where)
        data: dict[Any, Any] = {}
        for index, (key, value) in enumerate(node.value):
            if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE:
                raise _Unusual
            name = self._scalar(key)
            data[name] = self._direct(value, (*where, index))
        return data

    def _note_duplicate_keys(self, node: yaml.MappingNode, where: _Where) -> None:
        seen: set[str] = set()  # as written: `1` and `"1"` are the same key to a reader
        for index, (key, _) in enumerate(node.value):
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    self._found.append((
                        (*where, index),
                        f"key {key.value!r} appears twice in one mapping; YAML would keep"
                        " only the last one: remove one",
                        key.start_mark.line + 1, key.start_mark.column + 1))
                seen.add(key.value)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep=deep)  # raises the usual error
        self.flatten_mapping(node)
        where = self._where.get(id(node), ())
        self._note_duplicate_keys(node, where)
        for index, (_, value) in enumerate(node.value):
            if not isinstance(value, yaml.ScalarNode):
                self._where[id(value)] = (*where, index)
        # SafeConstructor's own override would only flatten the merge keys a second time.
        return yaml.constructor.BaseConstructor.construct_mapping(self, node, deep=deep)

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> list[Any]:
        if isinstance(node, yaml.SequenceNode):
            where = self._where.get(id(node), ())
            for index, item in enumerate(node.value):
                if not isinstance(item, yaml.ScalarNode):
                    self._where[id(item)] = (*where, index)
        return super().construct_sequence(node, deep=deep)

    def duplicates(self) -> list[tuple[str, int, int]]:
        """(message, line, column) of every duplicate key met, in document (pre-)order."""
        return [(message, line, column) for _, message, line, column in sorted(self._found)]


def duplicate_keys(node: yaml.Node) -> Iterator[tuple[str, int, int]]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    yield (f"key {key.value!r} appears twice in one mapping; YAML would keep only"
                           " the last one: remove one", key.start_mark.line + 1,
                           key.start_mark.column + 1)
                seen.add(key.value)
            yield from duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from duplicate_keys(item)


def locate(node: yaml.Node, loc: tuple[int | str, ...]) -> tuple[int, int] | None:
    """1-based line and column of the YAML node at `loc` (the key itself for the last step)."""
    mark = node.start_mark
    for step in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            match = next(((k, v) for k, v in node.value if k.value == step), None)
            if match is None:
                break
            mark, node = match[0].start_mark, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(
            node.value
        ):
            node = node.value[step]
            mark = node.start_mark
        else:
            break
    return mark.line + 1, mark.column + 1


_HINTS = {
    "name": "use a DNS label: lowercase letters, digits and '-', starting with a letter and"
    " ending with a letter or digit, at most 63 characters (e.g. support-classifier-v3)",
    "trainingDataset": "use gs://BUCKET/PATH/FILE.jsonl (a JSONL object in Cloud Storage)",
    "validationDataset": "use gs://BUCKET/PATH/FILE.jsonl (a JSONL object in Cloud Storage)",
    "region": "use a Vertex region such as us-central1 or europe-west4",
    "serviceAccount": "use a service account email, NAME@PROJECT.iam.gserviceaccount.com",
    "encryptionKey": "use projects/P/locations/L/keyRings/R/cryptoKeys/K",
    "datasetPrefixes": "use gs:// prefixes, e.g. gs://my-datasets/support/",
    "tunedModelDisplayName": "at most 128 characters, no control characters (newlines, tabs,"
    " escapes)",
    "description": "at most 2048 characters, no control characters other than newlines and"
    " tabs",
}


def validation_errors(
    base: Path, rel: str, node: yaml.Node, exc: ValidationError, *, name: str | None,
    model: type[BaseModel],
) -> Iterator[SpecError]:
    for err in exc.errors():
        loc = tuple(err["loc"])
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        kind = err["type"]
        field_name = str(loc[-1]) if loc else ""
        if kind == "extra_forbidden":
            message = (f"unknown field `{dotted}`{_did_you_mean(model, loc)}; remove it or fix"
                       " the spelling")
        elif kind == "missing":
            message = f"missing required field `{dotted}`; add it"
        elif kind.startswith("string_") and field_name in _HINTS:
            message = f"`{dotted}`: {err['input']!r} is not valid; {_HINTS[field_name]}"
        elif kind in ("literal_error", "enum"):
            message = f"`{dotted}`: {err['input']!r} is not allowed; {err['msg'].lower()}"
        elif kind == "value_error":
            message = f"`{dotted}`: {err['msg'].removeprefix('Value error, ')}"
        else:
            message = f"`{dotted}`: {err['msg']} (got {err['input']!r})"
        position = locate(node, loc)
        yield SpecError(
            file=str(base / rel), message=message, job=name,
            line=position[0] if position else None, column=position[1] if position else None,
        )


def _did_you_mean(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """Suggest the closest known field for a typo, walking the model along `loc`."""
    current: type[BaseModel] | None = model
    for step in loc[:-1]:
        if current is None or not isinstance(step, str):
            return ""
        info = next((f for n, f in current.model_fields.items() if step in (f.alias, n)),
                    None)
        annotation = info.annotation if info else None
        current = _model_in(annotation)
    if current is None:
        return ""
    known = [f.alias or n for n, f in current.model_fields.items()]
    import difflib  # here: only a file with an unknown field needs it (issue 31)

    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    return f" (did you mean `{close[0]}`?)" if close else f" (known here: {', '.join(known)})"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
