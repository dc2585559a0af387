"""The one JSON Schema of a file in the jobs directory: a `TuningJob` or a `ModelAlias`.

Editors and CI validate every file against one schema, so both kinds live in it, told apart
by `kind` (a discriminator: an editor then reports the errors of the right kind only).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from tuning_operator.specs.alias import ModelAlias
from tuning_operator.specs.model import TuningJob

_JobsFile = Annotated[TuningJob | ModelAlias, Field(discriminator="kind")]


def jobs_file_schema() -> dict[str, object]:
    """The JSON Schema of any file of the jobs directory (both kinds)."""
    schema: dict[str, object] = TypeAdapter(_JobsFile).json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://tuning-operator.dev/schema/jobs-v1.json"
    schema["title"] = "A jobs directory file (tuning-operator/v1): TuningJob or ModelAlias"
    return schema
