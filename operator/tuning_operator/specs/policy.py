"""Per-team policy (`_policy.yaml` at the root of the jobs directory).

A platform team uses it to say which datasets, base models and how much of the concurrency
quota each team may use. It restricts; it never grants: a team the policy does not name is
unrestricted, and a broken policy file holds every new create until it is fixed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tuning_operator.specs.model import _Strict

POLICY_FILE = "_policy.yaml"


class TeamPolicy(_Strict):
    dataset_prefixes: list[Annotated[str, Field(pattern=r"^gs://[a-z0-9][^\s]*$")]] | None = (
        Field(default=None, description="Allowed gs:// prefixes for training/validation data.")
    )
    base_models: list[str] | None = Field(default=None, description="Allowed base models.")
    max_concurrent_jobs: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="At most this many of the team's jobs active at once."
    )


class Policy(_Strict):
    api_version: Literal["tuning-operator/v1"]
    kind: Literal["Policy"]
    teams: dict[str, TeamPolicy] = Field(default_factory=dict)

    def for_team(self, team: str) -> TeamPolicy | None:
        return self.teams.get(team)
