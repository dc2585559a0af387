"""One reconcile pass: parse the directory, List Vertex once per region, plan, act, record.

Level-triggered: each pass starts from the directory and one List, never from memory of what it
meant to do, so a restart at any point converges. The planner decides every action (gates
included); this module runs the pass, executes the plan through the table of executors
(executors.py, one per action kind) and records the outcome. The pass must never create a
second Vertex job for a name: a create is preceded by a durable intent and is not sent again
until a List taken after the intent's fence window still shows no job for that name. No
action goes out without a durable record: the state directory is checked before a pass acts,
and the audit line of a create or cancel is written before the request.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import structlog

from tuning_operator.errors import OperatorError, TemporaryError
from tuning_operator.planning.cost import unknown
from tuning_operator.planning.model import FINAL_PHASES, ObservedJob, Phase
from tuning_operator.planning.planner import ActionKind, Plan, PlanSettings, plan
from tuning_operator.reconciling.aftercare import Aftercare
from tuning_operator.reconciling.backoff import Requeue, Stalled, Throttler
from tuning_operator.reconciling.evalsets import EvaluationSetVersions, storage_generation
from tuning_operator.reconciling.executors import Executor, PassContext, executor_table
from tuning_operator.reconciling.inputs import OperatorSettings, plan_inputs, remembered
from tuning_operator.reconciling.notify import notify, told_of
from tuning_operator.reconciling.observe import (
    ListedJobs,
    RegionSweep,
    merged,
    observe,
    refresh_record,
    regions_to_list,
)
from tuning_operator.reconciling.preflight import DatasetChecker, Preflight
from tuning_operator.reconciling.promotion import Promotions
from tuning_operator.reconciling.quiet import QuietPass, quiet
from tuning_operator.reconciling.status import StatusView
from tuning_operator.reconciling.workers import Workers, apply_posted
from tuning_operator.specs import DirectoryLoad, LoadCache, TuningJob, load_jobs_dir
from tuning_operator.specs.catalog import default_catalog
from tuning_operator.specs.model import HyperParameters
from tuning_operator.state.guard import StateLost, StateUnwritable
from tuning_operator.state.store import JobRecord, OperatorMemory, StatusStore, changed

__all__ = ["OperatorSettings", "PassReport", "Reconciler"]

# Nothing more happens to a job in these phases until somebody changes its file.
SETTLED_PHASES = FINAL_PHASES | {Phase.CONFLICT, Phase.INVALID, Phase.BLOCKED}
NO_PREFLIGHT = unknown("the operator's dataset pre-flight is off: no token count")


class VertexJobs(Protocol):
    """What the reconciler needs of Vertex (the adapter in `vertex/`, or a test fake)."""

    def list_managed(self, region: str) -> ListedJobs: ...

    def create(self, job: TuningJob, *, team: str, region: str,
               hyper_parameters: HyperParameters | None = None,
               pre_tuned_model: tuple[str, str | None] | None = None,
               evaluation_output: str | None = None) -> ObservedJob: ...

    def cancel(self, name: str) -> None: ...


class Recorder(Protocol):
    """Where phase changes (events) and actions (audit trail) go."""

    def transition(self, record: JobRecord, *, previous: str | None, reason: str) -> None: ...

    def action(self, record: JobRecord, *, action: str, reason: str) -> None: ...

    def flush(self) -> None:
        """Make the transitions recorded so far durable (before the state store is written)."""

    def verdict(self, record: JobRecord, *, type: str, reason: str,
                details: Mapping[str, Any]) -> None:
        """A diagnosis or an evaluation of the job (an event of its own, and an audit line)."""


class StateCheck(Protocol):
    def check(self) -> None:
        """Raise StateLost / StateUnwritable unless the state directory takes a durable write."""


@dataclass
class PassReport:
    generation: int
    plan: Plan | None
    load: DirectoryLoad | None
    calls: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    settled: bool = False
    next_due: float | None = None
    duration: float = 0.0
    vertex_error: str | None = None  # the List failed: nothing was planned or done
    state_error: str | None = None  # the state directory could not take a record: nothing done
    stalled: list[str] = field(default_factory=list)  # jobs only a spec change can move
    revision: str | None = None  # the jobs directory's commit, when it is a git work tree
    regions: tuple[str, ...] = ()  # listed this pass

    @property
    def list_calls(self) -> int:
        """List requests this pass cost (pages and retries): what paces the resync."""
        return self.calls["ListTuningJobs"]

    @property
    def failed(self) -> bool:
        return self.vertex_error is not None or self.state_error is not None


class Reconciler:
    """Makes Vertex match the jobs directory, one pass at a time."""

    def __init__(self, *, settings: OperatorSettings, vertex: VertexJobs, store: StatusStore,
                 recorder: Recorder, clock: Callable[[], float] = time.time,
                 throttler: Throttler | None = None,
                 datasets: DatasetChecker | None = None,
                 still_leader: Callable[[], bool] | None = None,
                 state: StateCheck | None = None,
                 aftercare: Aftercare | None = None,
                 workers: Workers | None = None,
                 revision_of: Callable[[Path], str | None] | None = None,
                 evaluation_sets: EvaluationSetVersions | None = None,
                 promotions: Promotions | None = None) -> None:
        self.settings = settings
        self.vertex = vertex
        self.store = store
        self.recorder = recorder
        self.clock = clock
        self.throttler = throttler or Throttler()
        self.datasets = datasets
        # Asked before every create or cancel: a pass may outlast the lease term.
        self._still_leader = still_leader or (lambda: True)
        self.state = state
        self.preflight = (Preflight(datasets, throttler=self.throttler,
                                    recheck_seconds=settings.dataset_recheck_seconds)
                          if datasets is not None else None)
        self.retiring: list[str] = []
        self.revision_of = revision_of or (lambda _directory: None)
        self.cache = LoadCache(compact=True)  # every job, for as long as it runs
        self.evaluation_sets = evaluation_sets or EvaluationSetVersions(
            storage_generation(), log=structlog.get_logger("tuning_operator.evalsets"))
        self.quiet: QuietPass | None = None  # the last pass, while it did nothing
        self.records = store.fetch()
        self._told = {n: told_of(r) for n, r in self.records.items()}  # as stored: told
        self.generation = 0
        self.log = structlog.get_logger("tuning_operator.reconciler")
        self.vertex_reached: float | None = None
        self.vertex_failing: tuple[float, str] | None = None  # since when, and why
        # The backoff and the recovery fence outlive the process: `plan` reads them too.
        memory = remembered(store, now=clock())
        self.throttler.attempts.update(memory.attempts)
        self.throttler.not_before.update(memory.not_before)
        self.fence_all_from: float | None = memory.fence_all_from
        # The ModelAlias records live in the promotions (kept as stored when there are none).
        self.promotions = promotions
        self._aliases = memory.aliases
        if promotions is not None:
            promotions.load(memory.aliases)
        recovered = getattr(store, "recovered", None)
        if recovered:
            self.log.error("state_recovered", why=recovered,
                           fence_seconds=settings.create_fence_seconds,
                           action="rebuilding from Vertex by the ownership labels; every create"
                           " is fenced for the fence window")
        self._aftercare = aftercare or Aftercare(throttler=self.throttler, clock=clock)
        self.workers = workers or Workers()  # inline unless the manager gives it threads
        self.catalog = default_catalog()
        self.sweep = RegionSweep(self.catalog.tuning_regions(),
                                 max_age=settings.create_fence_seconds)
        self.executors: dict[ActionKind, Executor] = executor_table(self)
        self.status = StatusView(self.records, self)

    # Set once by the constructor (the manager passes them in); read-only afterwards, so nothing
    # re-wires a running reconciler.
    @property
    def still_leader(self) -> Callable[[], bool]:
        """Whether this instance still holds the lease: asked before every create and cancel."""
        return self._still_leader

    @property
    def aftercare(self) -> Aftercare:
        """The post-success executors (curves, smoke test, evaluation) and their adapters."""
        return self._aftercare

    def reconcile(self) -> PassReport:
        started = time.perf_counter()
        self.generation += 1
        now = self.clock()
        report = PassReport(generation=self.generation, plan=None, load=None,
                            revision=self.revision_of(self.settings.jobs_dir))
        report.load = load = load_jobs_dir(self.settings.jobs_dir, cache=self.cache)
        try:
            actual, unmanaged = self._observe(load, report)
        except OperatorError as exc:  # unreachable, refused, misconfigured: nothing may act
            report.errors += 1
            report.vertex_error = str(exc)
            retry = exc.retry_after if isinstance(exc, TemporaryError) else 30.0
            report.next_due = now + self.throttler.failed("list", now=now, at_least=retry)
            since = self.vertex_failing[0] if self.vertex_failing else now
            self.vertex_failing = (since, str(exc))
            self.log.error("list_failed", error=str(exc), generation=self.generation)
            return self._finish(report, started)
        self.throttler.succeeded("list")
        self.vertex_reached, self.vertex_failing = now, None
        load = report.load = self.evaluation_sets.stamp(load, actual, self.records, now=now)
        if apply_posted(self.workers, self.records, self.recorder):
            self.quiet = None  # a worker's result may change the plan
        if self._replayed(load, actual, unmanaged, report, now):
            return self._finish(report, started)
        self._note_files(load, now)
        blocks, checked = (self.preflight.run(load, actual, now) if self.preflight
                           else ({}, None))
        result = plan(load, actual, self._plan_settings(load, unmanaged, blocks, checked, now))
        report.plan = result
        for action in result.actions:  # before any transition: events carry the revision
            if action.job is not None:
                self._record(action.job, now).last_applied_revision = report.revision
        for reason in result.held:
            self.log.warning("removals_held", reason=reason, generation=self.generation)
        if not result.held:
            self._note_removed_files(load, now)
        try:
            self._check_state(result)
            self._note_intents(result, now)
            self._execute(result, PassContext(load, report, now, {o.name: o for o in actual}))
            self._promote(result, report, now)
            # Inline results, and what the workers posted meanwhile.
            apply_posted(self.workers, self.records, self.recorder)
            did_nothing = report.errors == 0 and quiet(
                result, records_changed=any(changed(r) for r in self.records.values()),
                preflight_ran=bool(blocks or checked))
            self._persist()
        except (StateUnwritable, OSError) as exc:  # full, read-only: act on nothing more
            report.errors += 1
            report.state_error = str(exc)
            report.next_due = now + 5.0
            self.log.error("state_unwritable", error=str(exc), generation=self.generation)
            return self._finish(report, started)
        budget_waits = {a.job for a in result.actions if a.budget_wait}  # a policy change or
        report.settled = load.readable and not result.owing and all(  # a new month ends them
            n in budget_waits or (self.records.get(n) is not None
                                  and self.records[n].phase in SETTLED_PHASES)
            for n in load.jobs)
        if result.recheck_after is not None:
            due = now + result.recheck_after
            report.next_due = due if report.next_due is None else min(report.next_due, due)
        if did_nothing:
            self.quiet = QuietPass(load, report.regions, tuple(actual), unmanaged,
                                   report.revision, result,
                                   report.settled, tuple(report.stalled),
                                   None if report.next_due is None else report.next_due - now)
        return self._finish(report, started)

    def _replayed(self, load: DirectoryLoad, actual: list[ObservedJob],
                  unmanaged: Counter[str], report: PassReport, now: float) -> bool:
        """Whether the last quiet pass stands for this one (then `report` is its plan)."""
        quiet = self.quiet
        if quiet is None or not quiet.repeats(load, actual, unmanaged, report.revision):
            self.quiet = None
            return False
        report.plan, report.settled, report.stalled = quiet.plan, quiet.settled, list(quiet.stalled)
        if quiet.requeue is not None:
            report.next_due = now + quiet.requeue
        return True

    def _execute(self, result: Plan, ctx: PassContext) -> None:
        for action in result.actions:
            if action.job is None:
                continue  # a broken file with no readable name: reported by `validate`
            record = self._record(action.job, ctx.now)
            if action.team and not record.team:
                record.team = action.team
            observed = ctx.observed.get(action.vertex_name or "")
            if observed is not None:
                refresh_record(record, observed)
            outcome = self.executors[action.kind](action, record, ctx)
            if isinstance(outcome, Requeue):
                due = ctx.now + outcome.after
                ctx.report.next_due = due if ctx.report.next_due is None else min(
                    ctx.report.next_due, due)
            elif isinstance(outcome, Stalled):
                ctx.report.stalled.append(record.name)

    def _promote(self, result: Plan, report: PassReport, now: float) -> None:
        """The alias steps of the plan (`promotion.py`): moves, holds and waits."""
        if self.promotions is None:
            return
        retry = self.promotions.apply(result, revision=report.revision,
                                      still_leader=self.still_leader)
        if retry is not None:
            report.errors += 1
            due = now + retry
            report.next_due = due if report.next_due is None else min(report.next_due, due)

    def _check_state(self, result: Plan) -> None:
        """Before any action that needs an intent or an audit line: can the state take it?"""
        if self.state is None or not any(
                a.kind in (ActionKind.CREATE, ActionKind.CANCEL, ActionKind.RETIRE,
                           ActionKind.PROMOTE)
                or (a.job and a.phase and self._phase_of(a.job) != a.phase.value)
                for a in result.actions):
            return
        try:
            self.state.check()
        except StateLost as exc:
            self.log.error("state_lost", error=str(exc), generation=self.generation)
            raise

    def _phase_of(self, name: str) -> str | None:
        record = self.records.get(name)
        return record.phase if record else None

    def _record(self, name: str, now: float) -> JobRecord:
        record = self.records.get(name)
        if record is None:
            record = self.records[name] = JobRecord(name=name, first_seen=now)
        return record

    def _persist(self) -> None:
        self._told = notify(self._told, self.records, teller=self.recorder, clock=self.clock,
                            log=self.log, generation=self.generation)
        if self.promotions is not None:
            self.promotions.tell()
        self.recorder.flush()  # the retired jobs' last transitions are durable from here on
        for name in self.retiring:
            self.records.pop(name, None)
        self.retiring = []
        fence = self.fence_all_from
        if fence is not None and self.clock() > fence + self.settings.create_fence_seconds:
            self.fence_all_from = None  # every create it fenced has been listed since
        self.store.store(self.records, self._memory())

    def _memory(self) -> OperatorMemory:
        """What the next pass, a restart and a live `plan` decide by beside the records."""
        return OperatorMemory(attempts=dict(self.throttler.attempts),
                              not_before=dict(self.throttler.not_before),
                              fence_all_from=self.fence_all_from,
                              aliases=dict(self.promotions.records) if self.promotions
                              else self._aliases)

    def _finish(self, report: PassReport, started: float) -> PassReport:
        report.duration = time.perf_counter() - started
        return report

    def _observe(self, load: DirectoryLoad,
                 report: PassReport) -> tuple[list[ObservedJob], Counter[str]]:
        regions: Sequence[str]
        if self.quiet is not None and load is self.quiet.load:  # and so are the records
            regions = self.quiet.regions
        else:
            regions = regions_to_list(load, default_region=self.settings.default_region,
                                      records=self.records, extra=self.settings.quota_regions)
        observed = merged(observe(self.vertex, regions),
                          self.sweep.observe(self.vertex, listed=regions, now=self.clock()))
        report.calls["ListTuningJobs"] += observed.list_calls
        report.regions = tuple(regions)
        return observed.jobs, observed.unmanaged

    def _note_files(self, load: DirectoryLoad, now: float) -> None:
        for name, loaded in load.jobs.items():
            record = self._record(name, now)
            record.team, record.path = loaded.team, loaded.path
            record.region = loaded.region or self.settings.default_region
            record.on_delete = loaded.spec.on_delete
            record.file_removed_at = None

    def _note_removed_files(self, load: DirectoryLoad, now: float) -> None:
        """Jobs whose file left the directory: the next pass's mass-deletion guard skips them."""
        present = load.jobs.keys() | load.invalid_names
        for name, record in self.records.items():
            if name not in present and record.file_removed_at is None:
                record.file_removed_at = now

    def _plan_settings(self, load: DirectoryLoad, unmanaged: Mapping[str, int],
                       blocks: Mapping[str, str], checked: frozenset[str] | None,
                       now: float) -> PlanSettings:
        return plan_inputs(load, self.records, self._memory(), self.settings, now=now,
                           unmanaged=unmanaged, blocks=blocks, checked=checked,
                           catalog=self.catalog,
                           estimates=self.preflight.estimates(load) if self.preflight
                           else dict.fromkeys(load.jobs, NO_PREFLIGHT))

    def _note_intents(self, result: Plan, now: float) -> None:
        """Make every create intent of the pass durable in one write, before any request."""
        ready = [a.job for a in result.actions if a.kind == ActionKind.CREATE and a.job]
        if ready:
            self.store.note_intents(ready, now)
            for name in ready:
                self._record(name, now).create_intent_at = now
