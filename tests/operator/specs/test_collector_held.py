"""The garbage collector is held off while a directory loads, and always comes back."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tuning_operator.specs import load_jobs_dir
from tuning_operator.specs import loader as loader_module
from tuning_operator.specs.collector import collector_held


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_during_a_load_and_on_after(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside the load the collector is disabled; after it, it is enabled again."""
    seen: list[bool] = []
    real = loader_module._load

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loader_module, "_load", spy)
    load_jobs_dir(tmp_path)
    assert seen == [False]
    assert gc.isenabled()


def test_the_collector_comes_back_when_the_load_raises(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A load that raises still restores the collector."""
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(loader_module, "_load", broken)
    with pytest.raises(RuntimeError, match="boom"):
        load_jobs_dir(tmp_path)
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    """Whoever turned the collector off keeps it off: a hold never turns it on."""
    gc.disable()
    with collector_held():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_holds_restore_the_collector_when_the_last_ends() -> None:
    """Nested or overlapping holds (two threads loading) end with the collector on, not before
    the last one ends."""
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with collector_held():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with collector_held():
        thread.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the other thread's hold is still open
    release.set()
    thread.join(5)
    assert gc.isenabled()


def test_what_a_large_hold_built_goes_to_the_oldest_generation() -> None:
    """Objects built during a hold that built much (a cold load) are not left young: no young
    collection walks them; a hold that built little leaves them young."""
    gc.collect()  # the young generation empty: nothing else decides when a collection runs
    with collector_held():
        few = [[index] for index in range(10)]  # lists are always tracked
    youngest = {id(o) for o in gc.get_objects(generation=0)}
    assert all(id(item) in youngest for item in few)
    gc.collect()
    with collector_held():
        many = [[index] for index in range(30_000)]
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert all(id(item) in oldest for item in many)
    assert gc.get_freeze_count() == 0


def test_objects_frozen_by_someone_else_stay_frozen() -> None:
    """A process that froze objects (before a fork) keeps them frozen after a hold."""
    marker = [["frozen before the hold"]]
    gc.freeze()
    try:
        with collector_held():
            pass
        # Frozen objects are in no generation; the count itself may fall as other threads free
        # frozen objects, so the marker is what is checked.
        assert gc.get_freeze_count() > 0
        assert not any(o is marker for o in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(o is marker for o in gc.get_objects())  # the check can tell the difference
