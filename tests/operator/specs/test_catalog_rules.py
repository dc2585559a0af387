"""The model catalog's per-model rules, for every listed model, and how `validate` applies them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.job_files import write_job
from tuning_operator.specs import load_jobs_dir
from tuning_operator.specs.catalog import default_catalog, parse_catalog

CURRENT = ("gemini-3.5-flash", "gemini-3.5-flash-lite", "gemini-3.1-flash-lite",
           "gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite")
RETIRED = ("gemini-1.0-pro-002", "gemini-1.5-pro-002", "gemini-1.5-flash-002",
           "gemini-2.0-flash-001", "gemini-2.0-flash-lite-001")
THREE_X_REGIONS = ("us-central1", "europe-west4")
KEY = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"

# model: (regions or None, cmek, adapter sizes, tokens per example)
RULES = {
    "gemini-3.5-flash": (THREE_X_REGIONS, False, (1, 2, 4, 8, 16), 131_072),
    "gemini-3.5-flash-lite": (THREE_X_REGIONS, False, (1, 2, 4, 8, 16), 131_072),
    "gemini-3.1-flash-lite": (THREE_X_REGIONS, False, (1, 2, 4, 8, 16), 131_072),
    "gemini-2.5-pro": (None, True, (1, 2, 4, 8), 131_072),
    "gemini-2.5-flash": (None, True, (1, 2, 4, 8, 16), 131_072),
    "gemini-2.5-flash-lite": (None, True, (1, 2, 4, 8, 16), 131_072),
}


def test_the_catalog_lists_exactly_the_current_and_retired_models() -> None:
    """Six current models for new jobs; the 1.0/1.5/2.0 ones stay, marked retired."""
    catalog = default_catalog()
    assert sorted(n for n, m in catalog.models.items() if not m.retired) == sorted(CURRENT)
    assert sorted(n for n, m in catalog.models.items() if m.retired) == sorted(RETIRED)
    assert catalog.current() == ", ".join(sorted(CURRENT))


@pytest.mark.parametrize("name", CURRENT)
def test_each_current_model_has_its_documented_rules(name: str) -> None:
    """Regions, CMEK, adapter sizes and tokens per example are the catalog's, per model."""
    model = default_catalog().get(name)
    assert model is not None
    regions, cmek, sizes, tokens = RULES[name]
    assert (model.regions, model.cmek, model.adapter_sizes, model.max_tokens_per_example) == (
        regions, cmek, sizes, tokens)
    assert model.sources, "every current model says where its values were found"


@pytest.mark.parametrize("name", CURRENT)
@pytest.mark.parametrize(("training", "limit"), [
    (None, 5_000), (1_000, 5_000), (16_666, 5_000), (16_667, 5_000), (20_000, 6_000),
    (1_000_000, 300_000),
])
def test_validation_limit_is_5000_or_30_percent_of_training(
        name: str, training: int | None, limit: int) -> None:
    """The validation set may hold 5,000 examples, or 30 % of the training set when more."""
    model = default_catalog().get(name)
    assert model is not None
    assert model.validation_limit(training) == limit


@pytest.mark.parametrize("name", CURRENT)
def test_training_example_limits_are_10m_text_and_300k_multimodal(name: str) -> None:
    """Up to 10M text-only or 300K multimodal training examples."""
    model = default_catalog().get(name)
    assert model is not None
    assert model.training_limit(multimodal=False) == 10_000_000
    assert model.training_limit(multimodal=True) == 300_000


@pytest.mark.parametrize("name", RETIRED)
def test_retired_models_keep_their_fixed_validation_limit(name: str) -> None:
    """A retired model has no share rule: its limit does not grow with the training set."""
    model = default_catalog().get(name)
    assert model is not None and model.retired
    assert model.validation_limit(1_000_000) == model.max_validation_examples


@pytest.mark.parametrize(("entry", "message"), [
    ({"stage": "gone"}, "stage 'gone' is not one of"),
    ({"validationShareOfTraining": 1.5}, "validationShareOfTraining 1.5 is not in"),
])
def test_catalog_rejects_bad_stage_or_share(entry: dict[str, object], message: str) -> None:
    """A typo in a stage or a share outside (0, 1] fails when the catalog loads."""
    model = {"generation": "9", "stage": "ga", "modalities": ["text"], "adapterSizes": [],
             "defaultAdapterSize": None, "maxTokensPerExample": 1, "maxValidationExamples": 1,
             "maxTrainingFileBytes": 1, **entry}
    with pytest.raises(ValueError, match=message):
        parse_catalog(yaml.safe_load(yaml.safe_dump({"models": {"m": model}})))


def _errors(root: Path) -> list[str]:
    return [e.message for e in load_jobs_dir(root).errors]


@pytest.mark.parametrize("name", CURRENT)
@pytest.mark.parametrize("region", ["us-central1", "europe-west4", "asia-northeast1"])
def test_validate_applies_each_models_regions(tmp_path: Path, name: str, region: str) -> None:
    """A 3.x job outside us-central1/europe-west4 is an error naming the rule; 2.5 is not."""
    path = write_job(tmp_path, "job", f"  region: {region}\n")
    path.write_text(path.read_text().replace("gemini-2.5-flash", name))
    errors = _errors(tmp_path)
    regions = RULES[name][0]
    if regions is None or region in regions:
        assert errors == []
    else:
        assert len(errors) == 1
        assert "catalog rule: allowed regions" in errors[0]
        assert f"{name} tunes only in us-central1, europe-west4" in errors[0]


@pytest.mark.parametrize("name", CURRENT)
def test_validate_applies_each_models_cmek_rule(tmp_path: Path, name: str) -> None:
    """An encryptionKey on a 3.x job is an error naming the CMEK rule; on 2.5 it is fine."""
    path = write_job(tmp_path, "job", f"  encryptionKey: {KEY}\n")
    path.write_text(path.read_text().replace("gemini-2.5-flash", name))
    errors = _errors(tmp_path)
    if RULES[name][1]:
        assert errors == []
    else:
        assert len(errors) == 1
        assert "`spec.encryptionKey`" in errors[0]
        assert "catalog rule: CMEK not supported" in errors[0]


@pytest.mark.parametrize("name", CURRENT)
@pytest.mark.parametrize("size", [1, 2, 4, 8, 16, 32])
def test_validate_applies_each_models_adapter_sizes(tmp_path: Path, name: str, size: int) -> None:
    """An adapter size the model does not allow is an error naming the rule."""
    path = write_job(tmp_path, "job", f"  hyperParameters: {{adapterSize: {size}}}\n")
    path.write_text(path.read_text().replace("gemini-2.5-flash", name))
    errors = _errors(tmp_path)
    if size in RULES[name][2]:
        assert errors == []
    else:
        assert len(errors) == 1 and "catalog rule: adapter sizes" in errors[0]


@pytest.mark.parametrize("name", RETIRED)
def test_a_retired_model_is_a_warning_not_an_error(tmp_path: Path, name: str) -> None:
    """A job on a retired model stays valid (so its Vertex job is observed) and is warned."""
    path = write_job(tmp_path, "old-job")
    path.write_text(path.read_text().replace("gemini-2.5-flash", name))
    load = load_jobs_dir(tmp_path)
    assert list(load.jobs) == ["old-job"] and load.errors == ()
    assert len(load.warnings) == 1
    assert f"{name} is retired" in load.warnings[0].message
    assert load.warnings[0].file == str(path)


def test_an_unknown_model_lists_only_current_models(tmp_path: Path) -> None:
    """The fix offered for an unknown model names the models a new job should use."""
    path = write_job(tmp_path, "job")
    path.write_text(path.read_text().replace("gemini-2.5-flash", "gemini-9"))
    (error,) = _errors(tmp_path)
    assert "unknown base model 'gemini-9'" in error
    assert "gemini-3.5-flash" in error and "gemini-1.5-pro-002" not in error
