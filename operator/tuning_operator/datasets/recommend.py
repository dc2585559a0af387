"""Recommended starting hyperparameters for a dataset: seed 004's table, read from the catalog.

`hyperParameters: {preset: recommended}` in a job file resolves to `recommend(model, stats)`.
The table lives in catalog.yaml (`recommendedHyperParameters`), per model family: one row for
small datasets (fewer than 1,000 examples and a mean context under 500 tokens) and one for the
rest. A value of None means "leave it to Vertex" (the seeds say "default"; Vertex then derives
it from the dataset). The 2.x rows are our choice where the seeds are silent; the catalog says
why. This module only reads figures: it never reads files.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuning_operator.datasets.stats import DatasetStats
from tuning_operator.specs.catalog import BaseModel


@dataclass(frozen=True)
class Recommendation:
    """Hyperparameters in the job file's terms; None = Vertex's default."""

    model: str
    epoch_count: int | None
    learning_rate_multiplier: float | None
    adapter_size: int | None
    small_dataset: bool
    reason: str

    def billable_tokens(self, stats: DatasetStats) -> int | None:
        """Estimated billable training tokens with these epochs; None when Vertex picks them."""
        return None if self.epoch_count is None else stats.billable_tokens(self.epoch_count)


def recommend(model: BaseModel, stats: DatasetStats) -> Recommendation:
    """The catalog's recommended values for this model and this training set."""
    table = model.recommended
    if table is None:
        return Recommendation(
            model.name, None, None, None, small_dataset=False,
            reason=f"the catalog has no recommendation for {model.name}: Vertex defaults",
        )
    small = (
        stats.examples < table.examples_below and stats.tokens_mean < table.mean_tokens_below
    )
    values = table.small if small else table.otherwise
    size = (
        f"{stats.examples:,} examples ({'<' if stats.examples < table.examples_below else '≥'}"
        f" {table.examples_below:,}), mean context ≈ {stats.tokens_mean:,.0f} tokens"
        f" ({'<' if stats.tokens_mean < table.mean_tokens_below else '≥'}"
        f" {table.mean_tokens_below:,})"
    )
    return Recommendation(
        model=model.name,
        epoch_count=values.epoch_count,
        learning_rate_multiplier=values.learning_rate_multiplier,
        adapter_size=values.adapter_size,
        small_dataset=small,
        reason=f"{table.source}; {size}",
    )
