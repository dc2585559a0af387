"""The money part of a plan in words: this change's total, each team's month and budget.

Its own module so the plan's renderer only places these lines (text, JSON, Markdown) and the
wording lives in one place. The reviewer's question is "what will this cost, and who pays?":
the change's total comes first, then one line per team; a job whose datasets were not read
says `estimate unknown` and why, never a zero.
"""

from __future__ import annotations

from tuning_operator.planning.actions import Action, ActionKind, Plan
from tuning_operator.planning.budgets import Spent, TeamMoney
from tuning_operator.planning.cost import money_text, tokens_text


def change_total(plan: Plan) -> str | None:
    """`+ 41.2M training tokens, + $206.00 in this change` (None: nothing is created)."""
    creates = [a for a in plan.actions if a.kind == ActionKind.CREATE]
    if not creates:
        return None
    known = [a.estimate for a in creates if a.estimate is not None and a.estimate.known]
    tokens = sum(e.training_tokens or 0 for e in known)
    costs = [e.cost for e in known]
    currency = next((e.currency for e in known if e.currency), None)
    line = f"+ {tokens_text(tokens)} training tokens"
    if known and all(c is not None for c in costs):
        line += f", + {money_text(sum(c or 0.0 for c in costs), currency)}"
    elif known:
        line += ", cost: some models have no price in the policy"
    unknown = len(creates) - len(known)
    if unknown:
        line += f" ({unknown} of {len(creates)} creates with estimate unknown)"
    return line + " in this change"


def _spent(spent: Spent, budget_tokens: int | None, budget_cost: float | None,
           currency: str | None) -> str:
    tokens = tokens_text(spent.training_tokens) + (
        f" of {tokens_text(budget_tokens)}" if budget_tokens is not None else "")
    line = f"{tokens} training tokens"
    if spent.cost is not None:
        line += f", {money_text(spent.cost, currency)}" + (
            f" of {money_text(budget_cost, currency)}" if budget_cost is not None else "")
    return line


def team_line(money: TeamMoney) -> str:
    """`support: used 140.0M of 200.0M training tokens, $100.00 of $800.00 this month;
    this change + 41.0M, + $205.00`."""
    budget, currency = money.budget, money.currency
    used = _spent(money.spent, budget.monthly_training_tokens if budget else None,
                  budget.monthly_cost if budget else None, currency)
    line = f"{money.team}: used {used} this month"
    if money.change.training_tokens:
        change = f"+ {tokens_text(money.change.training_tokens)}"
        if money.change.cost is not None:
            change += f", + {money_text(money.change.cost, currency)}"
        line += f"; this change {change}"
    if budget is not None and budget.on_exceed == "warn":
        line += " (budget: warn only)"
    return line


def currency_of(plan: Plan) -> str | None:
    return next((a.estimate.currency for a in plan.actions
                 if a.estimate is not None and a.estimate.currency), None)


def money_lines(plan: Plan) -> list[str]:
    """The text plan's money lines, after its notes and before its actions."""
    total = change_total(plan)
    return ([total] if total else []) + [f"  {team_line(m)}" for m in plan.money]


def estimate_text(action: Action) -> str | None:
    """The estimate under a create or a wait (None for actions that cost nothing new)."""
    if action.kind not in (ActionKind.CREATE, ActionKind.WAIT) or action.estimate is None:
        return None
    return action.estimate.short()


def money_document(plan: Plan) -> dict[str, object]:
    """`plan --format json`'s `money`: the change's total and each team's line."""
    creates = [a.estimate for a in plan.actions
               if a.kind == ActionKind.CREATE and a.estimate is not None and a.estimate.known]
    costs = [e.cost for e in creates]
    return {
        "change": {"trainingTokens": sum(e.training_tokens or 0 for e in creates),
                   "cost": round(sum(c or 0.0 for c in costs), 2)
                   if creates and all(c is not None for c in costs) else None,
                   "currency": currency_of(plan), "summary": change_total(plan)},
        "teams": [{"team": m.team, "monthTrainingTokens": m.spent.training_tokens,
                   "monthCost": m.spent.cost, "changeTrainingTokens": m.change.training_tokens,
                   "changeCost": m.change.cost,
                   "budget": None if m.budget is None else m.budget.model_dump(by_alias=True)}
                  for m in plan.money],
    }
