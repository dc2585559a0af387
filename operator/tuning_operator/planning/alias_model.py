"""What the alias planner reasons with: where each alias is, each job's gate, a planned move.

Its own module, importing nothing of the planner, so that `planning.actions` can carry a move
on an action and hold the alias inputs in `PlanSettings` without an import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# A hold's reason starts with this when the alias already sits on the job whose verdict turned
# failed (its evaluation set changed): the alias stays, and its record is flagged.
NO_LONGER_PASSING = "no longer passing"


@dataclass(frozen=True)
class AliasTarget:
    """Where the operator last put an alias (from the status store)."""

    job: str
    model_version: str  # projects/P/locations/L/models/ID@VERSION
    checkpoint: str | None = None  # None: the tuned model's own (final) endpoint


@dataclass(frozen=True)
class GateResult:
    """A job's evaluation as the status store has it: the verdict, why, and of what."""

    verdict: str  # passed | failed | error | pending
    reason: str
    key: str | None  # the evaluation spec and set it judged (`aftercare.evaluation_key`)
    checkpoint: str | None = None  # the checkpoint the evaluation asked (None: the final model)


@dataclass(frozen=True)
class AliasInputs:
    targets: Mapping[str, AliasTarget] = field(default_factory=dict)  # by `team/alias`
    gates: Mapping[str, GateResult] = field(default_factory=dict)  # by job name
    allow_mass_deletion: bool = False  # most aliases' files gone at once is still a removal
    # job → the best checkpoint of its curves, when it can be trusted (`checkpoint: best`)
    best_checkpoints: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class AliasMove:
    """One alias to put on a Model version (or to take off, when `remove`)."""

    key: str  # team/alias
    alias: str
    job: str | None  # the job whose tuned model it points at (None: a removal)
    model_version: str | None  # …/models/ID@VERSION to merge the alias onto
    checkpoint: str | None = None
    endpoint: str | None = None
    gate: str = "passed"  # passed | none: what let it move
    previous: AliasTarget | None = None  # where it was: `-alias` there when another Model
    remove: bool = False  # the file is gone: take the alias off Vertex and forget it
    path: str | None = None  # the alias file, relative to the jobs directory
