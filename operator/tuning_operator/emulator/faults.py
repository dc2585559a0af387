"""Fault injection and call counting for the emulated service, changeable while it runs.

Random faults (`fault_rate`: UNAVAILABLE / RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED drawn evenly),
ghost creates (`ghost_create_rate`: the create is committed, then DEADLINE_EXCEEDED is
answered — the case that makes naive retries create duplicates) and added latency, plus scripted
faults for deterministic tests ("fail the next 2 ListTuningJobs with UNAVAILABLE", "ghost the
next create"). Scripted faults win over random ones. The call ledger counts every call that
reached the server, faulted or not, per RPC method name (the metrics calls too).
Both classes are thread-safe; neither knows about jobs.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import grpc

from tuning_operator.emulator.status import ApiError, status_code

METHODS = ("CreateTuningJob", "GetTuningJob", "ListTuningJobs", "CancelTuningJob")
# Counted once called, faulted like the others.
PREDICTION_METHODS = ("GenerateContent", "EvaluateInstances")
# The metadata and TensorBoard calls that read a job's metrics (emulator/metrics.py).
METRICS_METHODS = (
    "GetContext",
    "ListContexts",
    "ListTensorboardRuns",
    "ListTensorboardTimeSeries",
    "BatchReadTensorboardTimeSeriesData",
    "ReadTensorboardTimeSeriesData",
)
MODEL_METHODS = ("GetModel", "ListModelVersions", "MergeVersionAliases")  # emulator/models.py
ALL_METHODS = METHODS + METRICS_METHODS + PREDICTION_METHODS + MODEL_METHODS
RANDOM_FAULT_CODES = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
)


@dataclass(frozen=True)
class FaultSettings:
    """The random part of fault injection; every rate is a probability in [0, 1]."""

    fault_rate: float = 0.0
    ghost_create_rate: float = 0.0
    latency_ms: float = 0.0

    def __post_init__(self) -> None:
        for name in ("fault_rate", "ghost_create_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {self.latency_ms}")


@dataclass(frozen=True)
class ScriptedFault:
    """One planned failure of one method."""

    method: str
    code: grpc.StatusCode
    message: str


@dataclass
class _Run:
    """A scripted fault and how many more calls it fails."""

    fault: ScriptedFault
    left: int


class FaultInjector:
    """Decides, per call, whether the emulator answers with a fault instead of doing the work."""

    def __init__(
        self,
        settings: FaultSettings,
        *,
        rng: random.Random,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._rng = rng
        self._sleep = sleep
        self._lock = threading.Lock()
        # Per method, the planned failures in order, each with how many calls it still fails:
        # a call looks at its own method's first run only (a million planned failures of one
        # method must not slow every other call down).
        self._scripted: dict[str, deque[_Run]] = {}
        self._ghosts = 0

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def configure(
        self,
        *,
        fault_rate: float | None = None,
        ghost_create_rate: float | None = None,
        latency_ms: float | None = None,
    ) -> FaultSettings:
        """Change the given settings at run time; the others keep their value."""
        changes = {
            key: value
            for key, value in (
                ("fault_rate", fault_rate),
                ("ghost_create_rate", ghost_create_rate),
                ("latency_ms", latency_ms),
            )
            if value is not None
        }
        with self._lock:
            self._settings = replace(self._settings, **changes)
            return self._settings

    def fail_next(
        self, method: str, code: grpc.StatusCode | str, *, times: int = 1, message: str = ""
    ) -> None:
        """The next `times` calls of `method` answer `code` (before doing any work)."""
        if method not in ALL_METHODS:
            raise ValueError(f"unknown method {method!r}; use one of {', '.join(ALL_METHODS)}")
        status = code if isinstance(code, grpc.StatusCode) else status_code(code)
        text = message or f"injected fault ({status.name})"
        if times > 0:
            with self._lock:
                self._scripted.setdefault(method, deque()).append(
                    _Run(ScriptedFault(method, status, text), times))

    def ghost_next_creates(self, times: int = 1) -> None:
        """The next `times` creates are committed and then answered with DEADLINE_EXCEEDED."""
        with self._lock:
            self._ghosts += times

    def clear(self) -> None:
        """Drop scripted faults and set every rate and the latency back to zero."""
        with self._lock:
            self._scripted.clear()
            self._ghosts = 0
            self._settings = FaultSettings()

    def before(self, method: str) -> None:
        """Apply latency, then raise the fault due for this call, if any."""
        settings = self._settings
        if settings.latency_ms:
            self._sleep(settings.latency_ms / 1000.0)
        with self._lock:
            runs = self._scripted.get(method)
            if runs:
                run = runs[0]
                run.left -= 1
                if run.left == 0:
                    runs.popleft()
                raise ApiError(run.fault.code, run.fault.message)
            if settings.fault_rate and self._rng.random() < settings.fault_rate:
                code = self._rng.choice(RANDOM_FAULT_CODES)
                raise ApiError(code, f"injected fault ({code.name}, fault rate)")

    def ghost_due(self) -> bool:
        """Whether the create just committed must be answered with DEADLINE_EXCEEDED."""
        with self._lock:
            if self._ghosts:
                self._ghosts -= 1
                return True
            rate = self._settings.ghost_create_rate
            return bool(rate) and self._rng.random() < rate

    def describe(self) -> dict[str, object]:
        """The current settings and pending scripted faults, for the admin endpoint."""
        with self._lock:
            return {
                **asdict(self._settings),
                "pending_faults": [
                    {"method": run.fault.method, "code": run.fault.code.name, "times": run.left}
                    for runs in self._scripted.values() for run in runs
                ],
                "pending_ghost_creates": self._ghosts,
            }


class CallLedger:
    """How many calls of each RPC method reached the emulator (both transports together)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def count(self, method: str) -> None:
        with self._lock:
            self._counts[method] += 1

    def snapshot(self) -> dict[str, int]:
        """Every tuning method (0 when never called), then any other method that was called."""
        with self._lock:
            counts = {method: self._counts.get(method, 0) for method in METHODS}
            counts.update((m, n) for m, n in self._counts.items() if m not in METHODS)
            return counts

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
