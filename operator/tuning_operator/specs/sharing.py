"""One copy of what thousands of validated job files repeat (issue 31, P5).

The operator keeps every valid job's model for as long as its file is unchanged. Pydantic gives
each model instance a fields set of its own (the names set in the file: 200–700 bytes each,
four or more per job) and keeps each YAML scalar as parsed, so 10,000 jobs held the same sets
and the same label keys, base model names and enum words 10,000 times over. `SharedParts.share`
replaces them, after validation, by one shared copy of each: the values stay equal, only their
identity changes.

This is safe because the job models are frozen: pydantic mutates a fields set only on a copy
(`model_copy` copies the set before it adds the updated names), never in place. Strings that
are unique per file (names, dataset URIs, descriptions) are left alone: interning them would
only grow the interpreter's table of interned strings.
"""

from __future__ import annotations

import sys

from pydantic import BaseModel

from tuning_operator.specs.model import Metadata

# Fields whose values repeat across files: enum words, the catalog's names, a team's settings.
REPEATED_FIELDS = frozenset({
    "api_version", "kind", "base_model", "region", "preset", "service_account",
    "encryption_key", "on_delete", "on_spec_change",
})


class SharedParts:
    """The shared copies handed out so far: one fields set per model class and combination
    of fields set (a handful in a whole jobs directory). Kept by the loader's cache."""

    def __init__(self) -> None:
        self._fields_sets: dict[tuple[type[BaseModel], frozenset[str]], set[str]] = {}

    def share(self, model: BaseModel) -> None:
        """Swap `model`'s fields set, its nested models' and its repeated strings for shared
        ones."""
        own = model.__pydantic_fields_set__
        shared = self._fields_sets.setdefault((type(model), frozenset(own)), own)
        object.__setattr__(model, "__pydantic_fields_set__", shared)
        values = model.__dict__
        for name, value in values.items():  # replacing a key's value never resizes the dict
            if isinstance(value, BaseModel):
                self.share(value)
            elif isinstance(value, str) and name in REPEATED_FIELDS:
                values[name] = sys.intern(value)
            elif name == "labels" and isinstance(model, Metadata):  # dict[str, str]
                values[name] = {sys.intern(k): sys.intern(v) for k, v in value.items()}
