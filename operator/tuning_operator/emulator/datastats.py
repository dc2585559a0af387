"""The `tuning_data_stats` an emulated job reports once it runs, scripted by labels.

Vertex fills `tuning_data_stats.supervised_tuning_data_stats` after it has read the dataset,
which the emulator never does (it stores no data). So the figures are scripted per job by
labels, with defaults that follow Vertex's arithmetic (billable tokens = tokens × epochs):

    emulator-examples=N            tuning_dataset_example_count (default 100)
    emulator-tokens-per-example=N  tokens of one example (default 500)
    emulator-billable-tokens=N     total_billable_token_count (default examples × tokens
                                   per example × epochs; epochs = epoch_count, else 3)
    emulator-truncated-examples=N  total_truncated_example_count (default 0)

A label that is not all digits is ignored (its default applies). This module never stores
anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.cloud import aiplatform_v1

EXAMPLES_LABEL = "emulator-examples"
TOKENS_PER_EXAMPLE_LABEL = "emulator-tokens-per-example"
BILLABLE_TOKENS_LABEL = "emulator-billable-tokens"
TRUNCATED_LABEL = "emulator-truncated-examples"
DEFAULT_EXAMPLES = 100
DEFAULT_TOKENS_PER_EXAMPLE = 500
DEFAULT_EPOCHS = 3


def _scripted(labels: Mapping[str, str], key: str, default: int) -> int:
    value = labels.get(key, "")
    return int(value) if value.isdigit() else default


def data_stats(labels: Mapping[str, str],
               submitted: Mapping[str, Any]) -> aiplatform_v1.TuningDataStats:
    """The data stats of a job with these labels and this submitted TuningJob (REST JSON)."""
    examples = _scripted(labels, EXAMPLES_LABEL, DEFAULT_EXAMPLES)
    per_example = _scripted(labels, TOKENS_PER_EXAMPLE_LABEL, DEFAULT_TOKENS_PER_EXAMPLE)
    hyper = submitted.get("supervisedTuningSpec", {}).get("hyperParameters", {})
    epochs = int(hyper.get("epochCount", 0) or 0) or DEFAULT_EPOCHS
    tokens = examples * per_example
    billable = _scripted(labels, BILLABLE_TOKENS_LABEL, tokens * epochs)
    return aiplatform_v1.TuningDataStats(
        supervised_tuning_data_stats=aiplatform_v1.SupervisedTuningDataStats(
            tuning_dataset_example_count=examples,
            total_billable_token_count=billable,
            total_tuning_character_count=tokens * 4,
            total_truncated_example_count=_scripted(labels, TRUNCATED_LABEL, 0),
            tuning_step_count=max(1, examples * epochs // 16),
        )
    )
