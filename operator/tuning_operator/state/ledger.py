"""The spend ledger: per created job, what was estimated and what Vertex billed, by UTC month.

Read from the status store's records only (what the pre-flight expected at the create, and
Vertex's `total_billable_token_count` once it reported it), so `spend` and the budgets of the
next plan need no cloud call. Billed tokens are recorded as Vertex reports them: whether that
figure includes the epochs is not documented, and the ledger assumes it does (it is what
Vertex bills); the note of each row says so. Costs use the policy's current prices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tuning_operator.planning.budgets import Spent
from tuning_operator.planning.cost import Estimate, priced
from tuning_operator.specs.money import Prices

if TYPE_CHECKING:  # `plan` without a state directory imports no store (issue 31, P7)
    from tuning_operator.judging.usage import Usage
    from tuning_operator.state.records import PreflightEstimate
    from tuning_operator.state.store import JobRecord

BILLED_NOTE = ("billed: Vertex's total_billable_token_count as reported (assumed to include the"
               " epochs; Vertex does not document it)")


def month_of(timestamp: float) -> str:
    """`2026-12`: the UTC calendar month of a time."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m")


@dataclass(frozen=True)
class LedgerRow:
    """One created job's line: estimated vs billed training tokens, prediction tokens."""

    job: str
    team: str
    model: str | None
    month: str
    estimated_tokens: int | None
    billed_tokens: int | None
    prediction_tokens: int | None  # the pre-flight's estimate for the evaluation
    epochs_assumed: bool
    billed_prediction: Usage | None = None  # what Vertex billed for the evaluation's answers

    @property
    def counted_tokens(self) -> int:
        """What the budget counts: billed where Vertex gave it, the estimate otherwise."""
        if self.billed_tokens is not None:
            return self.billed_tokens
        return self.estimated_tokens or 0

    def cost(self, prices: Prices | None, *, billed: bool) -> float | None:
        """The training (and prediction) cost by the policy's table; None when unpriced.
        Billed: the predictions as billed where Vertex reported them, else as estimated."""
        tokens = self.billed_tokens if billed else self.estimated_tokens
        if tokens is None:
            return None
        return priced(Estimate(training_tokens=tokens, prediction_tokens=self.prediction_tokens,
                               model=self.model), prices,
                      billed=self.billed_prediction if billed else None).cost

    def counted_cost(self, prices: Prices | None) -> float | None:
        return self.cost(prices, billed=self.billed_tokens is not None)


def preflight_at_create(estimate: Estimate | None, *, summary: str | None,
                        fallback_tokens: int | None, model: str | None,
                        now: float) -> PreflightEstimate:
    """What a create records for the ledger: the estimate it was admitted with, and when."""
    from tuning_operator.state.records import PreflightEstimate

    known = estimate is not None and estimate.known
    return PreflightEstimate(
        summary=summary or (estimate.short() if estimate is not None else ""),
        estimated_tokens=estimate.training_tokens if known and estimate else fallback_tokens,
        created_at=now, model=model,
        prediction_tokens=estimate.prediction_tokens if estimate is not None else None,
        epochs_assumed=bool(estimate and estimate.epochs_assumed),
        estimated_cost=estimate.cost if estimate is not None else None,
        currency=estimate.currency if estimate is not None else None)


def cost_details(record: JobRecord) -> dict[str, object]:
    """The `cost` of a `Submitted` or `Succeeded` event: `null` where unknown or unpriced, so
    the audit table answers fleet-wide questions without reading the ledger."""
    preflight, stats = record.preflight, record.data_stats
    return {"estimatedTrainingTokens": preflight.estimated_tokens if preflight else None,
            "billedTrainingTokens": stats.billable_tokens if stats else None,
            "predictionTokens": preflight.prediction_tokens if preflight else None,
            "estimatedCost": None if preflight is None or preflight.estimated_cost is None
            else round(preflight.estimated_cost, 2),
            "currency": preflight.currency if preflight else None}


def billed_predictions(record: JobRecord) -> Usage | None:
    """What Vertex billed for the job's evaluation and smoke test (either, when only one has
    a figure); None when neither has one yet."""
    evaluation = record.evaluation.usage if record.evaluation else None
    smoke = record.smoke_test.usage if record.smoke_test else None
    return evaluation + smoke if evaluation and smoke else evaluation or smoke


def ledger(records: Iterable[JobRecord]) -> list[LedgerRow]:
    """A row per job that reached Vertex (a create was sent), oldest month first."""
    rows = []
    for record in records:
        preflight, stats = record.preflight, record.data_stats
        if record.vertex_name is None and (preflight is None or preflight.created_at is None):
            continue  # never created: it cost nothing
        created = preflight.created_at if preflight and preflight.created_at else (
            record.first_seen)
        rows.append(LedgerRow(
            job=record.name, team=record.team or "", month=month_of(created),
            model=preflight.model if preflight else None,
            estimated_tokens=preflight.estimated_tokens if preflight else None,
            billed_tokens=stats.billable_tokens if stats else None,
            prediction_tokens=preflight.prediction_tokens if preflight else None,
            epochs_assumed=bool(preflight and preflight.epochs_assumed),
            billed_prediction=billed_predictions(record)))
    return sorted(rows, key=lambda r: (r.month, r.team, r.job))


def month_spend(records: Iterable[JobRecord], *, month: str,
                prices: Prices | None) -> dict[str, Spent]:
    """Per team, what its jobs created in `month` used: billed where known, else estimated."""
    spent: dict[str, Spent] = {}
    for row in ledger(records):
        if row.month != month:
            continue
        before = spent.get(row.team, Spent())
        cost = row.counted_cost(prices)
        total = None if before.cost is None or cost is None else before.cost + cost
        if not row.counted_tokens and cost is None:
            total = before.cost  # nothing known to add (no estimate, no bill yet)
        spent[row.team] = Spent(before.training_tokens + row.counted_tokens, total)
    return spent


def spend_of(records: Mapping[str, JobRecord], *, now: float,
             prices: Prices | None) -> dict[str, Spent]:
    """This UTC month's spend per team, for the planner's budgets."""
    return month_spend(records.values(), month=month_of(now), prices=prices)
