"""A quiet pass: nothing changed since a pass that did nothing, so its plan stands as it was.

Most passes of a steady operator find the same files and the same List as the pass before. When
that pass only confirmed what is (no-ops, invalid files, conflicts, orphans), changed no record,
held nothing and owes nothing later, planning again from the same inputs gives the same plan:
the reconciler replays it instead. A job still moving on Vertex does not make a pass unquiet:
its plan only asks for a fresh List soon, and the List is compared.

Everything the plan depends on is either compared here (the load is the loader's very object,
returned only while every file's stat, the tree, the policy and the evaluation sets are
unchanged; the List; the unmanaged jobs; the revision) or ruled out by the conditions of
`quiet` (nothing time-dependent: no gate, no backoff, no pre-flight). The records are the
passes' own: only a pass that is not replayed changes them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tuning_operator.planning.model import ObservedJob
from tuning_operator.planning.planner import ActionKind, Plan
from tuning_operator.specs import DirectoryLoad

# Actions that only confirm what is: replaying them changes nothing anywhere.
CONFIRMING = frozenset({ActionKind.NOOP, ActionKind.INVALID, ActionKind.BLOCK,
                        ActionKind.CONFLICT, ActionKind.ORPHAN})


@dataclass(frozen=True)
class QuietPass:
    """A pass that did nothing, and the inputs it planned from."""

    load: DirectoryLoad
    regions: tuple[str, ...]  # listed: they follow from the load and the records
    actual: tuple[ObservedJob, ...]
    unmanaged: Counter[str]
    revision: str | None
    plan: Plan
    settled: bool
    stalled: tuple[str, ...]
    requeue: float | None  # seconds: a job still moving is looked at again this soon

    def repeats(self, load: DirectoryLoad, actual: Sequence[ObservedJob],
                unmanaged: Counter[str], revision: str | None) -> bool:
        """Whether a pass over these inputs would plan exactly what this one did."""
        return (load is self.load and revision == self.revision
                and unmanaged == self.unmanaged and tuple(actual) == self.actual)


def quiet(plan: Plan, *, records_changed: bool, preflight_ran: bool) -> bool:
    """Whether a pass that planned `plan` did nothing a later pass could plan differently."""
    return (not records_changed and not preflight_ran and not plan.held and not plan.owing
            and plan.recheck_after is None
            and all(a.kind in CONFIRMING and (a.retry_after is None or a.poll)
                    for a in plan.actions))
