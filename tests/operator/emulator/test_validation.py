"""What the emulated Vertex refuses as INVALID_ARGUMENT, checked without a server."""

from __future__ import annotations

import grpc
import pytest

from tests.support.emulator_process import sample_job
from tuning_operator.emulator.status import ApiError
from tuning_operator.emulator.validation import (
    check_create,
    check_labels,
    parse_job_name,
    parse_parent,
)
from tuning_operator.specs.catalog import default_catalog


@pytest.mark.parametrize(
    "parent",
    [
        "projects/p/locations",
        "projects/p/locations/us-central1/extra",
        "locations/us-central1",
        "projects/p/locations/global",
        "projects//locations/us-central1",
    ],
)
def test_malformed_parents(parent: str) -> None:
    """A parent that is not projects/{p}/locations/{region} is INVALID_ARGUMENT."""
    with pytest.raises(ApiError) as caught:
        parse_parent(parent)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    "name",
    [
        "projects/p/locations/us-central1/tuningJobs/",
        "projects/p/locations/us-central1/tuningJobs/abc",
        "projects/p/locations/us-central1/customJobs/123",
        "projects/p/locations/us-central1/tuningJobs/123/x",
    ],
)
def test_malformed_job_names(name: str) -> None:
    """A job name without a numeric id under tuningJobs is INVALID_ARGUMENT."""
    with pytest.raises(ApiError):
        parse_job_name(name)


def test_a_good_parent_and_name_parse() -> None:
    """Well-formed names give their project and region."""
    assert parse_parent("projects/p/locations/us-central1").region == "us-central1"
    assert parse_job_name("projects/p/locations/europe-west4/tuningJobs/42").project == "p"


@pytest.mark.parametrize(
    ("model", "size", "accepted"),
    [
        ("gemini-2.5-pro", "ADAPTER_SIZE_ONE", True),
        ("gemini-2.5-pro", "ADAPTER_SIZE_EIGHT", True),
        ("gemini-2.5-pro", "ADAPTER_SIZE_SIXTEEN", False),
        ("gemini-2.5-flash-lite", "ADAPTER_SIZE_SIXTEEN", True),
        ("gemini-2.5-flash", "ADAPTER_SIZE_TWO", True),
        ("gemini-2.5-flash", "ADAPTER_SIZE_THIRTY_TWO", False),
        ("gemini-2.5-flash-lite", "ADAPTER_SIZE_THIRTY_TWO", False),
        ("gemini-2.5-pro", "ADAPTER_SIZE_UNSPECIFIED", True),
        ("publishers/google/models/gemini-2.5-flash", "ADAPTER_SIZE_FOUR", True),
    ],
)
def test_adapter_sizes_follow_the_catalog(model: str, size: str, accepted: bool) -> None:
    """The adapter-size rule is the catalog's, per base model."""
    job = sample_job(base_model=model, adapter_size=size)
    if accepted:
        check_create(job, default_catalog())
    else:
        with pytest.raises(ApiError, match="Adapter size"):
            check_create(job, default_catalog())


@pytest.mark.parametrize(
    ("labels", "accepted"),
    [
        ({"managed-by": "tuning-operator", "tuning-operator-job": "x"}, True),
        ({"a": ""}, True),
        ({"9lives": "x"}, False),
        ({"team": "CX"}, False),
        ({"k" * 64: "v"}, False),
        ({f"k{i}": "v" for i in range(65)}, False),
    ],
)
def test_label_rules(labels: dict[str, str], accepted: bool) -> None:
    """Vertex label rules; the operator's ownership labels are ordinary labels here."""
    if accepted:
        check_labels(labels)
    else:
        with pytest.raises(ApiError):
            check_labels(labels)


def test_validation_uri_is_checked_when_given() -> None:
    """An optional validation dataset must also be a gs:// JSONL object."""
    job = sample_job()
    job.supervised_tuning_spec.validation_dataset_uri = "gs://tuning-data/val.txt"
    with pytest.raises(ApiError, match="validation_dataset_uri"):
        check_create(job, default_catalog())


def test_a_job_without_tuning_spec_is_refused() -> None:
    """supervised_tuning_spec is required."""
    job = sample_job()
    del job.supervised_tuning_spec
    with pytest.raises(ApiError, match="supervised_tuning_spec"):
        check_create(job, default_catalog())
