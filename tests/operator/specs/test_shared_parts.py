"""What thousands of job files repeat is kept once (issue 31, P5), and sharing it changes no
value: the loader's jobs hold one copy of each fields set, label and repeated scalar."""

from __future__ import annotations

from pathlib import Path

from tests.support.job_files import write_job
from tuning_operator.specs import load_jobs_dir
from tuning_operator.specs.loader import LoadCache, LoadedJob
from tuning_operator.specs.model import TuningJob

REGION = "  region: us-central1\n"


def _two_jobs(tmp_path: Path) -> tuple[LoadedJob, LoadedJob]:
    for name in ("first", "second"):
        path = write_job(tmp_path, name, REGION)
        path.write_text(path.read_text().replace(
            "spec:\n", "  labels: {cost-center: cc-7, use-case: routing}\nspec:\n"))
    jobs = load_jobs_dir(tmp_path, cache=LoadCache()).jobs
    return jobs["first"], jobs["second"]


def test_two_files_share_their_fields_sets_labels_and_repeated_scalars(tmp_path: Path) -> None:
    """Two jobs of one team hold the same fields-set, label and scalar objects, not copies."""
    first, second = _two_jobs(tmp_path)
    for a, b in ((first.job, second.job), (first.job.metadata, second.job.metadata),
                 (first.job.spec, second.job.spec)):
        assert a.__pydantic_fields_set__ is b.__pydantic_fields_set__
    for (key_a, value_a), (key_b, value_b) in zip(first.job.metadata.labels.items(),
                                                  second.job.metadata.labels.items(),
                                                  strict=True):
        assert key_a is key_b and value_a is value_b
    assert first.job.spec.base_model is second.job.spec.base_model
    assert first.job.spec.region is second.job.spec.region
    assert first.job.api_version is second.job.api_version
    assert first.team is second.team


def test_a_copy_with_updates_leaves_the_shared_fields_set_alone(tmp_path: Path) -> None:
    """`model_copy(update=...)` of one job never widens the fields set the other job shares."""
    first, second = _two_jobs(tmp_path)
    before = set(second.job.spec.model_fields_set)
    copy = first.job.spec.model_copy(update={"description": "changed"})
    assert "description" in copy.model_fields_set
    assert second.job.spec.model_fields_set == before
    assert "description" not in first.job.spec.model_fields_set


def test_shared_jobs_equal_and_hash_as_unshared_ones(tmp_path: Path) -> None:
    """Sharing changes identities only: the model and its spec hash are as validated."""
    first, _ = _two_jobs(tmp_path)
    fresh = TuningJob.model_validate(first.job.model_dump(by_alias=True, exclude_unset=True))
    assert fresh == first.job
    assert fresh.spec_hash() == first.spec_hash
    assert fresh.spec.model_fields_set == first.job.spec.model_fields_set
    assert fresh.metadata.labels == first.job.metadata.labels


def test_the_cache_and_the_load_hold_one_job_object(tmp_path: Path) -> None:
    """A valid job's model is kept once: the parsed, the checked and the loaded job are one."""
    write_job(tmp_path, "only")
    cache = LoadCache()
    loaded = load_jobs_dir(tmp_path, cache=cache).jobs["only"]
    parsed, checked = cache.files[loaded.path][1], cache.checked[loaded.path][1]
    assert parsed.job is loaded.job and checked.job is loaded.job
    assert not hasattr(loaded, "__dict__")  # slotted: 10,000s are kept
