"""What the operator remembers beyond its job records: backoff, the recovery fence, aliases.

Its own module, which imports the stored forms of the records only to read or write them:
`plan` without a state directory plans from an empty memory and imports no status store, no
record and no judging (issue 31, P7). `state.store` re-exports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuning_operator.state.records import AliasRecord


@dataclass(frozen=True)
class OperatorMemory:
    """What the operator remembers beyond its records that decides the next plan.

    Kept in the status document so that a restart, and a live `plan --state-dir`, see the
    backoff of a failing call and the fence after a state recovery exactly as the running
    operator does (before, both were lost with the process, and `plan` could not show them).
    """

    attempts: Mapping[str, int] = field(default_factory=dict)  # failures in a row, per key
    not_before: Mapping[str, float] = field(default_factory=dict)  # next attempt, per key
    fence_all_from: float | None = None  # the state was recovered then: every create is fenced
    # Where each ModelAlias (`team/alias`) was put: the alias planner's "was", and `aliases`.
    aliases: Mapping[str, AliasRecord] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from tuning_operator.state.records import alias_to_json

        keys = sorted(self.attempts.keys() | self.not_before.keys())
        return {"backoff": {k: {"attempts": self.attempts.get(k, 0),
                                "notBefore": self.not_before.get(k)} for k in keys},
                "fenceAllFrom": self.fence_all_from,
                **({"aliases": {k: alias_to_json(r) for k, r in
                                sorted(self.aliases.items())}} if self.aliases else {})}

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> OperatorMemory:
        from tuning_operator.state.records import alias_from_json

        backoff = document.get("backoff") or {}
        if not isinstance(backoff, dict):
            raise ValueError("`backoff` is not an object")
        fence = document.get("fenceAllFrom")
        aliases = document.get("aliases") or {}
        if not isinstance(aliases, dict):
            raise ValueError("`aliases` is not an object")
        loaded = {k: alias_from_json(v) for k, v in aliases.items()}
        return cls(attempts={k: int(v.get("attempts", 0)) for k, v in backoff.items()},
                   not_before={k: float(v["notBefore"]) for k, v in backoff.items()
                               if v.get("notBefore") is not None},
                   fence_all_from=None if fence is None else float(fence),
                   aliases={k: r for k, r in loaded.items() if r is not None})
