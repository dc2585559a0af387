"""Fault injection decisions and the call ledger, without a server."""

from __future__ import annotations

import random

import grpc
import pytest

from tuning_operator.emulator.faults import (
    RANDOM_FAULT_CODES,
    CallLedger,
    FaultInjector,
    FaultSettings,
)
from tuning_operator.emulator.status import ApiError


def injector(settings: FaultSettings | None = None) -> tuple[FaultInjector, list[float]]:
    slept: list[float] = []
    return FaultInjector(
        settings or FaultSettings(), rng=random.Random(1), sleep=slept.append
    ), slept


def test_no_faults_by_default() -> None:
    """With zero rates nothing fails and nothing sleeps."""
    faults, slept = injector()
    for _ in range(100):
        faults.before("ListTuningJobs")
    assert not faults.ghost_due() and slept == []


def test_scripted_faults_hit_only_their_method_in_order() -> None:
    """fail_next queues faults per method; other methods pass; each fault fires once."""
    faults, _ = injector()
    faults.fail_next("ListTuningJobs", "UNAVAILABLE", times=2)
    faults.fail_next("ListTuningJobs", grpc.StatusCode.INTERNAL)
    faults.before("GetTuningJob")
    codes = []
    for _ in range(3):
        with pytest.raises(ApiError) as caught:
            faults.before("ListTuningJobs")
        codes.append(caught.value.code)
    assert codes == [grpc.StatusCode.UNAVAILABLE] * 2 + [grpc.StatusCode.INTERNAL]
    faults.before("ListTuningJobs")


def test_a_million_planned_faults_are_one_run_beside_the_other_methods() -> None:
    """A method failing for good (P4's failing endpoint) is one counted run, not a million
    queued entries every other call would walk past."""
    faults, _ = injector()
    faults.fail_next("GenerateContent", "UNAVAILABLE", times=1_000_000)
    faults.fail_next("ListTuningJobs", "INTERNAL")
    with pytest.raises(ApiError):
        faults.before("GenerateContent")
    with pytest.raises(ApiError):
        faults.before("ListTuningJobs")
    faults.before("ListTuningJobs")
    assert faults.describe()["pending_faults"] == [
        {"method": "GenerateContent", "code": "UNAVAILABLE", "times": 999_999}]


def test_fault_rate_draws_from_the_transient_codes() -> None:
    """fault_rate 1 fails every call with UNAVAILABLE, RESOURCE_EXHAUSTED or DEADLINE_EXCEEDED."""
    faults, _ = injector(FaultSettings(fault_rate=1.0))
    seen = set()
    for _ in range(60):
        with pytest.raises(ApiError) as caught:
            faults.before("CreateTuningJob")
        seen.add(caught.value.code)
    assert seen == set(RANDOM_FAULT_CODES)


def test_fault_rate_is_a_share_of_calls() -> None:
    """fault_rate 0.3 fails roughly 30 % of calls."""
    faults, _ = injector(FaultSettings(fault_rate=0.3))
    failures = 0
    for _ in range(2000):
        try:
            faults.before("GetTuningJob")
        except ApiError:
            failures += 1
    assert 450 < failures < 750


def test_ghosts_scripted_then_by_rate() -> None:
    """ghost_next_creates fires exactly that many times; ghost_create_rate 1 always fires."""
    faults, _ = injector()
    faults.ghost_next_creates(2)
    assert [faults.ghost_due() for _ in range(3)] == [True, True, False]
    faults.configure(ghost_create_rate=1.0)
    assert faults.ghost_due()


def test_latency_sleeps_before_each_call() -> None:
    """latency_ms is slept (in seconds) before the call is decided."""
    faults, slept = injector(FaultSettings(latency_ms=150))
    faults.before("GetTuningJob")
    assert slept == [0.15]


def test_configure_changes_only_what_is_given_and_clear_resets() -> None:
    """configure is a partial update; clear drops rates, latency and scripted faults."""
    faults, _ = injector(FaultSettings(latency_ms=5))
    assert faults.configure(fault_rate=0.5) == FaultSettings(fault_rate=0.5, latency_ms=5)
    faults.fail_next("GetTuningJob", "INTERNAL")
    faults.clear()
    assert faults.settings == FaultSettings()
    faults.before("GetTuningJob")


@pytest.mark.parametrize(
    "bad",
    [
        {"fault_rate": 1.5},
        {"ghost_create_rate": -0.1},
        {"latency_ms": -1},
    ],
)
def test_settings_out_of_range_are_refused(bad: dict[str, float]) -> None:
    """Rates outside [0, 1] and negative latency raise ValueError."""
    with pytest.raises(ValueError):
        FaultSettings(**bad)


@pytest.mark.parametrize(
    ("method", "code"), [("UpdateTuningJob", "UNAVAILABLE"), ("GetTuningJob", "NOPE")]
)
def test_unknown_method_or_code_is_refused(method: str, code: str) -> None:
    """fail_next names a real method and a real status code, or raises ValueError."""
    faults, _ = injector()
    with pytest.raises(ValueError):
        faults.fail_next(method, code)


def test_ledger_counts_per_method_and_resets() -> None:
    """The ledger reports every method, counts calls and resets to zero."""
    ledger = CallLedger()
    ledger.count("ListTuningJobs")
    ledger.count("ListTuningJobs")
    assert ledger.snapshot()["ListTuningJobs"] == 2
    assert ledger.snapshot()["CreateTuningJob"] == 0
    ledger.reset()
    assert set(ledger.snapshot().values()) == {0}
