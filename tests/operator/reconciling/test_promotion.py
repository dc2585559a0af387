"""Promotions: the promote executor's Vertex calls, the alias records, and events by diff."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pytest

from tuning_operator.errors import ArtifactsUnavailable, TemporaryError
from tuning_operator.events.model import (
    ALIAS_HELD_TYPE,
    ALIAS_PROMOTED_TYPE,
    ALIAS_REMOVED_TYPE,
)
from tuning_operator.planning.alias_model import AliasMove, AliasTarget
from tuning_operator.planning.planner import Action, ActionKind, Plan
from tuning_operator.reconciling.promotion import Promotions
from tuning_operator.state.records import AliasRecord, alias_from_json, alias_to_json
from tuning_operator.state.store import OperatorMemory

US = "projects/p/locations/us-central1"
KEY = "support/ticket-router"


class FakeModels:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.fail = fail

    def merge_aliases(self, version: str, aliases: Sequence[str]) -> list[str]:
        if self.fail:
            raise TemporaryError("UNAVAILABLE", retry_after=7.0)
        self.calls.append((version, list(aliases)))
        return list(aliases)


class FakeTeller:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []
        self.actions: list[str] = []

    def alias(self, record: AliasRecord, *, key: str, type: str, reason: str,
              details: Mapping[str, Any]) -> None:
        self.events.append((key, type, reason))

    def alias_action(self, record: AliasRecord, *, key: str, action: str, reason: str) -> None:
        self.actions.append(action)


def promotions(models: FakeModels, teller: FakeTeller) -> Promotions:
    return Promotions(models=models, teller=teller, author_of=lambda path: "ana",
                      clock=lambda: 100.0)


def promote(version: str, job: str, previous: AliasTarget | None = None) -> Action:
    move = AliasMove(key=KEY, alias="ticket-router", job=job, model_version=version,
                     checkpoint="4", endpoint=f"{US}/endpoints/9", previous=previous,
                     path="support/ticket-router.yaml")
    return Action(kind=ActionKind.PROMOTE, reason=f"→ {job}", phase=None, team="support",
                  file=KEY, alias=move)


@pytest.mark.parametrize(("previous", "calls"), [
    (None, [(f"{US}/models/1@2", ["ticket-router"])]),
    (AliasTarget("router-v2", f"{US}/models/1@1"), [(f"{US}/models/1@2", ["ticket-router"])]),
    (AliasTarget("router-v2", f"{US}/models/5@1"), [(f"{US}/models/1@2", ["ticket-router"]),
                                                    (f"{US}/models/5@1", ["-ticket-router"])]),
], ids=["first", "same-model-vertex-moves-it", "other-model-taken-off-after"])
def test_promote_merges_onto_the_new_version_first(previous: AliasTarget | None,
                                                   calls: list[tuple[str, list[str]]]) -> None:
    """Within one Model Vertex moves the alias; from another Model it is taken off after."""
    models, teller = FakeModels(), FakeTeller()
    runner = promotions(models, teller)
    plan = Plan(actions=(promote(f"{US}/models/1@2", "router-v3", previous),), held=())
    assert runner.apply(plan, revision="abc", still_leader=lambda: True) is None
    assert models.calls == calls and teller.actions == ["promote"]
    record = runner.records[KEY]
    assert (record.job, record.model_version, record.git_author, record.git_revision) == (
        "router-v3", f"{US}/models/1@2", "ana", "abc")
    runner.tell()
    assert [e[1] for e in teller.events] == [ALIAS_PROMOTED_TYPE]
    runner.tell()
    assert len(teller.events) == 1  # nothing is told twice


def test_a_failed_call_keeps_the_record_and_asks_for_a_retry() -> None:
    """Vertex unavailable: the alias record is unchanged and the pass requeues."""
    runner = promotions(FakeModels(fail=True), FakeTeller())
    plan = Plan(actions=(promote(f"{US}/models/1@2", "router-v3"),), held=())
    assert runner.apply(plan, revision=None, still_leader=lambda: True) == 7.0
    assert runner.records == {}


def test_no_promotion_without_the_lease() -> None:
    """A replica that lost the lease sends nothing."""
    models = FakeModels()
    runner = promotions(models, FakeTeller())
    plan = Plan(actions=(promote(f"{US}/models/1@2", "router-v3"),), held=())
    assert runner.apply(plan, revision=None, still_leader=lambda: False) == 5.0
    assert models.calls == []


def test_a_hold_is_one_event_per_cause() -> None:
    """The same hold reason pass after pass is told once; a new reason again."""
    teller = FakeTeller()
    runner = promotions(FakeModels(), teller)

    def held(reason: str) -> Plan:
        return Plan(actions=(), held=(), holding=(Action(
            kind=ActionKind.PROMOTE, reason=reason, phase=None, team="support", file=KEY),))

    for reason in ("evaluation failed (a)", "evaluation failed (a)", "evaluation failed (b)"):
        runner.apply(held(reason), revision=None, still_leader=lambda: True)
        runner.tell()
    assert [(e[1], e[2]) for e in teller.events] == [
        (ALIAS_HELD_TYPE, "evaluation failed (a)"), (ALIAS_HELD_TYPE, "evaluation failed (b)")]
    assert runner.records[KEY].job is None  # held before any promotion: points nowhere


def test_a_removal_takes_the_alias_off_and_forgets_it() -> None:
    """The file is gone: `-alias` on its version, the record dropped, one removed event."""
    models, teller = FakeModels(), FakeTeller()
    runner = promotions(models, teller)
    runner.load({KEY: AliasRecord(alias="ticket-router", team="support", job="router-v3",
                                  model_version=f"{US}/models/1@2")})
    move = AliasMove(key=KEY, alias="ticket-router", job=None, model_version=None,
                     previous=AliasTarget("router-v3", f"{US}/models/1@2"), remove=True)
    plan = Plan(actions=(Action(kind=ActionKind.PROMOTE, reason="remove", phase=None,
                                team="support", file=KEY, alias=move),), held=())
    runner.apply(plan, revision=None, still_leader=lambda: True)
    runner.tell()
    assert models.calls == [(f"{US}/models/1@2", ["-ticket-router"])]
    assert runner.records == {} and [e[1] for e in teller.events] == [ALIAS_REMOVED_TYPE]


def test_alias_records_round_trip_in_the_operator_memory() -> None:
    """The stored form is camelCase and reads back as the same record."""
    record = AliasRecord(alias="ticket-router", team="support", job="router-v3",
                         model_version=f"{US}/models/1@2", checkpoint="4", since=5.0,
                         previous_job="router-v2", hold=None)
    assert alias_to_json(record)["modelVersion"] == f"{US}/models/1@2"
    assert alias_from_json(alias_to_json(record)) == record
    memory = OperatorMemory(aliases={KEY: record})
    assert OperatorMemory.from_dict(memory.to_dict()) == memory
    assert "aliases" not in OperatorMemory().to_dict()  # older readers see what they knew


def test_a_hold_ends_when_the_plan_no_longer_holds_it() -> None:
    """Held, then passing again with the alias already there: the hold is cleared."""
    runner = promotions(FakeModels(), FakeTeller())
    runner.load({KEY: AliasRecord(alias="ticket-router", team="support", job="router-v3",
                                  model_version=f"{US}/models/1@2", hold="evaluation failed")})
    runner.apply(Plan(actions=(), held=()), revision=None, still_leader=lambda: True)
    assert runner.records[KEY].hold is None and runner.records[KEY].job == "router-v3"


def test_one_failed_move_asks_for_a_retry_whatever_follows() -> None:
    """A failure, then a success in the same pass: the pass still requeues."""
    models = FakeModels()
    runner = promotions(models, FakeTeller())
    calls = {"n": 0}

    def flaky(version: str, aliases: Sequence[str]) -> list[str]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TemporaryError("UNAVAILABLE", retry_after=3.0)
        return list(aliases)

    models.merge_aliases = flaky  # type: ignore[method-assign]
    other = replace(promote(f"{US}/models/2@1", "other-v1"), file="support/other")
    other = replace(other, alias=replace(other.alias, key="support/other"))  # type: ignore[arg-type]
    plan = Plan(actions=(promote(f"{US}/models/1@2", "router-v3"), other), held=())
    assert runner.apply(plan, revision=None, still_leader=lambda: True) == 3.0
    assert list(runner.records) == ["support/other"]


class FakeObjects:
    def __init__(self, fail: bool = False) -> None:
        self.published: list[dict[str, Any]] = []
        self.fail = fail

    def publish(self, key: str, record: AliasRecord) -> None:
        if self.fail:
            raise ArtifactsUnavailable("gs://artifacts/aliases: 503")
        self.published.append(alias_to_json(record))

    def remove(self, key: str) -> None:
        raise AssertionError("nothing is removed here")


def test_a_job_no_longer_passing_is_flagged_on_the_record_the_event_and_the_object() -> None:
    """The alias sits on router-v3 whose verdict turned failed: the record, the held event's
    details and the alias object say `noLongerPassing`; passing again clears it everywhere.
    A failed object write keeps the old record and asks for a retry."""
    teller, objects = FakeTeller(), FakeObjects(fail=True)
    runner = Promotions(models=FakeModels(), teller=teller, author_of=lambda path: None,
                        clock=lambda: 1.0, objects=objects)
    there = AliasRecord(alias="ticket-router", team="support", job="router-v3",
                        model_version=f"{US}/models/1@2")
    runner.load({KEY: there})
    reason = ("no longer passing: evaluation of router-v3 failed (exactMatch 0.70 < 0.80);"
              " stays on router-v3")
    failing = Plan(actions=(), held=(), holding=(Action(
        kind=ActionKind.PROMOTE, reason=reason, phase=None, team="support", file=KEY),))
    assert runner.apply(failing, revision=None, still_leader=lambda: True) is not None
    assert runner.records[KEY] == there and objects.published == []
    objects.fail = False
    assert runner.apply(failing, revision=None, still_leader=lambda: True) is None
    runner.tell()
    assert runner.records[KEY].no_longer_passing and runner.records[KEY].job == "router-v3"
    assert objects.published[-1]["noLongerPassing"] is True
    assert teller.events == [(KEY, ALIAS_HELD_TYPE, reason)]
    runner.apply(Plan(actions=(), held=()), revision=None, still_leader=lambda: True)
    assert not runner.records[KEY].no_longer_passing and runner.records[KEY].hold is None
    assert objects.published[-1]["noLongerPassing"] is False and len(objects.published) == 2
