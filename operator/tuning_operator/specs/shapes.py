"""What every model of the job file shares: strict camelCase models and the dataset URI form.

Its own module so that the blocks of a job file (`specs.model`, `specs.evaluation`,
`specs.policy`) can import it without importing each other; `specs.model` re-exports both names.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

# For the models a run may never need (the policy without a policy file, alias files): their
# validators are built on first use, not at import (`validate`'s start-up, issue 31).
DEFERRED = ConfigDict(defer_build=True)

GCS_JSONL = r"^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]/[^\s]*[^/\s]\.jsonl$"


class _Strict(BaseModel):
    """Unknown fields are errors (they are usually typos); files use camelCase keys."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )
