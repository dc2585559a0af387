"""Per-team policy (`_policy.yaml` at the root of the jobs directory).

A platform team uses it to say which datasets, base models and how much of the concurrency
quota each team may use. It restricts; it never grants: a team the policy does not name is
unrestricted (`defaultTeam: allow`, the default, with a `validate` warning that names the team)
or refused (`defaultTeam: deny`: its files are invalid), and a broken policy file holds every
new create until it is fixed. Because an
unnamed team is unrestricted, a key that names no possible team (`Assistants` for the
directory `assistants/`) is an error, never a rule that silently applies to nobody.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from tuning_operator.specs.catalog import Catalog
from tuning_operator.specs.diagnostics import SpecError
from tuning_operator.specs.gcs import gcs_segments, within
from tuning_operator.specs.labels import team_name_problem
from tuning_operator.specs.model import _Strict
from tuning_operator.specs.money import MoneyBlocks, money_problems
from tuning_operator.specs.shapes import DEFERRED

POLICY_FILE = "_policy.yaml"


def _safe_prefix(prefix: str) -> str:
    gcs_segments(prefix, prefix=True)  # raises (a ValueError) when unsafe
    return prefix


class TeamPolicy(_Strict):
    model_config = DEFERRED
    dataset_prefixes: list[Annotated[str, AfterValidator(_safe_prefix)]] | None = Field(
        default=None, description="Allowed gs:// prefixes for training/validation data, matched"
        " by whole path segments (a trailing '/' makes no difference).")
    base_models: list[str] | None = Field(default=None, description="Allowed base models.")
    max_concurrent_jobs: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="At most this many of the team's jobs active at once."
    )
    allow_continuing_from: list[str] = Field(
        default_factory=list, description="Other teams whose jobs this team's jobs may continue"
        " (`preTunedModel.job`); a team always may continue its own.")

    def admits_base_model(self, model: str) -> bool:
        """True when no list is set, or `model` is on it."""
        return self.base_models is None or model in self.base_models

    def admits_dataset(self, uri: str) -> bool:
        """True when no prefix is set, or `uri` lies under one of them segment by segment."""
        if self.dataset_prefixes is None:
            return True
        return any(within(uri, prefix) for prefix in self.dataset_prefixes)


class Policy(MoneyBlocks):
    """The whole file: per-team rules, and (from `MoneyBlocks`) prices and budgets."""

    model_config = DEFERRED

    api_version: Literal["tuning-operator/v1"]
    kind: Literal["Policy"]
    teams: dict[str, TeamPolicy] = Field(default_factory=dict)
    default_team: Literal["allow", "deny"] = Field(
        default="allow", description="A team the policy does not name: allow (unrestricted,"
        " with a warning) or deny (its job files are invalid until it is listed).")

    @field_validator("teams")
    @classmethod
    def _team_names(cls, teams: dict[str, TeamPolicy]) -> dict[str, TeamPolicy]:
        problems = [p for p in map(team_name_problem, teams) if p]
        if problems:
            raise ValueError("; ".join(problems) + " (a key names a team directory exactly)")
        return teams

    def for_team(self, team: str) -> TeamPolicy | None:
        return self.teams.get(team)

    def unlisted(self, team: str) -> str | None:
        """What the policy says of a team it does not name (None: it names it)."""
        if team in self.teams:
            return None
        if self.default_team == "deny":
            return (f"team {team!r} is not in the policy and defaultTeam is deny: list it under"
                    f" `teams` in {POLICY_FILE} with the datasets and base models it may use")
        return (f"team {team!r} is not in the policy, so with defaultTeam: allow it may read any"
                " dataset bucket the operator can read and tune any base model; list it under"
                f" `teams` in {POLICY_FILE}, or set defaultTeam: deny")


def money_errors(base: Path, policy: Policy | None, catalog: Catalog) -> list[SpecError]:
    """Prices for models the catalog does not know, budgets for teams without a directory."""
    if policy is None:
        return []
    teams = [team for team in policy.budgets if (base / team).is_dir()]
    return [SpecError(file=str(base / POLICY_FILE), message=problem)
            for problem in money_problems(policy, catalog=catalog, team_directories=teams)]
