"""One job or policy file, from its bytes to a validated model or the problems that stop it.

Everything here depends on the file alone (its bytes and where it sits), so its result can be
cached by the file's stat. A job file's name is read even when the file is broken, so that the
loader can keep that job as it is instead of taking it for deleted. Anchors and aliases are
refused before any parse: they would let a few lines stand for billions of nodes.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tuning_operator.specs.alias import KIND as ALIAS_KIND
from tuning_operator.specs.alias import ModelAlias
from tuning_operator.specs.diagnostics import (
    DuplicateKeyLoader,
    SpecError,
    validation_errors,
)
from tuning_operator.specs.model import TuningJob
from tuning_operator.specs.policy import POLICY_FILE, Policy
from tuning_operator.specs.sharing import SharedParts
from tuning_operator.specs.summary import JobSummary
from tuning_operator.specs.walk import shown

MAX_FILE_BYTES = 1024 * 1024
_MAX_NAME = 63  # a Vertex label value; the job name is one


@dataclass(frozen=True, slots=True)
class FileResult:
    """One job file: its team and name when they can be read, the job when it is valid.

    An alias file (`kind: ModelAlias`) says so in `kind`, and carries its alias when valid.
    """

    path: str
    team: str | None
    name: str | None
    summary: JobSummary | None  # the valid job, as the operator keeps it
    errors: tuple[SpecError, ...]
    kind: str = "TuningJob"
    alias: ModelAlias | None = None

    @property
    def job(self) -> TuningJob | None:
        return self.summary.job if self.summary is not None else None


def failed_file(base: Path, rel: str, name: str | None, message: str, *,
                line: int | None = None, column: int | None = None) -> FileResult:
    error = SpecError(file=str(base / rel), message=message, line=line, column=column, job=name)
    return FileResult(path=rel, team=team_of(rel), name=name, summary=None, errors=(error,))


def team_of(rel: str) -> str | None:
    parts = rel.split("/")
    return sys.intern(parts[0]) if len(parts) > 1 else None  # one copy per team, not per file


def parse_job_file(base: Path, rel: str, raw: bytes, shared: SharedParts | None = None, *,
                   compact: bool = False) -> FileResult:
    """A job file's bytes, decoded, parsed and validated against the model.

    `shared`: what a valid job repeats of the other files is swapped for one shared copy (a
    caller that keeps thousands of jobs passes its table). `compact`: the job is kept packed
    and rebuilt when asked (`JobSummary`), for a caller that keeps it for long.
    """
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return failed_file(base, rel, None, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset"
                           f" {exc.start}); save the file as UTF-8", line=line)
    document = _parse_yaml(base, rel, text)
    if isinstance(document, FileResult):
        return document
    node, data, duplicates = document
    name = _name_of(data)
    errors = [
        SpecError(file=str(base / rel), message=message, line=line, column=col, job=name)
        for message, line, col in duplicates
    ]
    if data.get("kind") == ALIAS_KIND:
        return _alias_file(base, rel, (node, data), name, errors)
    try:
        job: TuningJob | None = TuningJob.model_validate(data)
    except ValidationError as exc:
        job = None
        errors.extend(validation_errors(base, rel, node, exc, name=name, model=TuningJob))
    summary = None
    if job is not None:
        if shared is not None:
            shared.share(job)
        summary = JobSummary(job, shared=shared, compact=compact)
    return FileResult(path=rel, team=team_of(rel), name=name, summary=summary,
                      errors=tuple(errors))


def _alias_file(base: Path, rel: str, parsed: tuple[yaml.Node, Any], name: str | None,
                errors: list[SpecError]) -> FileResult:
    """A `ModelAlias` file, validated against its own model."""
    node, data = parsed
    try:
        alias: ModelAlias | None = ModelAlias.model_validate(data)
    except ValidationError as exc:
        alias = None
        errors.extend(validation_errors(base, rel, node, exc, name=name, model=ModelAlias))
    return FileResult(path=rel, team=team_of(rel), name=name, summary=None, errors=tuple(errors),
                      kind=ALIAS_KIND, alias=alias if not errors else None)


def _alias_mark(text: str) -> yaml.Mark | None:
    """Where the first YAML anchor or alias is, if any: job and policy files need none.

    Aliases let a few lines stand for a tree of billions of nodes (the "billion laughs"), which
    every later walk would expand; rejecting them keeps a file's cost bounded by its size.
    """
    if "&" not in text and "*" not in text:
        return None
    try:
        for token in yaml.scan(text, Loader=yaml.CSafeLoader):
            if isinstance(token, (yaml.AnchorToken, yaml.AliasToken)):
                mark: yaml.Mark = token.start_mark
                return mark
    except yaml.YAMLError:
        return None  # the parse below reports the syntax error with its position
    return None


_Parsed = tuple[yaml.Node, Any, list[tuple[str, int, int]]]  # node, data, duplicate keys


def _parse_yaml(base: Path, rel: str, text: str) -> _Parsed | FileResult:
    alias = _alias_mark(text)
    if alias is not None:
        return failed_file(base, rel, None, "YAML anchors and aliases (& and *) are not allowed in"
                           " job and policy files; write the values out", line=alias.line + 1,
                           column=alias.column + 1)
    loader = DuplicateKeyLoader(text)
    try:
        if not loader.check_node():
            return failed_file(base, rel, None,
                               "file is empty; write a TuningJob or delete the file")
        node = loader.get_node()
        assert node is not None  # check_node() said a document follows
        if loader.check_node():
            extra = loader.get_node()
            mark = extra.start_mark if extra else node.end_mark
            return failed_file(base, rel, None, "more than one YAML document ('---'); keep one job"
                               " per file", line=mark.line + 1, column=mark.column + 1)
        data = loader.construct(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        return failed_file(base, rel, None, f"YAML syntax error: {problem}; fix the syntax",
                           line=mark.line + 1 if mark else None,
                           column=mark.column + 1 if mark else None)
    except yaml.reader.ReaderError as exc:
        return failed_file(base, rel, None, f"a control character (#x{exc.character:04x}) that YAML"
                           " does not allow; remove it", line=text[: exc.position].count("\n") + 1)
    except yaml.YAMLError as exc:
        return failed_file(base, rel, None, f"YAML error: {exc}")
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        return failed_file(base, rel, None, f"top level is {kind}, not a mapping; a job file starts"
                           " with `apiVersion: tuning-operator/v1`", line=1, column=1)
    return node, data, loader.duplicates()


def _name_of(data: Mapping[str, Any]) -> str | None:
    """The job name a broken file claims, if it could name a Vertex job at all.

    A name with a control character or longer than a label value names no Vertex job; it is
    dropped here so that it never becomes a status record, an event subject or a log line (the
    file then counts as unnamed, which holds removals).
    """
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not name or len(name) > _MAX_NAME or shown(name) != name:
        return None
    return name


def parse_policy_file(base: Path, text: str,
                      errors: list[SpecError]) -> tuple[Policy | None, bool]:
    """The policy, and whether it is broken (its problems are added to `errors`)."""
    result = _parse_yaml(base, POLICY_FILE, text)
    if isinstance(result, FileResult):
        errors.extend(result.errors)
        return None, True
    node, data, _ = result
    try:
        return Policy.model_validate(data), False
    except ValidationError as exc:
        errors.extend(validation_errors(base, POLICY_FILE, node, exc, name=None, model=Policy))
        return None, True
