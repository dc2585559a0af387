"""Budgets at admission and estimates: each case names the policy, the spend, the estimates
and what the planner must do with the creates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.job_files import write_job
from tuning_operator.planning.budgets import Spent
from tuning_operator.planning.cost import Estimate, estimate_job, priced, unknown
from tuning_operator.planning.planner import ActionKind, PlanSettings, plan
from tuning_operator.planning.render import plan_json, plan_markdown, plan_text
from tuning_operator.specs import load_jobs_dir
from tuning_operator.specs.catalog import default_catalog
from tuning_operator.specs.money import Prices

POLICY = """apiVersion: tuning-operator/v1
kind: Policy
prices: {training: {gemini-2.5-flash: 5.00}}
budgets: {t: {monthlyTrainingTokens: 200000000, monthlyCost: 800, onExceed: ON_EXCEED}}
"""
M = 1_000_000


def _jobs(tmp_path: Path, on_exceed: str = "wait") -> Path:
    (tmp_path / "_policy.yaml").write_text(POLICY.replace("ON_EXCEED", on_exceed))
    write_job(tmp_path, "a", "  priority: 5\n", team="t")
    write_job(tmp_path, "b", team="t")
    write_job(tmp_path, "c", team="u")
    return tmp_path


def _estimate(tokens: int, cost: float | None = None) -> Estimate:
    return Estimate(training_tokens=tokens, epochs=1, cost=cost, currency="USD",
                    model="gemini-2.5-flash")


def _by_job(result: object) -> dict[str | None, tuple[ActionKind, str]]:
    return {a.job: (a.kind, a.reason) for a in result.actions}  # type: ignore[attr-defined]


def test_a_create_past_the_token_budget_waits_with_the_numbers(tmp_path: Path) -> None:
    """The first job by priority fits; the next would cross 200M and waits, saying how much is
    used and needed; another team's job is not affected."""
    load = load_jobs_dir(_jobs(tmp_path))
    settings = PlanSettings(spent={"t": Spent(140 * M, 100.0)},
                            estimates={"a": _estimate(41 * M, 205.0),
                                       "b": _estimate(41 * M, 205.0), "c": unknown("x")})
    result = _by_job(plan(load, [], settings))
    assert result["a"][0] == ActionKind.CREATE
    kind, reason = result["b"]
    assert kind == ActionKind.WAIT
    assert reason == ("budget: t has used 181.0M of 200.0M training tokens this month;"
                      " this job needs 41.0M")
    assert result["c"][0] == ActionKind.CREATE
    waiting = [a for a in plan(load, [], settings).actions if a.job == "b"]
    assert waiting[0].budget_wait


def test_the_cost_budget_is_checked_too(tmp_path: Path) -> None:
    """Within the token budget but past the monthly cost, a create waits on the cost."""
    load = load_jobs_dir(_jobs(tmp_path))
    settings = PlanSettings(spent={"t": Spent(0, 700.0)},
                            estimates={"a": _estimate(M, 150.0), "b": _estimate(M, 5.0)})
    result = _by_job(plan(load, [], settings))
    assert result["a"] == (ActionKind.WAIT, "budget: t has used $700.00 of $800.00 this month;"
                           " this job needs $150.00")
    assert result["b"][0] == ActionKind.CREATE


@pytest.mark.parametrize("estimates", [{}, {"a": unknown("no credentials"),
                                            "b": unknown("no credentials")}])
def test_an_unknown_estimate_under_a_budget_waits(tmp_path: Path,
                                                  estimates: dict[str, Estimate]) -> None:
    """With a budget set and no estimate, the create waits (`cost unknown`) and says why."""
    load = load_jobs_dir(_jobs(tmp_path))
    result = _by_job(plan(load, [], PlanSettings(estimates=estimates)))
    assert result["a"][0] == ActionKind.WAIT and "cost unknown" in result["a"][1]
    assert result["c"][0] == ActionKind.CREATE  # team u has no budget


def test_on_exceed_warn_creates_with_a_warning(tmp_path: Path) -> None:
    """Under `onExceed: warn` the job past the budget is created, the reason warns."""
    load = load_jobs_dir(_jobs(tmp_path, "warn"))
    settings = PlanSettings(spent={"t": Spent(199 * M, 0.0)},
                            estimates={"a": _estimate(41 * M, 1.0), "b": _estimate(M, 1.0)})
    kind, reason = _by_job(plan(load, [], settings))["a"]
    assert kind == ActionKind.CREATE and "warning: budget: t has used 199.0M" in reason


def test_the_plan_sums_each_team_and_attaches_estimates(tmp_path: Path) -> None:
    """Each action carries its estimate; the plan's money lines add this change's creates."""
    load = load_jobs_dir(_jobs(tmp_path))
    settings = PlanSettings(estimates={"a": _estimate(10 * M, 50.0), "b": _estimate(5 * M, 25.0),
                                       "c": _estimate(M, None)})
    result = plan(load, [], settings)
    assert {a.job: a.estimate for a in result.actions}["a"] == _estimate(10 * M, 50.0)
    lines = {m.team: m for m in result.money}
    assert lines["t"].change == Spent(15 * M, 75.0)
    assert lines["u"].change == Spent(M, None) and lines["u"].budget is None


def test_estimate_is_tokens_times_epochs_priced_by_the_table() -> None:
    """Dataset tokens × epochs; a preset leaving epochs to Vertex assumes the catalog default;
    a model without a price has tokens and no cost."""
    model = default_catalog().get("gemini-2.5-flash")
    prices = Prices.model_validate({"training": {"gemini-2.5-flash": 5.0}})
    explicit = priced(estimate_job(dataset_tokens=2 * M, epochs=4, model=model), prices)
    assert (explicit.training_tokens, explicit.cost, explicit.epochs_assumed) == (8 * M, 40.0,
                                                                                 False)
    assumed = estimate_job(dataset_tokens=2 * M, epochs=None, model=model)
    assert assumed.epochs_assumed and assumed.epochs == model.default_epoch_count  # type: ignore[union-attr]
    assert "assumed" in assumed.short()
    unpriced = priced(explicit, Prices.model_validate({"training": {}}))
    assert unpriced.cost is None and unpriced.short().endswith("unpriced")
    assert not estimate_job(dataset_tokens=None, epochs=3, model=model).known


def test_the_plan_says_the_change_total_and_each_team_in_every_format(tmp_path: Path) -> None:
    """Text and Markdown lead with `+ 15.0M training tokens, + $75.00 in this change` and a
    line per team; JSON carries the same figures and each action's estimate."""
    load = load_jobs_dir(_jobs(tmp_path))
    settings = PlanSettings(spent={"t": Spent(100 * M, 20.0)},
                            estimates={"a": _estimate(10 * M, 50.0), "b": _estimate(5 * M, 25.0),
                                       "c": unknown("no credentials")})
    result = plan(load, [], settings)
    text = plan_text(result)
    assert "+ 15.0M training tokens, + $75.00 (1 of 3 creates with estimate unknown)" in text
    assert ("t: used 100.0M of 200.0M training tokens, $20.00 of $800.00 this month;"
            " this change + 15.0M, + $75.00") in text
    assert "estimate unknown: no credentials" in text
    markdown = plan_markdown(result)
    assert "**+ 15.0M training tokens" in markdown and "| estimate |" in markdown
    document = json.loads(plan_json(result))
    assert document["money"]["change"] == {
        "trainingTokens": 15 * M, "cost": 75.0, "currency": "USD",
        "summary": "+ 15.0M training tokens, + $75.00 (1 of 3 creates with estimate unknown)"
                   " in this change"}
    by_job = {a["job"]: a["estimate"] for a in document["actions"]}
    assert by_job["a"]["estimatedTrainingTokens"] == 10 * M and by_job["c"]["unknown"]
