"""Recommended hyperparameters: seed 004's table from the catalog, per family and dataset size."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from tuning_operator.datasets.recommend import recommend
from tuning_operator.datasets.stats import EMPTY_STATS, DatasetStats
from tuning_operator.specs.catalog import default_catalog, parse_catalog


def stats(examples: int, mean_tokens: float) -> DatasetStats:
    total = int(examples * mean_tokens)
    return dataclasses.replace(EMPTY_STATS, examples=examples, tokens_mean=mean_tokens,
                               tokens_total=total)


# model, examples, mean tokens -> (epochs, LR multiplier, adapter size, small dataset?)
TABLE = [
    ("gemini-1.5-pro-002", 999, 499, (20, 10.0, 4, True)),
    ("gemini-1.5-pro-002", 1000, 100, (10, None, 4, False)),
    ("gemini-1.5-pro-002", 100, 500, (10, None, 4, False)),
    ("gemini-1.5-flash-002", 300, 200, (None, 10.0, 4, True)),
    ("gemini-1.5-flash-002", 5000, 200, (None, None, 8, False)),
    ("gemini-2.5-flash", 300, 200, (None, None, 4, True)),
    ("gemini-2.5-flash", 300, 900, (None, None, 8, False)),
    ("gemini-2.0-flash-lite-001", 20_000, 90, (None, None, 8, False)),
    ("gemini-2.5-pro", 20_000, 900, (None, None, 4, False)),
    ("gemini-1.0-pro-002", 50, 10, (None, None, None, True)),
]


@pytest.mark.parametrize(("model_name", "examples", "mean", "expected"), TABLE)
def test_recommendation_table(
    model_name: str, examples: int, mean: float, expected: tuple[object, ...]
) -> None:
    """Small means < 1,000 examples AND mean context < 500 tokens; None = Vertex default."""
    model = default_catalog().get(model_name)
    assert model is not None
    r = recommend(model, stats(examples, mean))
    assert (r.epoch_count, r.learning_rate_multiplier, r.adapter_size, r.small_dataset) == expected
    assert r.adapter_size is None or r.adapter_size in model.adapter_sizes
    assert r.model == model_name and r.reason


def test_billable_tokens_follow_the_recommended_epochs() -> None:
    """Billable tokens are tokens × epochs when the recommendation fixes the epochs."""
    pro = default_catalog().get("gemini-1.5-pro-002")
    flash = default_catalog().get("gemini-2.5-flash")
    assert pro is not None and flash is not None
    small = stats(100, 50)
    assert recommend(pro, small).billable_tokens(small) == 5000 * 20
    assert recommend(flash, small).billable_tokens(small) is None


def test_every_catalog_model_has_a_recommendation() -> None:
    """No model falls back silently: each names its family in catalog.yaml."""
    assert all(m.recommended is not None for m in default_catalog().models.values())


CATALOG = """
recommendedHyperParameters:
  smallDataset: {examplesBelow: 1000, meanTokensBelow: 500}
  families:
    big:
      source: test
      small: {epochCount: 3, learningRateMultiplier: 1, adapterSize: 16}
      otherwise: {epochCount: 2, learningRateMultiplier: null, adapterSize: 4}
models:
  m:
    generation: "9"
    stage: ga
    modalities: [text]
    adapterSizes: [1, 4]
    defaultAdapterSize: 4
    maxTokensPerExample: 1
    maxValidationExamples: 1
    maxTrainingFileBytes: 1
    recommendedFamily: FAMILY
"""


@pytest.mark.parametrize(("family", "message"), [
    ("nope", "unknown recommendedFamily 'nope'"),
    ("big", "recommends adapter size 16, which the model does not allow"),
])
def test_catalog_rejects_inconsistent_recommendations(family: str, message: str) -> None:
    """A family that does not exist, or an adapter size the model refuses, fails at load."""
    with pytest.raises(ValueError, match=message):
        parse_catalog(yaml.safe_load(CATALOG.replace("FAMILY", family)))


def test_catalog_without_recommendations_still_parses() -> None:
    """The added fields are optional: an older catalog document keeps working."""
    document = yaml.safe_load(CATALOG)
    del document["recommendedHyperParameters"]
    del document["models"]["m"]["recommendedFamily"]
    model = parse_catalog(document).get("m")
    assert model is not None
    assert (model.recommended, model.gemini_api_max_input_chars) == (None, None)
