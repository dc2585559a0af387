"""`validate`'s output: the errors as text and the JSON document.

Its own module, importing only `specs`, so that `validate` never imports the planner (its
start-up, issue 31); `render` re-exports both names.
"""

from __future__ import annotations

from collections.abc import Sequence

from tuning_operator.specs import DirectoryLoad, SpecError

__all__ = ["errors_text", "validation_document"]


def errors_text(errors: Sequence[SpecError]) -> str:
    return "".join(f"{e}\n" for e in errors)


def validation_document(load: DirectoryLoad) -> dict[str, object]:
    """`validate --format json`: the valid job names, every error and warning with its place,
    and the directories not read because of their names."""
    def entries(problems: Sequence[SpecError]) -> list[dict[str, object]]:
        return [{"file": e.file, "line": e.line, "column": e.column, "job": e.job,
                 "message": e.message} for e in problems]

    return {"valid": sorted(load.jobs), "aliases": sorted(load.aliases),
            "skipped": list(load.skipped),
            "errors": entries(load.errors), "warnings": entries(load.warnings)}
