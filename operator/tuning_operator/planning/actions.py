"""What the planner reasons with: action kinds, actions, its settings and memory, the quota.

Split from `planner` so the rules there read on their own; `planner` re-exports these names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from tuning_operator.planning.aftercare import Progress
from tuning_operator.planning.alias_model import AliasInputs, AliasMove
from tuning_operator.planning.budgets import Spent, TeamMoney
from tuning_operator.planning.cost import Estimate
from tuning_operator.planning.gates import Timing
from tuning_operator.planning.model import Lineage, ObservedJob, Phase
from tuning_operator.specs import labels as owner
from tuning_operator.specs.catalog import Catalog


class ActionKind(StrEnum):
    CREATE = "create"
    CANCEL = "cancel"
    WAIT = "wait"
    CONFLICT = "conflict"
    INVALID = "invalid"
    BLOCK = "blocked"  # needs a human (e.g. its parent failed): nothing is sent until then
    ORPHAN = "orphan"
    NOOP = "noop"
    RETIRE = "retire"  # the file is gone and the Vertex job ended: tell the end, forget the record
    READ_METRICS = "read-metrics"  # the loss curves from the job's Experiment, then a diagnosis
    SMOKE_TEST = "smoke-test"  # one generateContent to the tuned endpoint
    EVALUATE = "evaluate"  # the evaluation set, tuned (and base) model, metrics and the gate
    PROMOTE = "promote"  # a ModelAlias onto a job's tuned model version (`planning/aliases.py`)


CHANGING = frozenset({ActionKind.CREATE, ActionKind.CANCEL})
_AFTERCARE = {"metrics": ActionKind.READ_METRICS, "smoke": ActionKind.SMOKE_TEST,
              "evaluation": ActionKind.EVALUATE}


@dataclass(frozen=True, slots=True)  # slots: a pass plans one per job
class Action:
    """One planned step for one job (or one broken file), with the phase it leads to."""

    kind: ActionKind
    reason: str
    phase: Phase | None
    job: str | None = None
    team: str | None = None
    region: str | None = None
    file: str | None = None
    vertex_name: str | None = None
    spec_hash: str | None = None
    dataset: str | None = None  # the dataset pre-flight's summary, when it ran
    retry_after: float | None = None  # look again this soon (a gate, a job still moving)
    poll: bool = False  # retry_after only asks for a fresh List: the clock decides nothing
    stalled: bool = False  # only a change of the spec can help
    lineage: Lineage | None = None  # create: continue this tuned model (preTunedModel)
    estimate: Estimate | None = None  # tokens and cost, when the datasets were read
    budget_wait: bool = False  # waits for a raised budget or a new month: settled
    unsure: bool = False  # a plan without memory cannot tell this orphan from a cancel
    alias: AliasMove | None = None  # promote: the move (job is None; file is `team/alias`)


@dataclass(frozen=True, slots=True)  # one per job
class Remembered:
    """What the status store remembers of a job: its last valid file and the operator's acts."""

    path: str | None
    team: str
    on_delete: str  # "Orphan" | "Cancel"
    in_directory: bool = True  # False once the file's removal was acted on
    phase: str | None = None
    create_intent_at: float | None = None  # a create may have been sent; no List showed it yet
    stalled_spec: str | None = None  # Vertex refused this spec hash for good
    stalled_reason: str | None = None
    not_before: float | None = None  # backoff after a failed call
    lineage: Lineage | None = None  # the parent it was created from (preTunedModel)


@dataclass(frozen=True)
class PlanSettings:
    default_region: str = "us-central1"
    max_concurrent_jobs: int | None = None  # None: no limit known
    quota_scope: Literal["global", "region"] = "global"
    remembered: Mapping[str, Remembered] = field(default_factory=dict)
    first_seen: Mapping[str, float] = field(default_factory=dict)
    allow_mass_deletion: bool = False
    extra_active: Mapping[str, int] = field(default_factory=dict)  # region → unlisted active jobs
    dataset_blocks: Mapping[str, str] = field(default_factory=dict)  # job → why it may not start
    dataset_notes: Mapping[str, str] = field(default_factory=dict)  # job → pre-flight summary
    datasets_checked: frozenset[str] | None = None  # None: no pre-flight before creates
    timing: Timing | None = None  # None (offline plan): no clock, no timing gates
    progress: Mapping[str, Progress] = field(default_factory=dict)  # post-success steps done
    catalog: Catalog | None = None  # for rules the job file cannot check (the default region)
    estimates: Mapping[str, Estimate] = field(default_factory=dict)  # job → priced estimate
    spent: Mapping[str, Spent] = field(default_factory=dict)  # team → used this UTC month
    # False: a plan with neither the operator's state nor the base revision, which cannot know
    # the `onDelete` of a file that is gone.
    removals_known: bool = True
    aliases: AliasInputs = field(default_factory=AliasInputs)  # where aliases are, the gates
    # The operator's --artifacts (gs://BUCKET/PREFIX): where Vertex writes an evaluation during
    # tuning; None refuses the create of a job that asks for one (`specs.during`).
    artifacts: str | None = None


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    held: tuple[str, ...]  # why removals were not acted on, for the operator's log and `plan`
    quota: str | None = None  # e.g. "quota: 2/2 concurrent tuning jobs active (global)"
    owing: tuple[str, ...] = ()  # jobs with post-success steps still to do (not settled)
    recheck_after: float | None = None  # a held post-success step is due again this soon
    # Post-success steps owed but held this pass (a backoff, the smoke test, the diagnosis),
    # each with its reason: shown by `plan`, never executed, never counted as a change.
    holding: tuple[Action, ...] = ()
    money: tuple[TeamMoney, ...] = ()  # per team: used this month, this change, its budget
    notes: tuple[str, ...] = ()  # what could not be checked (e.g. no credentials), said once

    @property
    def changes(self) -> bool:
        return any(a.kind in CHANGING for a in self.actions)

    @property
    def pending(self) -> bool:
        """What a reviewer approves (`plan --detailed-exitcode`): a create, also one that
        waits (for quota, a gate, its parent), a cancel or a replace, a removal that may be a
        cancel, or an alias moved (an alias waiting on its job's verdict is no change yet)."""
        return any(a.kind in CHANGING or a.kind == ActionKind.PROMOTE or a.unsure
                   or (a.kind == ActionKind.WAIT and a.job is not None) for a in self.actions)

    def counts(self) -> Counter[ActionKind]:
        return Counter(a.kind for a in self.actions)


class Quota:
    """Active jobs against the concurrency quota: one global count (seed 003) or per region."""

    def __init__(self, actual: Sequence[ObservedJob], settings: PlanSettings) -> None:
        self.scope = settings.quota_scope
        self.limit = settings.max_concurrent_jobs
        self.used: Counter[str] = Counter(self._key(o.region) for o in actual if o.active)
        for region, count in settings.extra_active.items():
            self.used[self._key(region)] += count
        self.team_used: Counter[str] = Counter(
            o.labels.get(owner.TEAM, "") for o in actual if o.active and o.managed)

    def _key(self, region: str) -> str:
        return "" if self.scope == "global" else region

    def full(self, region: str) -> str | None:
        key = self._key(region)
        if self.limit is None or self.used[key] < self.limit:
            return None
        where = "global" if self.scope == "global" else f"in {region}"
        return f"quota: {self.used[key]}/{self.limit} concurrent tuning jobs active ({where})"

    def take(self, region: str, team: str) -> None:
        self.used[self._key(region)] += 1
        self.team_used[team] += 1

    def describe(self) -> str | None:
        if self.limit is None:
            return None
        if self.scope == "global":
            return f"quota: {self.used['']}/{self.limit} concurrent tuning jobs active (global)"
        return "quota: " + ", ".join(f"{r} {n}/{self.limit}" for r, n in sorted(self.used.items())
                                     ) + " concurrent tuning jobs active (per region)"


