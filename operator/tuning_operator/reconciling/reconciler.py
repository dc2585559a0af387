"""One reconcile pass: parse the directory, List Vertex once per region, plan, act, record.

Level-triggered: each pass starts from the directory and one List, never from memory of what it
meant to do, so a restart at any point converges. The pass must never create a second Vertex
job for a name: a create is preceded by a durable intent and is not sent again until a List
taken after the intent's fence window still shows no job for that name.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import structlog

from tuning_operator.errors import (
    NotFound,
    OperatorError,
    OutcomeUnknown,
    PermanentError,
    QuotaExhausted,
    TemporaryError,
)
from tuning_operator.planning.model import FINAL_PHASES, ObservedJob, Phase
from tuning_operator.planning.planner import (
    Action,
    ActionKind,
    Plan,
    PlanSettings,
    plan,
)
from tuning_operator.reconciling.backoff import Done, Outcome, Requeue, Stalled, Throttler
from tuning_operator.reconciling.observe import (
    ListedJobs,
    observe,
    plan_settings,
    regions_to_list,
)
from tuning_operator.specs import DirectoryLoad, LoadCache, LoadedJob, TuningJob, load_jobs_dir
from tuning_operator.specs.model import HyperParameters
from tuning_operator.state.store import JobRecord, StatusStore

# Nothing more happens to a job in these phases until somebody changes its file.
SETTLED_PHASES = FINAL_PHASES | {Phase.CONFLICT, Phase.INVALID}


class VertexJobs(Protocol):
    """What the reconciler needs of Vertex (the adapter in `vertex/`, or a test fake)."""

    def list_managed(self, region: str) -> ListedJobs: ...

    def create(self, job: TuningJob, *, team: str, region: str,
               hyper_parameters: HyperParameters | None = None) -> ObservedJob: ...

    def cancel(self, name: str) -> None: ...


class DatasetCheck(Protocol):
    @property
    def blocks_create(self) -> bool: ...

    @property
    def reason(self) -> str: ...

    @property
    def send(self) -> HyperParameters | None: ...


class DatasetChecker(Protocol):
    """The dataset pre-flight (`datasets.jobcheck.JobDatasetChecker`), cached by generation."""

    def check(self, loaded: LoadedJob) -> DatasetCheck: ...


class Recorder(Protocol):
    """Where phase changes (events) and actions (audit trail) go."""

    def transition(self, record: JobRecord, *, previous: str | None, reason: str) -> None: ...

    def action(self, record: JobRecord, *, action: str, reason: str) -> None: ...

    def flush(self) -> None:
        """Make the transitions recorded so far durable (before the state store is written)."""


@dataclass(frozen=True)
class OperatorSettings:
    jobs_dir: Path
    default_region: str = "us-central1"
    max_concurrent_jobs: int | None = None
    create_fence_seconds: float = 60.0
    settle_seconds: float = 0.5  # a file changed this recently may be half-written: wait
    dataset_recheck_seconds: float = 60.0  # a waiting job's dataset is stat'ed at most this often
    allow_mass_deletion: bool = False


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
    revision: str | None = None  # the jobs directory's commit, when it is a git work tree

    @property
    def list_calls(self) -> int:
        """List requests this pass cost (pages and retries): what paces the resync."""
        return self.calls["ListTuningJobs"]


class Reconciler:
    """Makes Vertex match the jobs directory, one pass at a time."""

    def __init__(self, *, settings: OperatorSettings, vertex: VertexJobs, store: StatusStore,
                 recorder: Recorder, clock: Callable[[], float] = time.time,
                 throttler: Throttler | None = None,
                 datasets: DatasetChecker | None = None,
                 still_leader: Callable[[], bool] | None = None,
                 revision_of: Callable[[Path], str | None] | None = None) -> None:
        self.settings = settings
        self.vertex = vertex
        self.store = store
        self.recorder = recorder
        self.clock = clock
        self.throttler = throttler or Throttler()
        self.datasets = datasets
        # Asked before every create or cancel: a pass may outlast the lease term.
        self.still_leader = still_leader or (lambda: True)
        self.revision_of = revision_of or (lambda _directory: None)
        self.checks: dict[str, DatasetCheck] = {}
        self._checked: dict[str, tuple[str, float, DatasetCheck]] = {}  # spec hash, when, answer
        self._blocked_creates: dict[str, Outcome] = {}
        self.cache = LoadCache()
        self.records = store.fetch()
        self.generation = 0
        self.log = structlog.get_logger("tuning_operator.reconciler")

    def reconcile(self) -> PassReport:
        started = time.perf_counter()
        self.generation += 1
        now = self.clock()
        report = PassReport(generation=self.generation, plan=None, load=None,
                            revision=self.revision_of(self.settings.jobs_dir))
        load = load_jobs_dir(self.settings.jobs_dir, cache=self.cache)
        report.load = load
        try:
            actual, unmanaged = self._observe(load, report)
        except TemporaryError as exc:
            report.errors += 1
            report.next_due = now + self.throttler.failed("list", now=now,
                                                          at_least=exc.retry_after)
            self.log.warning("list_failed", error=str(exc), generation=self.generation)
            return self._finish(report, started)
        self.throttler.succeeded("list")
        self._note_first_seen(load, now)
        blocks = self._check_datasets(load, actual, now)
        result = plan(load, actual, self._plan_settings(unmanaged, blocks))
        report.plan = result
        for action in result.actions:  # before any transition: events carry the revision
            if action.job is not None:
                self._record(action.job, now).last_applied_revision = report.revision
        for reason in result.held:
            self.log.warning("removals_held", reason=reason, generation=self.generation)
        by_vertex_name = {o.name: o for o in actual}
        self._blocked_creates = self._prepare_creates(result, load, now)
        for action in result.actions:
            outcome = self._apply(action, load, by_vertex_name.get(action.vertex_name or ""),
                                  report, now)
            if isinstance(outcome, Requeue):
                due = now + outcome.after
                report.next_due = due if report.next_due is None else min(report.next_due, due)
        report.settled = all(
            self.records.get(n) is not None and self.records[n].phase in SETTLED_PHASES
            for n in load.jobs
        ) and load.readable
        self._persist()
        return self._finish(report, started)

    def _record(self, name: str, now: float) -> JobRecord:
        record = self.records.get(name)
        if record is None:
            record = self.records[name] = JobRecord(name=name, first_seen=now)
        return record

    def _persist(self) -> None:
        self.recorder.flush()
        self.store.store(self.records)

    def _finish(self, report: PassReport, started: float) -> PassReport:
        report.duration = time.perf_counter() - started
        return report

    def _observe(self, load: DirectoryLoad,
                 report: PassReport) -> tuple[list[ObservedJob], Counter[str]]:
        regions = regions_to_list(load, default_region=self.settings.default_region,
                                  records=self.records)
        observed = observe(self.vertex, regions)
        report.calls["ListTuningJobs"] += observed.list_calls
        return observed.jobs, observed.unmanaged

    def _note_first_seen(self, load: DirectoryLoad, now: float) -> None:
        for name, loaded in load.jobs.items():
            record = self._record(name, now)
            record.team, record.path = loaded.team, loaded.path
            record.region = loaded.job.spec.region or self.settings.default_region
            record.on_delete = loaded.job.spec.on_delete

    def _check_datasets(self, load: DirectoryLoad, actual: Sequence[ObservedJob],
                        now: float) -> dict[str, str]:
        """Pre-flight the datasets of jobs not yet on Vertex; the reasons that block a create.

        A job waiting for quota would otherwise cost a storage request every pass: an answer is
        reused for the same spec until `dataset_recheck_seconds` have passed.
        """
        self.checks = {}
        if self.datasets is None:
            return {}
        present = {o.job_name for o in actual if o.job_name}
        blocks = {}
        for name, loaded in load.jobs.items():
            if name in present or loaded.job.spec.cancel:
                continue
            if not self.throttler.ready(f"dataset:{name}", now=now):
                continue
            recent = self._checked.get(name)
            fresh = (recent is not None and recent[0] == loaded.spec_hash
                     and now - recent[1] < self.settings.dataset_recheck_seconds)
            try:
                check = recent[2] if recent is not None and fresh else self.datasets.check(loaded)
            except TemporaryError as exc:
                self.throttler.failed(f"dataset:{name}", now=now, at_least=exc.retry_after)
                self.log.warning("dataset_check_failed", job=name, error=str(exc))
                continue
            except OperatorError as exc:  # e.g. no credentials for gs://: say so, create nothing
                blocks[name] = f"cannot read the dataset: {exc}"
                continue
            self.throttler.succeeded(f"dataset:{name}")
            if not fresh:
                self._checked[name] = (loaded.spec_hash, now, check)
            self.checks[name] = check
            if check.blocks_create:
                blocks[name] = check.reason
        return blocks

    def _plan_settings(self, unmanaged: Mapping[str, int],
                       blocks: Mapping[str, str]) -> PlanSettings:
        return plan_settings(
            self.records, default_region=self.settings.default_region,
            max_concurrent_jobs=self.settings.max_concurrent_jobs,
            allow_mass_deletion=self.settings.allow_mass_deletion, unmanaged=unmanaged,
            blocks=blocks)

    def _apply(self, action: Action, load: DirectoryLoad, observed: ObservedJob | None,
               report: PassReport, now: float) -> Outcome:
        if action.job is None:
            return Done()  # a broken file with no readable name: reported by `validate`
        record = self._record(action.job, now)
        log = self.log.bind(job=action.job, team=action.team, vertex_job=action.vertex_name,
                            generation=self.generation)
        if observed is not None:
            self._observe_job(record, observed)
        if action.kind == ActionKind.CREATE:
            return self._create(action, load, record, report=report, log=log, now=now)
        if action.kind == ActionKind.CANCEL:
            return self._cancel(action, record, report, log, now)
        phase = action.phase or Phase.INVALID
        if action.kind == ActionKind.NOOP and record.create_intent_at is not None:
            record.create_intent_at = None  # the List shows the job: the intent is fulfilled
        self._set_phase(record, phase, action.reason, spec_hash=action.spec_hash)
        if action.kind == ActionKind.WAIT:
            return Requeue(after=self.settings.create_fence_seconds / 4, reason=action.reason)
        return Done()

    def _observe_job(self, record: JobRecord, observed: ObservedJob) -> None:
        record.vertex_name = observed.name
        record.vertex_state = observed.state
        record.tuned_model = observed.tuned_model or record.tuned_model
        record.endpoint = observed.tuned_endpoint or record.endpoint
        record.last_error = observed.error or record.last_error
        record.region = observed.region or record.region

    def _prepare_creates(self, result: Plan, load: DirectoryLoad,
                         now: float) -> dict[str, Outcome]:
        """Decide which creates go out this pass; their intents are made durable in one write.

        Returns the creates that must wait, with why. An intent whose create is then never sent
        (a crash in between) only fences that job for a while: safe, never a duplicate.
        """
        blocked: dict[str, Outcome] = {}
        ready: list[str] = []
        for action in result.actions:
            if action.kind != ActionKind.CREATE or action.job is None:
                continue
            record = self._record(action.job, now)
            blocker = self._create_blocker(record, load.jobs[action.job], now)
            if blocker is None:
                ready.append(action.job)
            else:
                blocked[action.job] = blocker
        if ready:
            self.store.note_intents(ready, now)  # durable before any request leaves
            for name in ready:
                self.records[name].create_intent_at = now
        return blocked

    def _create_blocker(self, record: JobRecord, loaded: LoadedJob,
                        now: float) -> Outcome | None:
        """Why this create may not be sent now, or None."""
        if record.stalled_spec == loaded.spec_hash:
            self._set_phase(record, Phase.INVALID, record.reason or "Vertex refused this spec")
            return Stalled(record.reason or "")
        if not self.throttler.ready(record.name, now=now):
            return Requeue(after=self.throttler.not_before[record.name] - now, reason="backoff")
        if self.datasets is not None and record.name not in self.checks:
            return Requeue(after=self.throttler.not_before.get(f"dataset:{record.name}", now) - now,
                           reason="dataset not checked yet")
        age = self._file_age(loaded.path)
        if age < self.settings.settle_seconds:
            return Requeue(after=self.settings.settle_seconds - age, reason="file just changed")
        fence = self.settings.create_fence_seconds
        if record.create_intent_at is not None and now - record.create_intent_at < fence:
            wait = record.create_intent_at + fence - now
            self.log.info("create_fenced", job=record.name, wait_seconds=round(wait, 1))
            return Requeue(after=wait, reason="an earlier create may still land")
        return None

    def _create(self, action: Action, load: DirectoryLoad, record: JobRecord, *,
                report: PassReport, log: Any, now: float) -> Outcome:
        blocked = self._blocked_creates.get(record.name)
        if blocked is not None:
            return blocked
        loaded = load.jobs[record.name]
        check = self.checks.get(record.name)
        fence = self.settings.create_fence_seconds
        if not self.still_leader():
            return Requeue(after=5.0, reason="the lease was lost during the pass")
        report.calls["CreateTuningJob"] += 1
        self.recorder.action(record, action="create", reason=action.reason)
        try:
            created = self.vertex.create(loaded.job, team=loaded.team,
                                         region=action.region or self.settings.default_region,
                                         hyper_parameters=check.send if check else None)
        except QuotaExhausted as exc:
            record.create_intent_at = None
            self._set_phase(record, Phase.WAITING, f"Vertex quota exhausted: {exc}")
            return Requeue(after=self.throttler.failed(record.name, now=now,
                                                       at_least=exc.retry_after), reason="quota")
        except OutcomeUnknown as exc:
            report.errors += 1
            log.warning("create_outcome_unknown", error=str(exc))
            record.last_error = f"create outcome unknown: {exc}"
            return Requeue(after=fence, reason="List before any retry")
        except TemporaryError as exc:
            report.errors += 1
            log.warning("create_failed", error=str(exc))
            record.last_error = str(exc)
            # The request may have been committed: keep the intent, let a List decide.
            return Requeue(after=self.throttler.failed(record.name, now=now,
                                                       at_least=exc.retry_after), reason=str(exc))
        except PermanentError as exc:
            report.errors += 1
            record.create_intent_at = None
            record.stalled_spec = loaded.spec_hash
            self._set_phase(record, Phase.INVALID, f"Vertex refused the job: {exc}")
            return Stalled(str(exc))
        self.throttler.succeeded(record.name)
        log.info("created", vertex_job=created.name)
        self._observe_job(record, created)
        self._set_phase(record, Phase.SUBMITTED, "created on Vertex", spec_hash=loaded.spec_hash)
        return Done()

    def _file_age(self, path: str) -> float:
        try:
            return time.time() - (self.settings.jobs_dir / path).stat().st_mtime
        except OSError:
            return 0.0

    def _cancel(self, action: Action, record: JobRecord, report: PassReport, log: Any,
                now: float) -> Outcome:
        assert action.vertex_name is not None
        if not self.throttler.ready(record.name, now=now):
            return Requeue(after=self.throttler.not_before[record.name] - now, reason="backoff")
        age = self._file_age(action.file) if action.file else math.inf
        if age < self.settings.settle_seconds:  # a half-written file must not cancel either
            return Requeue(after=self.settings.settle_seconds - age, reason="file just changed")
        if not self.still_leader():
            return Requeue(after=5.0, reason="the lease was lost during the pass")
        report.calls["CancelTuningJob"] += 1
        self.recorder.action(record, action="cancel", reason=action.reason)
        try:
            self.vertex.cancel(action.vertex_name)
        except NotFound:
            return Requeue(after=1.0, reason="job vanished; re-list")
        except TemporaryError as exc:
            report.errors += 1
            log.warning("cancel_failed", error=str(exc))
            return Requeue(after=self.throttler.failed(record.name, now=now,
                                                       at_least=exc.retry_after), reason=str(exc))
        except OperatorError as exc:  # e.g. FAILED_PRECONDITION: it finished meanwhile
            log.info("cancel_refused", error=str(exc))
            return Requeue(after=1.0, reason=str(exc))
        self.throttler.succeeded(record.name)
        log.info("cancel_requested")
        self._set_phase(record, Phase.CANCELLING, action.reason)
        return Requeue(after=5.0, reason="cancelling")

    def _set_phase(self, record: JobRecord, phase: Phase, reason: str, *,
                   spec_hash: str | None = None) -> None:
        if spec_hash is not None:
            record.spec_hash = spec_hash
        if record.phase == phase.value:
            record.reason = reason
            return
        record.updated = self.clock()
        previous = record.phase
        record.phase, record.reason = phase.value, reason
        record.history = [*record.history[-49:], phase.value]
        self.log.info("phase_changed", job=record.name, team=record.team, phase=phase.value,
                      previous=previous, reason=reason, vertex_job=record.vertex_name,
                      generation=self.generation)
        self.recorder.transition(record, previous=previous, reason=reason)
