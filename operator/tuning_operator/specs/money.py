"""The money blocks of the policy file: the price table and the teams' monthly budgets.

Prices differ per model and per contract, so they are the policy's, never the code's: a model
without a price shows tokens only, and nothing is priced by guesswork. A price is a number
written as a number: a quoted "5.00" is refused, because YAML makes it a string and a string
that happens to look like a price is how a typo becomes a bill. What needs outside knowledge
(the catalog's model names, the team directories) is checked by `money_problems`, which the
loader calls with both.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Annotated, Literal

from pydantic import Field, field_validator

from tuning_operator.specs.catalog import Catalog
from tuning_operator.specs.labels import team_name_problem
from tuning_operator.specs.shapes import DEFERRED, _Strict

# strict: a quoted "5.00" is a string in YAML, and is refused rather than read as a number
Price = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]


class PredictionPrice(_Strict):
    """Per 1M tokens of a prediction (evaluations and smoke tests): prompt and answer."""

    model_config = DEFERRED

    input: Price
    output: Price


class Prices(_Strict):
    """Per 1M tokens, as listed or contracted; a model absent here is shown with tokens only."""

    model_config = DEFERRED

    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = Field(
        default="USD", description="ISO 4217 code, e.g. USD.")
    training: dict[str, Price] = Field(
        default_factory=dict, description="Base model → price per 1M training tokens.")
    prediction: dict[str, PredictionPrice] = Field(
        default_factory=dict, description="Model → prices per 1M input and output tokens.")

    def training_price(self, model: str | None) -> float | None:
        return None if model is None else self.training.get(model)


class Budget(_Strict):
    """A team's monthly budget (UTC calendar months); either figure may be left out."""

    model_config = DEFERRED

    monthly_training_tokens: Annotated[int, Field(strict=True, ge=0)] | None = None
    monthly_cost: Price | None = None
    on_exceed: Literal["wait", "warn"] = Field(
        default="wait", description="wait: the create waits for a new month or a raised budget;"
        " warn: it is created with a warning.")


def _budget_team_names(budgets: dict[str, Budget]) -> dict[str, Budget]:
    problems = [p for p in map(team_name_problem, budgets) if p]
    if problems:
        raise ValueError("; ".join(problems) + " (a key names a team directory exactly)")
    return budgets


class MoneyBlocks(_Strict):
    """The policy's `prices` and `budgets` (the `Policy` model inherits them)."""

    model_config = DEFERRED

    prices: Prices | None = None
    budgets: dict[str, Budget] = Field(default_factory=dict)

    @field_validator("budgets")
    @classmethod
    def _budget_teams(cls, budgets: dict[str, Budget]) -> dict[str, Budget]:
        return _budget_team_names(budgets)


def money_problems(blocks: MoneyBlocks, *, catalog: Catalog,
                   team_directories: Collection[str]) -> list[str]:
    """What the price table and budgets name that does not exist, as `key: problem` lines."""
    problems: list[str] = []
    if blocks.prices is not None:
        tables: Mapping[str, Collection[str]] = {"training": blocks.prices.training,
                                                 "prediction": blocks.prices.prediction}
        for table, models in tables.items():
            problems.extend(
                f"prices.{table}.{model}: unknown model (known: {catalog.known()})"
                for model in models if catalog.get(model) is None)
    problems.extend(
        f"budgets.{team}: no team directory {team}/ in the jobs directory (a budget for a"
        " team that does not exist would silently apply to nobody)"
        for team in blocks.budgets if team not in team_directories)
    return problems
