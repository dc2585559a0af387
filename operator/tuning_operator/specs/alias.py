"""The second kind of the jobs directory, `ModelAlias`: a stable name for a job's tuned model.

Applications call "ticket-router", not a tuning job: the alias file says which job's model the
name points at, and a pull request that changes it is the promotion (or, reverted, the
rollback). The name becomes a Vertex Model Registry version alias, so it must be both a DNS
label (it names a file, an event subject, an artifacts object) and a valid Vertex alias
(`[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]`): the intersection is a DNS label of two characters or more.
`default` is refused: Vertex keeps it on exactly one version of every Model and moves it itself.

Like `specs.model`, this checks only what one file can check; which jobs exist, and whose team
they belong to, are checked across files (`specs.aliases`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from tuning_operator.specs.model import CHECKPOINT_ID, DnsLabel
from tuning_operator.specs.shapes import DEFERRED, _Strict

KIND = "ModelAlias"
# Both Vertex's alias pattern and a DNS label: lowercase, 2 to 63 characters.
ALIAS_NAME = r"^[a-z][-a-z0-9]{0,61}[a-z0-9]$"
VERTEX_ALIAS = r"^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]$"  # what Vertex accepts (the emulator checks)
RESERVED = frozenset({"default"})  # Vertex's own alias: the operator never moves it
CHECKPOINT_WORDS = ("evaluated", "best", "last")

AliasName = Annotated[str, StringConstraints(pattern=ALIAS_NAME, max_length=63)]


class AliasMetadata(_Strict):
    model_config = DEFERRED
    name: AliasName = Field(
        description="The stable name: a DNS label of 2 to 63 characters that is also a Vertex"
        " model version alias; unique in its team.")

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name in RESERVED:
            raise ValueError(f"{name!r} is Vertex's own alias (exactly one version of every"
                             " Model carries it); choose another name")
        return name


class AliasSpec(_Strict):
    model_config = DEFERRED
    job: DnsLabel = Field(description="metadata.name of a TuningJob of the same team.")
    checkpoint: Annotated[str, StringConstraints(pattern=CHECKPOINT_ID)] = Field(
        default="evaluated",
        description="evaluated (the checkpoint the evaluation chose), best (of the curves),"
        " last, or a checkpoint id.")
    require_evaluation: Literal["passed", "none"] = Field(
        default="passed",
        description="passed: move only when the job's evaluation gate passed; none: promote a"
        " job that has no evaluation (a reviewed exception).")


class ModelAlias(_Strict):
    """One alias file."""

    model_config = DEFERRED

    api_version: Literal["tuning-operator/v1"]
    kind: Literal["ModelAlias"]
    metadata: AliasMetadata
    spec: AliasSpec

    @property
    def name(self) -> str:
        return self.metadata.name
