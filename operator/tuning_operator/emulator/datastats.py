"""The `tuning_data_stats` an emulated job reports once it runs: counted, or scripted by labels.

Vertex fills `tuning_data_stats.supervised_tuning_data_stats` after it has read the dataset.
When a local Cloud Storage emulator serves the job's training file (`STORAGE_EMULATOR_HOST`,
see `training_data`), the emulator counts it at create: its examples, their estimated tokens
and text characters, and the examples over the base model's tokens-per-example limit (Vertex
truncates those). Otherwise the figures have defaults. Either way labels override them, with
Vertex's arithmetic (billable tokens = tokens × epochs):

    emulator-examples=N            tuning_dataset_example_count (default: counted, else 100)
    emulator-tokens-per-example=N  tokens of one example (default: the counted total, else 500)
    emulator-billable-tokens=N     total_billable_token_count (default tokens × epochs;
                                   epochs = epoch_count, else 3)
    emulator-truncated-examples=N  total_truncated_example_count (default: counted, else 0)

Tokens are `emulator-examples` × `emulator-tokens-per-example` when either label is set (the
counted mean per example stands in for a missing per-example label). A label that is not all
digits is ignored (its default applies). This module never stores anything and reads nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.cloud import aiplatform_v1

EXAMPLES_LABEL = "emulator-examples"
TOKENS_PER_EXAMPLE_LABEL = "emulator-tokens-per-example"
BILLABLE_TOKENS_LABEL = "emulator-billable-tokens"
TRUNCATED_LABEL = "emulator-truncated-examples"
DEFAULT_EXAMPLES = 100
DEFAULT_TOKENS_PER_EXAMPLE = 500
DEFAULT_EPOCHS = 3


@dataclass(frozen=True)
class CountedData:
    """What the emulator counted in a job's training file (see `training_data`)."""

    examples: int
    tokens: int  # estimated, the pre-flight's way, up to the model's per-example limit
    characters: int  # of text
    truncated: int  # examples over the base model's tokens-per-example limit


def _scripted(labels: Mapping[str, str], key: str, default: int) -> int:
    value = labels.get(key, "")
    return int(value) if value.isdigit() else default


def data_stats(labels: Mapping[str, str], submitted: Mapping[str, Any],
               counted: CountedData | None = None) -> aiplatform_v1.TuningDataStats:
    """The data stats of a job with these labels and this submitted TuningJob (REST JSON),
    from its counted training file when there is one."""
    examples = _scripted(labels, EXAMPLES_LABEL,
                         counted.examples if counted else DEFAULT_EXAMPLES)
    scripted = EXAMPLES_LABEL in labels or TOKENS_PER_EXAMPLE_LABEL in labels
    if counted is not None and not scripted:
        tokens, characters = counted.tokens, counted.characters
    else:
        mean = (round(counted.tokens / counted.examples) if counted and counted.examples
                else DEFAULT_TOKENS_PER_EXAMPLE)
        tokens = examples * _scripted(labels, TOKENS_PER_EXAMPLE_LABEL, mean)
        characters = tokens * 4
    hyper = submitted.get("supervisedTuningSpec", {}).get("hyperParameters", {})
    epochs = int(hyper.get("epochCount", 0) or 0) or DEFAULT_EPOCHS
    billable = _scripted(labels, BILLABLE_TOKENS_LABEL, tokens * epochs)
    truncated = _scripted(labels, TRUNCATED_LABEL, counted.truncated if counted else 0)
    return aiplatform_v1.TuningDataStats(
        supervised_tuning_data_stats=aiplatform_v1.SupervisedTuningDataStats(
            tuning_dataset_example_count=examples,
            total_billable_token_count=billable,
            total_tuning_character_count=characters,
            total_truncated_example_count=truncated,
            tuning_step_count=max(1, examples * epochs // 16),
        )
    )
