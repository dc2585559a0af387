"""The executors of a pass: one small function per action kind, looked up in one table.

The planner decides; an executor only carries out one action: it calls at most one adapter
(Vertex) or hands a post-success step to the background workers, writes what happened onto the
job's record, and returns a typed outcome (done, requeue after a delay, stalled until the spec
changes). Timing is derived from those outcomes by the reconciler, in one place. An executor
never decides whether to act: a create or a cancel only asks whether this instance still holds
the lease, and writes its audit line before the request goes out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from tuning_operator.errors import (
    NotFound,
    OperatorError,
    OutcomeUnknown,
    PermanentError,
    QuotaExhausted,
    TemporaryError,
)
from tuning_operator.planning.model import ObservedJob, Phase
from tuning_operator.planning.planner import Action, ActionKind
from tuning_operator.reconciling.backoff import Done, Outcome, Requeue, Stalled
from tuning_operator.reconciling.observe import refresh_record
from tuning_operator.reconciling.workers import Work
from tuning_operator.specs import DirectoryLoad, during
from tuning_operator.specs.model import TuningJob
from tuning_operator.state.ledger import preflight_at_create
from tuning_operator.state.store import JobRecord

if TYPE_CHECKING:
    from tuning_operator.reconciling.reconciler import PassReport, Reconciler


@dataclass
class PassContext:
    """What the executors of one pass share."""

    load: DirectoryLoad
    report: PassReport
    now: float
    observed: Mapping[str, ObservedJob]


Executor = Callable[[Action, JobRecord, PassContext], Outcome]


def executor_table(rc: Reconciler) -> dict[ActionKind, Executor]:
    """Every action kind's executor, bound to the reconciler's adapters as constructed."""
    return {
        ActionKind.READ_METRICS: partial(post_success, rc, "metrics"),
        ActionKind.SMOKE_TEST: partial(post_success, rc, "smoke"),
        ActionKind.EVALUATE: partial(post_success, rc, "evaluation"),
        ActionKind.CREATE: partial(create, rc),
        ActionKind.CANCEL: partial(cancel, rc),
        ActionKind.RETIRE: partial(retire, rc),
        ActionKind.WAIT: partial(record_phase, rc),
        ActionKind.CONFLICT: partial(record_phase, rc),
        ActionKind.INVALID: partial(record_phase, rc),
        ActionKind.BLOCK: partial(record_phase, rc),
        ActionKind.ORPHAN: partial(record_phase, rc),
        ActionKind.NOOP: partial(record_phase, rc),
    }


def post_success(rc: Reconciler, step: str, action: Action, record: JobRecord,
                 ctx: PassContext) -> Outcome:
    """Hand the step to the aftercare workers: the pass goes on, the result comes back later.
    A step whose last attempt backed off while this pass was planning waits out its backoff
    (the planner saw the attempt still running, not its outcome)."""
    key = f"{step}:{record.name}"  # the aftercare's backoff key
    if not rc.throttler.ready(key, now=ctx.now):
        wait = rc.throttler.not_before.get(key, ctx.now) - ctx.now
        return Requeue(after=max(wait, 0.05), reason=f"{step} backs off")
    aftercare, jobs = rc.aftercare, ctx.load.jobs
    observed = ctx.observed[action.vertex_name or ""]
    work: dict[str, Work] = {
        "metrics": lambda r, _progress: aftercare.read_metrics(action, r, observed),
        "smoke": lambda r, _progress: aftercare.smoke_test(action, r, observed, jobs[r.name]),
        "evaluation": lambda r, progress: aftercare.evaluate(action, r, observed, jobs[r.name],
                                                             progress=progress),
    }
    return rc.workers.run(step, record, work[step])


def record_phase(rc: Reconciler, action: Action, record: JobRecord, ctx: PassContext) -> Outcome:
    set_phase(record, action.phase or Phase.INVALID, action.reason,
              spec_hash=action.spec_hash)
    if action.stalled:
        return Stalled(action.reason)
    if action.retry_after is not None:
        return Requeue(after=action.retry_after, reason=action.reason)
    if action.kind == ActionKind.WAIT:
        return Requeue(after=rc.settings.create_fence_seconds / 4, reason=action.reason)
    return Done()


def retire(rc: Reconciler, action: Action, record: JobRecord, ctx: PassContext) -> Outcome:
    if action.phase is not None:
        set_phase(record, action.phase, action.reason)
    rc.recorder.action(record, action="retire", reason=action.reason)
    rc.retiring.append(record.name)
    return Done()


def create(rc: Reconciler, action: Action, record: JobRecord, ctx: PassContext) -> Outcome:
    loaded = ctx.load.jobs[record.name]
    check = rc.preflight.checks.get(record.name) if rc.preflight else None
    now, log = ctx.now, _log(rc, action)
    if not rc.still_leader():
        return Requeue(after=5.0, reason="the lease was lost during the pass")
    rc.recorder.action(record, action="create", reason=action.reason)
    ctx.report.calls["CreateTuningJob"] += 1
    try:
        created = rc.vertex.create(loaded.job, team=loaded.team,
                                   region=action.region or rc.settings.default_region,
                                   hyper_parameters=check.send if check else None,
                                   pre_tuned_model=action.lineage.sent if action.lineage
                                   else None,
                                   evaluation_output=_evaluation_output(rc, loaded.job))
    except QuotaExhausted as exc:
        record.create_intent_at = None
        set_phase(record, Phase.WAITING, f"Vertex quota exhausted: {exc}")
        return Requeue(after=rc.throttler.failed(record.name, now=now,
                                                 at_least=exc.retry_after), reason="quota")
    except OutcomeUnknown as exc:
        ctx.report.errors += 1
        log.warning("create_outcome_unknown", error=str(exc))
        record.last_error = f"create outcome unknown: {exc}"
        return Requeue(after=rc.settings.create_fence_seconds, reason="List before retry")
    except TemporaryError as exc:
        ctx.report.errors += 1
        log.warning("create_failed", error=str(exc))
        record.last_error = str(exc)
        # The request may have been committed: keep the intent, let a List decide.
        return Requeue(after=rc.throttler.failed(record.name, now=now,
                                                 at_least=exc.retry_after), reason=str(exc))
    except PermanentError as exc:
        ctx.report.errors += 1
        record.create_intent_at = None
        record.stalled_spec, record.stalled_reason = loaded.spec_hash, str(exc)
        set_phase(record, Phase.INVALID, f"Vertex refused the job: {exc}")
        return Stalled(str(exc))
    rc.throttler.succeeded(record.name)
    log.info("created", vertex_job=created.name)
    # What the pre-flight expected (for the report beside Vertex's count and the ledger), and
    # each dataset object's generation: what the job was trained on.
    record.preflight = replace(preflight_at_create(
        action.estimate, summary=check.summary() if check is not None else None,
        fallback_tokens=check.billable_tokens if check is not None else None,
        model=loaded.base_model, now=now), generations=check.generations if check else {})
    refresh_record(record, created)
    record.lineage = action.lineage
    lineage = f"; {action.lineage.describe()}" if action.lineage else ""
    data = "".join(f"; trains on {uri} generation {generation}"
                   for uri, generation in (check.generations if check else {}).items())
    set_phase(record, Phase.SUBMITTED, "created on Vertex" + lineage + data,
              spec_hash=loaded.spec_hash)
    return Done()


def _evaluation_output(rc: Reconciler, job: TuningJob) -> str | None:
    """Where Vertex writes the job's evaluation during tuning; None when it asks for none (or
    without --artifacts, where the planner refused the create)."""
    artifacts = rc.settings.artifacts
    if not during.asked(job.spec.evaluation) or not artifacts:
        return None
    return during.output_uri(artifacts, job.name)


def cancel(rc: Reconciler, action: Action, record: JobRecord, ctx: PassContext) -> Outcome:
    assert action.vertex_name is not None
    log = _log(rc, action)
    if not rc.still_leader():
        return Requeue(after=5.0, reason="the lease was lost during the pass")
    rc.recorder.action(record, action="cancel", reason=action.reason)
    ctx.report.calls["CancelTuningJob"] += 1
    try:
        rc.vertex.cancel(action.vertex_name)
    except NotFound:
        return Requeue(after=1.0, reason="job vanished; re-list")
    except TemporaryError as exc:
        ctx.report.errors += 1
        log.warning("cancel_failed", error=str(exc))
        return Requeue(after=rc.throttler.failed(record.name, now=ctx.now,
                                                 at_least=exc.retry_after), reason=str(exc))
    except OperatorError as exc:  # e.g. FAILED_PRECONDITION: it finished meanwhile
        log.info("cancel_refused", error=str(exc))
        return Requeue(after=1.0, reason=str(exc))
    rc.throttler.succeeded(record.name)
    log.info("cancel_requested")
    set_phase(record, Phase.CANCELLING, action.reason)
    return Requeue(after=5.0, reason="cancelling")


def _log(rc: Reconciler, action: Action) -> Any:
    return rc.log.bind(job=action.job, team=action.team, vertex_job=action.vertex_name,
                       generation=rc.generation)


def set_phase(record: JobRecord, phase: Phase, reason: str, *,
              spec_hash: str | None = None) -> None:
    """The record's phase and reason; the pass's notify tells a change of phase (an event)."""
    if spec_hash is not None:
        record.spec_hash = spec_hash
    if record.phase != phase.value:
        record.last_error = None  # the operator's own error does not ride on later events
    record.phase, record.reason = phase.value, reason
