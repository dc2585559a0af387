"""The spec hash is versioned and stable under growth: v1 labels still mean "same job"."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuning_operator.specs import load_jobs_dir
from tuning_operator.specs.model import Spec, TuningJob

EXAMPLES = Path(__file__).parents[3] / "examples" / "jobs"

# Pinned: changing any of these re-labels (v2) or un-recognises (v1) a running fleet.
GOLDEN = {
    "incident-summarizer-v2": (
        "4a96995e2c749bc5186afecc50d05f66d85e0ed69406ebb5381843a52a4df64c",
        "9ec016b2f67280f435ef287cdbe69d6466213e4c58a16b46a56af65db10a07c8",
    ),
    "onboarding-buddy-v1": (
        "3bd87dd751a1afc01569eea2dad522fc0e6badd318e32f90afb3b97bd1b6812a",
        "286c4eeee714964ac0b406ea7f7b4a85e540834db3d314156fb9ee864e2c8133",
    ),
    "reply-tone-v1": (
        "63657f87bb5b4151fd8d86dab9d14ad30eadc634a42ead5410b73126f6f1cfd3",
        "0f9851efda7d25f64c6b9141b93f06bb928892b4915c249b8a3509fa781246a9",
    ),
    "ticket-classifier-v3": (
        "5cb90ae41869b97e5b51e8eafb4e18c32791afa5edae028420cf8f478bc85fcc",
        "d869d7c5e29650eebd545e19feef7b8b247cf7a3ebb09daf6fea9030e67d3883",
    ),
}


def _examples() -> dict[str, TuningJob]:
    return {name: loaded.job for name, loaded in load_jobs_dir(EXAMPLES).jobs.items()}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_hashes_hold(name: str) -> None:
    """The example jobs keep their pinned v2 hash and their first-release (v1) hash."""
    job = _examples()[name]
    assert (job.spec_hash(), job.legacy_spec_hash()) == GOLDEN[name]
    assert job.spec_labels() == {GOLDEN[name][0][:16], GOLDEN[name][1][:16]}


class _GrownSpec(Spec):
    future_field: str | None = None
    future_block: dict[str, int] | None = None


class _GrownJob(TuningJob):
    spec: _GrownSpec


def test_a_new_optional_field_leaves_every_hash_unchanged() -> None:
    """Adding fields with no value to the model changes neither the v2 nor the v1 hash."""
    for name, job in _examples().items():
        grown = _GrownJob.model_validate(job.model_dump(by_alias=True))
        assert grown.spec_hash() == GOLDEN[name][0]
        assert grown.legacy_spec_hash() == GOLDEN[name][1]


def test_a_used_new_field_changes_the_hash_and_has_no_v1_form() -> None:
    """A spec that sets a field v1 never had is a different job, with no v1 label to match."""
    job = _examples()["reply-tone-v1"]
    data = job.model_dump(by_alias=True)
    data["spec"]["futureField"] = "x"
    grown = _GrownJob.model_validate(data)
    assert grown.spec_hash() != GOLDEN["reply-tone-v1"][0]
    assert grown.legacy_spec_hash() is None


def test_operator_only_fields_do_not_enter_the_hash() -> None:
    """priority, cancel, onDelete and onSpecChange steer the operator; Vertex never sees them."""
    job = _examples()["reply-tone-v1"]
    data = job.model_dump(by_alias=True)
    data["spec"].update(priority=9, cancel=True, onDelete="Cancel", onSpecChange="Replace")
    changed = TuningJob.model_validate(data)
    assert changed.spec_hash() == job.spec_hash()
    assert changed.legacy_spec_hash() == job.legacy_spec_hash()
