"""Team budgets at admission: a create that would take its team past a monthly budget waits.

A planner input like the quota, taken in the same order (priority, then first seen): what one
admitted job takes is no longer there for the next. Months are UTC calendar months; what a team
has used this month (billed figures where Vertex gave them, estimates otherwise) is gathered by
the caller from the status store. A budget wait needs a policy change or a new month, so it
counts as settled; with a budget set and no estimate, the job waits too (`cost unknown`): a
budget that admits what nobody measured is no budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tuning_operator.planning.cost import Estimate, money_text, tokens_text
from tuning_operator.specs.money import Budget
from tuning_operator.specs.policy import Policy

BUDGET_WAIT = "budget"  # the first word of a budget wait's reason: settled, and said in events


@dataclass(frozen=True)
class Spent:
    """A team's month-to-date use: training tokens and cost (None: some of it unpriced)."""

    training_tokens: int = 0
    cost: float | None = 0.0

    def plus(self, estimate: Estimate) -> Spent:
        cost = None if self.cost is None or estimate.cost is None else self.cost + estimate.cost
        return Spent(self.training_tokens + (estimate.training_tokens or 0), cost)


@dataclass(frozen=True)
class Admission:
    """A budget's word on one create: wait (the reason), or go, perhaps with a warning."""

    wait: str | None = None
    warning: str | None = None
    settled: bool = True  # False: the pre-flight has not answered yet, the next pass may


@dataclass(frozen=True)
class TeamMoney:
    """One team's line in the plan: used this month, this change's creates, its budget."""

    team: str
    spent: Spent
    change: Spent
    budget: Budget | None
    currency: str | None = None  # the policy's, for the cost figures


class Budgets:
    """Month-to-date spend per team against its budget, taken as creates are admitted."""

    def __init__(self, policy: Policy | None, spent: Mapping[str, Spent],
                 estimates: Mapping[str, Estimate]) -> None:
        self.budgets = dict(policy.budgets) if policy is not None else {}
        self.currency = policy.prices.currency if policy and policy.prices else None
        self.spent = dict(spent)
        self.estimates = estimates
        self.change: dict[str, Spent] = {}

    def admit(self, team: str, job: str) -> Admission:
        budget = self.budgets.get(team)
        if budget is None:
            return Admission()
        estimate = self.estimates.get(job)
        if estimate is None:
            return Admission(wait=f"{BUDGET_WAIT}: cost unknown until the dataset pre-flight"
                             f" has run; team {team} has a monthly budget", settled=False)
        if not estimate.known:
            return self._exceeded(budget, f"{BUDGET_WAIT}: cost unknown ({estimate.unknown});"
                                  f" team {team} has a monthly budget")
        used = self._used(team)
        over = _over(budget, used, estimate, team, self.currency)
        return self._exceeded(budget, over) if over else Admission()

    def _exceeded(self, budget: Budget, reason: str) -> Admission:
        return Admission(warning=reason) if budget.on_exceed == "warn" else Admission(wait=reason)

    def take(self, team: str, job: str) -> None:
        estimate = self.estimates.get(job)
        if estimate is not None and estimate.known:
            self.change[team] = self.change.get(team, Spent()).plus(estimate)

    def _used(self, team: str) -> Spent:
        spent, change = self.spent.get(team, Spent()), self.change.get(team, Spent())
        cost = None if spent.cost is None or change.cost is None else spent.cost + change.cost
        return Spent(spent.training_tokens + change.training_tokens, cost)

    def teams(self) -> tuple[TeamMoney, ...]:
        """A line per team with a budget, spend this month or an estimated create."""
        names = sorted(set(self.budgets) | set(self.change) | set(self.spent))
        return tuple(TeamMoney(team, self.spent.get(team, Spent()),
                               self.change.get(team, Spent()), self.budgets.get(team),
                               self.currency)
                     for team in names)


def _over(budget: Budget, used: Spent, estimate: Estimate, team: str,
          currency: str | None) -> str | None:
    """`budget: support has used 182M of 200M training tokens this month; this job needs
    41M`, or None when the job fits both figures."""
    tokens = estimate.training_tokens or 0
    limit = budget.monthly_training_tokens
    if limit is not None and used.training_tokens + tokens > limit:
        return (f"{BUDGET_WAIT}: {team} has used {tokens_text(used.training_tokens)} of"
                f" {tokens_text(limit)} training tokens this month; this job needs"
                f" {tokens_text(tokens)}")
    if budget.monthly_cost is None:
        return None
    if estimate.cost is None or used.cost is None:
        return (f"{BUDGET_WAIT}: cost unknown (a model without a price); team {team} has a"
                f" monthly cost budget of {money_text(budget.monthly_cost, currency)}")
    if used.cost + estimate.cost > budget.monthly_cost:
        return (f"{BUDGET_WAIT}: {team} has used {money_text(used.cost, currency)} of"
                f" {money_text(budget.monthly_cost, currency)} this month; this job needs"
                f" {money_text(estimate.cost, currency)}")
    return None
