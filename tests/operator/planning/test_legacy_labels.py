"""The first release's (v1) spec hash is computed only for a Vertex job not labelled with v2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.job_files import write_job
from tuning_operator.planning.model import ObservedJob
from tuning_operator.planning.planner import ActionKind, PlanSettings, plan
from tuning_operator.specs import load_jobs_dir
from tuning_operator.specs.labels import ownership_labels
from tuning_operator.specs.model import TuningJob

PARENT = "projects/p/locations/us-central1/tuningJobs"


def _observed(name: str, label: str, team: str = "t") -> ObservedJob:
    return ObservedJob(name=f"{PARENT}/1", state="JOB_STATE_RUNNING",
                       labels=ownership_labels(job=name, spec_hash=label, team=team))


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = TuningJob.legacy_spec_hash

    def counted(self: TuningJob) -> str | None:
        calls.append(self.name)
        return real(self)

    monkeypatch.setattr(TuningJob, "legacy_spec_hash", counted)
    return calls


def test_no_v1_hash_for_a_cold_plan_or_a_v2_label(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading, planning against nothing and against a v2-labelled job never compute v1."""
    write_job(tmp_path, "a", team="t")
    calls = _counting(monkeypatch)
    load = load_jobs_dir(tmp_path)
    assert plan(load, [], PlanSettings()).actions[0].kind == ActionKind.CREATE
    current = _observed("a", load.jobs["a"].spec_hash)
    assert plan(load, [current], PlanSettings()).actions[0].kind == ActionKind.NOOP
    assert calls == []


def test_a_v1_label_is_still_this_spec_and_computed_once(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A job created by the first release (v1 label) is the file's job, not a conflict; the v1
    hash is computed once however many passes look."""
    write_job(tmp_path, "a", team="t")
    load = load_jobs_dir(tmp_path)
    legacy = load.jobs["a"].job.legacy_spec_hash()
    assert legacy is not None
    calls = _counting(monkeypatch)
    for _ in range(3):
        actions = plan(load, [_observed("a", legacy)], PlanSettings()).actions
        assert actions[0].kind == ActionKind.NOOP
    assert load.jobs["a"].spec_labels == {load.jobs["a"].spec_hash[:16], legacy[:16]}
    assert calls == ["a"]
