"""The operator keeps a summary per job, not its pydantic model (issue 31, P5): the spec fields
read every pass, and the whole job packed, rebuilt exactly as validated when an action needs
it."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from tests.support.job_files import write_job
from tuning_operator.specs import load_jobs_dir
from tuning_operator.specs.loader import LoadCache
from tuning_operator.specs.model import TuningJob
from tuning_operator.specs.summary import RECENT_JOBS, JobSummary

EXTRA = ("  region: us-central1\n  priority: 3\n  onDelete: Cancel\n"
         "  hyperParameters: {epochCount: 3, learningRateMultiplier: 1.0}\n"
         "  description: \"routes tickets\\nby queue\"\n")


def _fields_sets(model: BaseModel) -> list[tuple[str, frozenset[str]]]:
    sets = [(type(model).__name__, frozenset(model.model_fields_set))]
    for value in model.__dict__.values():
        if isinstance(value, BaseModel):
            sets.extend(_fields_sets(value))
    return sets


def test_a_packed_job_is_rebuilt_equal_with_its_fields_sets_and_hash(tmp_path: Path) -> None:
    write_job(tmp_path, "packed", EXTRA)
    whole = load_jobs_dir(tmp_path).jobs["packed"].job
    summary = JobSummary(whole, compact=True)
    for _ in range(RECENT_JOBS + 1):  # pushed out of the recent ones: rebuilt from its form
        JobSummary(whole, compact=True)
    rebuilt = summary.job
    assert rebuilt is not whole and rebuilt == whole
    assert _fields_sets(rebuilt) == _fields_sets(whole)
    assert rebuilt.spec_hash() == whole.spec_hash()
    assert rebuilt.legacy_spec_hash() == whole.legacy_spec_hash()
    assert summary.job is rebuilt  # now among the recent ones: one object


def test_the_summary_reads_as_the_spec(tmp_path: Path) -> None:
    write_job(tmp_path, "read", EXTRA)
    loaded = load_jobs_dir(tmp_path, cache=LoadCache(compact=True)).jobs["read"]
    spec = loaded.job.spec
    for name in ("base_model", "pre_tuned_model", "region", "priority", "cancel", "on_delete",
                 "on_spec_change", "evaluation", "smoke_test"):
        assert getattr(loaded.spec, name) == getattr(spec, name)
    assert loaded.name == "read" and loaded.region == "us-central1"
    assert not hasattr(loaded.summary, "__dict__")  # slotted: 10,000s are kept


def test_the_operator_cache_keeps_jobs_packed_and_shared(tmp_path: Path) -> None:
    """A compact cache keeps no model per job; rebuilt jobs still share what files repeat."""
    for name in ("first", "second"):
        write_job(tmp_path, name, EXTRA)
    cache = LoadCache(compact=True)
    jobs = load_jobs_dir(tmp_path, cache=cache).jobs
    first, second = jobs["first"].summary, jobs["second"].summary
    assert isinstance(first._stored, bytes) and isinstance(second._stored, bytes)
    for _ in range(RECENT_JOBS):
        JobSummary(first.job, compact=True)
    a, b = first.job, second.job
    assert a.spec.__pydantic_fields_set__ is b.spec.__pydantic_fields_set__
    assert a.spec.region is b.spec.region
    assert jobs["first"].spec_hash == a.spec_hash()


def test_a_job_made_in_code_is_kept_whole(tmp_path: Path) -> None:
    """A copy with an update is never validated again (it may not validate)."""
    write_job(tmp_path, "made")
    loaded = load_jobs_dir(tmp_path).jobs["made"]
    spec = loaded.job.spec.model_copy(update={"training_dataset": "/local/train.jsonl"})
    job: TuningJob = loaded.job.model_copy(update={"spec": spec})
    made = type(loaded)(path=loaded.path, team=loaded.team, job=job, spec_hash=loaded.spec_hash)
    assert made.job is job and made.spec.base_model == spec.base_model
