"""What every model of the job file shares: strict camelCase models and the dataset URI form.

Its own module so that the blocks of a job file (`specs.model`, `specs.evaluation`,
`specs.policy`) can import it without importing each other; `specs.model` re-exports both names.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

# For the models a run may never need (the policy without a policy file, alias files): their
# validators are built on first use, not at import (`validate`'s start-up, issue 31).
DEFERRED = ConfigDict(defer_build=True)

GCS_JSONL = r"^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]/[^\s]*[^/\s]\.jsonl$"


class _Strict(BaseModel):
    """Unknown fields are errors (they are usually typos); files use camelCase keys."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class WhenPresent:
    """`Annotated[Block | None, WhenPresent(Block)]`: the optional block of a file whose model
    (`DEFERRED`, with the models it nests) is built when a file first has the block, not at
    import: most job files have no `evaluation` block, whose models are ≈ half the job model's
    build (`validate`'s start-up, issue 31).

    A block that is there is validated by its own model, whose errors (their locations below
    the field's, their messages) are those of the nested model this stands for; None stays
    None. The JSON Schema is the nested model's, as if the field were `Block | None`.
    """

    __slots__ = ("model",)

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler
                                     ) -> CoreSchema:
        del source, handler  # not the nested model's schema: that is built when first needed
        # A wrap validator that never calls its inner schema, a placeholder with a `ref` as a
        # model's schema has one: pydantic then gives the field no title of its own in the
        # JSON Schema, as it gives none to a field of a model.
        model = self.model
        placeholder = core_schema.any_schema(
            ref=f"{model.__module__}.{model.__qualname__}:when-present")
        return core_schema.no_info_wrap_validator_function(self._validate, placeholder)

    def _validate(self, value: Any, handler: object) -> Any:
        del handler
        return None if value is None else self.model.model_validate(value)

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler
                                     ) -> JsonSchemaValue:
        del schema
        return handler(core_schema.nullable_schema(self.model.__pydantic_core_schema__))
