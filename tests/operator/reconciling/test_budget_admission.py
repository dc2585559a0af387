"""The operator under a team budget: the create past it waits (settled), the pre-flight's
estimate is recorded at the create for the ledger, and a raised budget lets the job go."""

from __future__ import annotations

from tests.operator.reconciling.test_reconciler import FakeCheck, FakeChecker, World, world
from tests.support.job_files import write_job

__all__ = ["world"]  # the fixture, shared with the reconciler's tests

POLICY = """apiVersion: tuning-operator/v1
kind: Policy
prices: {training: {gemini-2.5-flash: 5.00}}
budgets: {t: {monthlyTrainingTokens: LIMIT}}
"""


def _check(tokens: int) -> FakeCheck:
    check = FakeCheck()
    check.training_tokens = tokens
    return check


def _two_jobs_of_600_under_1000(world: World) -> None:
    """Team t with a 1,000-token budget, jobs a (first by priority) and b of 600 each."""
    checker = FakeChecker()
    checker.answers = {"a": _check(600), "b": _check(600)}
    world.use_datasets(checker)
    (world.jobs / "_policy.yaml").write_text(POLICY.replace("LIMIT", "1000"))
    write_job(world.jobs, "a", "  priority: 5\n", team="t")
    write_job(world.jobs, "b", team="t")


def test_budget_wait_is_settled_and_a_raised_budget_creates(world: World) -> None:
    """Two jobs of 600 tokens under a 1,000-token budget: the first is created with its
    estimate recorded, the second waits with the numbers and the pass counts as settled; once
    the policy raises the budget, it is created."""
    _two_jobs_of_600_under_1000(world)
    report = world.reconciler.reconcile()
    assert world.phase("a") == "Submitted" and world.phase("b") == "Waiting"
    records = world.reconciler.status.records()
    assert records["b"].reason == ("budget: t has used 600 of 1.0k training tokens this month;"
                                   " this job needs 600")
    preflight = records["a"].preflight
    assert preflight is not None and preflight.estimated_tokens == 600
    assert preflight.estimated_cost == 600 * 5.0 / 1e6 and preflight.model == "gemini-2.5-flash"
    world.vertex.set_state(world.vertex.by_job("a")[0].name, "JOB_STATE_SUCCEEDED")
    report = world.reconciler.reconcile()
    assert report.settled  # b waits for a policy change or a new month
    (world.jobs / "_policy.yaml").write_text(POLICY.replace("LIMIT", "2000"))
    world.clock.now += 1
    world.reconciler.reconcile()
    assert world.phase("b") == "Submitted"


def test_a_new_utc_month_admits_the_waiting_job(world: World) -> None:
    """Months are UTC calendar months: what a team used last month does not count in the next,
    so the job that waited for the budget is created once the clock enters a new month."""
    _two_jobs_of_600_under_1000(world)
    world.reconciler.reconcile()
    assert world.phase("b") == "Waiting"
    world.clock.now += 31 * 86_400  # 1970-01-12 → 1970-02-12
    world.reconciler.reconcile()
    assert world.phase("b") == "Submitted"
