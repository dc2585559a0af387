"""Per-job backoff: exponential delays with jitter, so a failing job never hammers Vertex.

Outcomes are typed and turned into timing here and nowhere else.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Done:
    """Nothing more to do for this job until something changes."""


@dataclass(frozen=True)
class Requeue:
    """Look again after `after` seconds (a transient error, quota, a create fence)."""

    after: float
    reason: str


@dataclass(frozen=True)
class Stalled:
    """Retrying cannot help; a human must change the spec."""

    reason: str


Outcome = Done | Requeue | Stalled


@dataclass
class Throttler:
    """Exponential backoff with full jitter per key, reset on success."""

    base: float = 1.0
    cap: float = 300.0
    rng: random.Random = field(default_factory=random.Random)
    attempts: dict[str, int] = field(default_factory=dict)
    not_before: dict[str, float] = field(default_factory=dict)

    def failed(self, key: str, *, now: float, at_least: float = 0.0) -> float:
        """Record a failure; return the delay before the next attempt."""
        attempt = self.attempts.get(key, 0)
        self.attempts[key] = attempt + 1
        ceiling = min(self.cap, self.base * 2.0**attempt)
        delay: float = max(at_least, ceiling * (0.5 + self.rng.random() / 2))
        self.not_before[key] = now + delay
        return delay

    def succeeded(self, key: str) -> None:
        self.attempts.pop(key, None)
        self.not_before.pop(key, None)

    def ready(self, key: str, *, now: float) -> bool:
        return self.not_before.get(key, 0.0) <= now

    def next_due(self) -> float | None:
        return min(self.not_before.values(), default=None)
