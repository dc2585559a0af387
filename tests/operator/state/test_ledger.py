"""The spend ledger: per created job estimated vs billed, by UTC month; budgets count billed
figures where Vertex gave them; `spend` and the events' `cost` read it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tuning_operator.cli import main
from tuning_operator.planning.budgets import Spent
from tuning_operator.planning.cost import Estimate
from tuning_operator.planning.model import DataStats
from tuning_operator.specs.money import Prices
from tuning_operator.state.ledger import cost_details, month_spend, preflight_at_create
from tuning_operator.state.store import FileStatusStore, JobRecord

DEC = datetime(2026, 12, 3, tzinfo=UTC).timestamp()
NOV = datetime(2026, 11, 30, 23, 59, tzinfo=UTC).timestamp()
PRICES = Prices.model_validate({"training": {"gemini-2.5-flash": 5.0}})
M = 1_000_000


def _created(name: str, team: str, *, at: float, tokens: int, billed: int | None = None,
             model: str = "gemini-2.5-flash") -> JobRecord:
    estimate = Estimate(training_tokens=tokens, epochs=3, epochs_assumed=True, model=model,
                        cost=tokens * 5.0 / M, currency="USD")
    record = JobRecord(name=name, first_seen=at, team=team, vertex_name=f"v/{name}",
                       phase="Submitted")
    record.preflight = preflight_at_create(estimate, summary=None, fallback_tokens=None,
                                           model=model, now=at)
    if billed is not None:
        record.data_stats = DataStats(examples=10, billable_tokens=billed, truncated_examples=0)
    return record


def _records() -> list[JobRecord]:
    return [_created("a", "support", at=DEC, tokens=40 * M, billed=42 * M),
            _created("b", "support", at=DEC, tokens=10 * M),
            _created("c", "support", at=NOV, tokens=99 * M, billed=99 * M),
            _created("d", "knowledge", at=DEC, tokens=M, model="gemini-2.5-pro"),
            JobRecord(name="never", first_seen=DEC, team="support", phase="Waiting")]


def test_month_spend_counts_billed_where_known_else_estimated() -> None:
    """December: a's billed 42M and b's estimated 10M; November's job and a job never created
    do not count; an unpriced model leaves the cost unknown."""
    spent = month_spend(_records(), month="2026-12", prices=PRICES)
    assert spent["support"] == Spent(52 * M, pytest.approx(260.0))  # type: ignore[arg-type]
    assert spent["knowledge"] == Spent(M, None)


def test_events_cost_carries_estimate_and_bill() -> None:
    """The `cost` of Submitted/Succeeded events: estimated and billed tokens, cost, currency."""
    assert cost_details(_records()[0]) == {
        "estimatedTrainingTokens": 40 * M, "billedTrainingTokens": 42 * M,
        "predictionTokens": None, "estimatedCost": 200.0, "currency": "USD"}
    assert cost_details(JobRecord(name="x", first_seen=0.0))["estimatedCost"] is None


def test_spend_reports_per_team_and_model(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`spend --month` lists per team and model the jobs, estimated and billed figures."""
    store = FileStatusStore(tmp_path / "state")
    store.store({r.name: r for r in _records()})
    jobs = tmp_path / "jobs"
    (jobs / "support").mkdir(parents=True)
    (jobs / "_policy.yaml").write_text("apiVersion: tuning-operator/v1\nkind: Policy\n"
                                       "prices: {training: {gemini-2.5-flash: 5.00}}\n")
    args = ["spend", "--month", "2026-12", "--state-dir", str(tmp_path / "state"),
            "--jobs-dir", str(jobs)]
    assert main([*args, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    support = next(t for t in document["teams"] if t["team"] == "support")
    assert (support["jobs"], support["estimatedTrainingTokens"], support["billedTrainingTokens"],
            support["estimatedCost"], support["billedCost"]) == (2, 50 * M, 42 * M, 250.0, 210.0)
    knowledge = next(t for t in document["teams"] if t["team"] == "knowledge")
    assert knowledge["estimatedCost"] is None  # gemini-2.5-pro has no price here
    assert main([*args, "--team", "support"]) == 0
    table = capsys.readouterr().out
    assert "support" in table and "knowledge" not in table and "$250.00" in table
    assert main([*args, "--format", "markdown"]) == 0
    assert "| support | gemini-2.5-flash | 2 |" in capsys.readouterr().out
    assert main(["spend", "--month", "2026-13", "--state-dir", str(tmp_path)]) == 1
