"""The planner's inputs, gathered by one function for `run` and for `plan`.

The promise of `plan --state-dir` is that it shows what the operator's next pass does. That
holds only if both ask the same question: the same settings (`OperatorSettings`, built from the
one settings model), the same memory (the status store's records, the backoff of failing calls
and the fence after a state recovery, all persisted by the store) and this one function to turn
them into `PlanSettings`. The operator's in-process state may add nothing that `plan` cannot
read from the state directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tuning_operator.planning.aftercare import Progress
from tuning_operator.planning.alias_model import AliasInputs, AliasTarget, GateResult
from tuning_operator.planning.cost import Estimate
from tuning_operator.planning.gates import Timing
from tuning_operator.planning.planner import PlanSettings, Remembered
from tuning_operator.reconciling.observe import FileAges
from tuning_operator.specs import DirectoryLoad
from tuning_operator.specs.catalog import Catalog
from tuning_operator.state.ledger import spend_of

if TYPE_CHECKING:  # `plan` without a state directory imports neither (issue 31, P7)
    from tuning_operator.state.store import JobRecord, OperatorMemory, StatusStore


@dataclass(frozen=True)
class OperatorSettings:
    jobs_dir: Path
    default_region: str = "us-central1"
    max_concurrent_jobs: int | None = None
    quota_scope: Literal["global", "region"] = "global"
    quota_regions: tuple[str, ...] = ()  # listed too, for unmanaged active jobs (global quota)
    create_fence_seconds: float = 60.0
    settle_seconds: float = 0.5  # a file changed this recently may be half-written: wait
    dataset_recheck_seconds: float = 60.0  # a waiting job's dataset is stat'ed at most this often
    allow_mass_deletion: bool = False
    artifacts: str | None = None  # --artifacts: also where Vertex writes during-tuning results


def remembered(store: StatusStore, *, now: float) -> OperatorMemory:
    """The store's memory as the operator starts from it: a store found broken (its create
    intents may be lost) fences every create from `now`, for `run` and `plan` alike."""
    memory = store.memory
    return replace(memory, fence_all_from=now) if getattr(store, "recovered", None) else memory


def plan_inputs(load: DirectoryLoad, records: Mapping[str, JobRecord], memory: OperatorMemory,
                settings: OperatorSettings, *, now: float,
                unmanaged: Mapping[str, int] | None = None,
                blocks: Mapping[str, str] | None = None,
                notes: Mapping[str, str] | None = None,
                checked: frozenset[str] | None = None,
                timed: bool = True,
                catalog: Catalog | None = None,
                estimates: Mapping[str, Estimate] | None = None,
                removals_known: bool = True) -> PlanSettings:
    """The planner's settings for `load` from the operator's settings and memory.

    `timed`: apply the clock's gates (settle window, create fence, backoff); a plan without
    the operator's state (a pull request's) has no clock to speak of and leaves them out.
    `removals_known`: False for a plan with neither state nor base revision: a managed job
    without a file may then be a removed `onDelete: Cancel` file, and the plan says so.
    `memory.fence_all_from`: the state was lost or recovered then, so any create may have been
    sent without a surviving intent: every create is fenced as if intended then.
    """
    not_before = memory.not_before

    def intent(record: JobRecord) -> float | None:
        times = [t for t in (record.create_intent_at, memory.fence_all_from) if t is not None]
        return max(times, default=None)

    remembered = {
        n: Remembered(path=r.path, team=r.team or "", on_delete=r.on_delete,
                      in_directory=r.file_removed_at is None or n in load.jobs, phase=r.phase,
                      create_intent_at=intent(r), stalled_spec=r.stalled_spec,
                      stalled_reason=r.stalled_reason, not_before=not_before.get(n),
                      lineage=r.lineage)
        for n, r in records.items()
    }
    for name in load.jobs.keys() - records.keys():  # as the pass's records of new files
        loaded = load.jobs[name]
        remembered[name] = Remembered(path=loaded.path, team=loaded.team,
                                      on_delete=loaded.spec.on_delete,
                                      create_intent_at=memory.fence_all_from,
                                      not_before=not_before.get(name))
    timing = Timing(now=now, create_fence_seconds=settings.create_fence_seconds,
                    settle_seconds=settings.settle_seconds, file_ages=FileAges(load.root))
    return PlanSettings(
        default_region=settings.default_region,
        max_concurrent_jobs=settings.max_concurrent_jobs,
        quota_scope=settings.quota_scope,
        remembered=remembered,
        first_seen={**{n: now for n in load.jobs}, **{n: r.first_seen for n, r in records.items()}},
        allow_mass_deletion=settings.allow_mass_deletion,
        extra_active=dict(unmanaged or {}),
        dataset_blocks=dict(blocks or {}),
        dataset_notes=dict(notes or {}),
        datasets_checked=checked,
        timing=timing if timed else None,
        progress={**{n: Progress() for n in load.jobs},
                  **{n: progress_of(r, smoke_not_before=not_before.get(f"smoke:{n}"),
                                    evaluation_not_before=not_before.get(f"evaluation:{n}"))
                     for n, r in records.items()}},
        catalog=catalog,
        estimates=dict(estimates or {}),
        spent=spend_of(records, now=now, prices=load.policy.prices if load.policy else None),
        removals_known=removals_known,
        aliases=alias_inputs(records, memory, allow_mass_deletion=settings.allow_mass_deletion),
        artifacts=settings.artifacts,
    )


def alias_inputs(records: Mapping[str, JobRecord], memory: OperatorMemory, *,
                 allow_mass_deletion: bool = False) -> AliasInputs:
    """Where each alias is (the memory's alias records) and each job's gate (its record)."""
    return AliasInputs(
        allow_mass_deletion=allow_mass_deletion,
        targets={k: AliasTarget(job=r.job, model_version=r.model_version,
                                checkpoint=r.checkpoint)
                 for k, r in memory.aliases.items() if r.job and r.model_version},
        gates={n: GateResult(verdict=e.verdict, reason=e.reason, key=e.key,
                             checkpoint=e.checkpoint)
               for n, r in records.items() if (e := r.evaluation) is not None},
        best_checkpoints=_best_checkpoints(records))


def _best_checkpoints(records: Mapping[str, JobRecord]) -> dict[str, str | None]:
    """Each diagnosed job's best checkpoint, if it is to be trusted."""
    diagnosed = {n: d for n, r in records.items() if (d := r.diagnosis) is not None}
    if not diagnosed:  # `plan` without a state directory imports no judging (issue 31, P7)
        return {}
    from tuning_operator.judging.asking import trusted_best

    return {n: trusted_best(d.verdict, d.best_checkpoint.checkpoint_id
                            if d.best_checkpoint else None)[0] for n, d in diagnosed.items()}


def progress_of(record: JobRecord, *, smoke_not_before: float | None = None,
                evaluation_not_before: float | None = None) -> Progress:
    """What the store remembers of a job's post-success steps."""
    smoke, evaluation = record.smoke_test, record.evaluation
    return Progress(metrics_read_at=record.metrics_read_at, metrics_final=record.metrics_final,
                    best_checkpoint=best_checkpoint(record),
                    diagnosis=record.diagnosis.verdict if record.diagnosis else None,
                    smoke=smoke.endpoint if smoke else None, smoke_not_before=smoke_not_before,
                    evaluation_verdict=evaluation.verdict if evaluation else None,
                    evaluation_key=evaluation.key if evaluation else None,
                    evaluation_not_before=evaluation_not_before)


def best_checkpoint(record: JobRecord) -> str | None:
    """The checkpoint a job's `best` means: the one its evaluation chose when it evaluated
    every checkpoint (`checkpoints: all`: seed 004's choice by evaluation), else the one the
    diagnosis of its curves names."""
    evaluation = record.evaluation
    if evaluation is not None and evaluation.final and evaluation.checkpoints:
        return evaluation.checkpoint
    best = record.diagnosis.best_checkpoint if record.diagnosis else None
    return best.checkpoint_id if best else None
