"""The model catalog: per base model, what supervised tuning accepts.

The numbers are data (catalog.yaml beside this file), never constants scattered in code: the
job validator, the Vertex emulator and the dataset pre-flight all read the same entry, so a
limit changes in one place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

RETIRED = "retired"
STAGES = frozenset({"ga", "preview", RETIRED})


@dataclass(frozen=True)
class HyperParameterValues:
    """Epochs, learning-rate multiplier and adapter size; None leaves the value to Vertex."""

    epoch_count: int | None
    learning_rate_multiplier: float | None
    adapter_size: int | None


@dataclass(frozen=True)
class RecommendedHyperParameters:
    """The best-practice starting values for one model family (seed 004's table, text tuning).

    `small` applies when the training set has fewer than `examples_below` examples and a mean
    context below `mean_tokens_below` tokens; `otherwise` applies to every other dataset.
    """

    family: str
    source: str
    examples_below: int
    mean_tokens_below: int
    small: HyperParameterValues
    otherwise: HyperParameterValues


@dataclass(frozen=True)
class BaseModel:
    """What one base model accepts for supervised tuning."""

    name: str
    generation: str
    stage: str
    modalities: tuple[str, ...]
    adapter_sizes: tuple[int, ...]
    default_adapter_size: int | None
    max_tokens_per_example: int
    max_validation_examples: int
    max_training_file_bytes: int
    # Gemini API dataset format (`text_input`/`output`): per-example character limits, where
    # the model documents them (seed 001: 1.5 Flash); None means no documented limit.
    gemini_api_max_input_chars: int | None = None
    gemini_api_max_output_chars: int | None = None
    recommended: RecommendedHyperParameters | None = None
    # The lowest thinking budget of a model that thinks (None: it does not think). Vertex
    # advises the lowest budget for tuned models; evaluations send it unless told otherwise.
    min_thinking_budget: int | None = None
    # Where the model tunes; None: wherever the project tunes (no documented restriction).
    regions: tuple[str, ...] | None = None
    # False: the job may not carry a customer-managed encryption key.
    cmek: bool = True
    # The validation set may hold max_validation_examples, or this share of the training
    # examples when that is more; None: the fixed maximum alone.
    validation_share_of_training: float | None = None
    # Most training examples of a text-only / a multimodal dataset; None: not documented.
    max_training_examples_text: int | None = None
    max_training_examples_multimodal: int | None = None
    sources: tuple[str, ...] = ()
    # The epochs Vertex picks when a job leaves them unset, for cost estimates only (marked
    # assumed wherever shown); None: no figure to assume, the estimate stays unknown.
    default_epoch_count: int | None = None

    @property
    def retired(self) -> bool:
        """No longer listed for new tuning jobs; existing jobs on it are still observed."""
        return self.stage == RETIRED

    def allows_region(self, region: str) -> bool:
        return self.regions is None or region in self.regions

    def validation_limit(self, training_examples: int | None) -> int:
        """Most validation examples for a training set of `training_examples` (None: unknown).

        The rule: max_validation_examples, or validation_share_of_training × the training
        examples when that is more.
        """
        share = self.validation_share_of_training
        if share is None or training_examples is None:
            return self.max_validation_examples
        return max(self.max_validation_examples, math.floor(share * training_examples))

    def training_limit(self, *, multimodal: bool) -> int | None:
        """Most training examples of a dataset (multimodal: any example has a file part)."""
        return self.max_training_examples_multimodal if multimodal else (
            self.max_training_examples_text)

    def validation_rule(self) -> str:
        """The validation-set size rule in words, for messages."""
        share = self.validation_share_of_training
        fixed = f"{self.max_validation_examples:,} examples"
        if share is None:
            return f"at most {fixed}"
        return f"at most {fixed}, or {share:.0%} of the training examples when that is more"


@dataclass(frozen=True)
class Catalog:
    """Every known base model by name."""

    models: Mapping[str, BaseModel]

    def get(self, name: str) -> BaseModel | None:
        return self.models.get(name)

    def known(self) -> str:
        """The known model names, for error messages."""
        return ", ".join(sorted(self.models))

    def current(self) -> str:
        """The model names a new job should use (retired ones left out), for messages."""
        return ", ".join(sorted(n for n, m in self.models.items() if not m.retired))

    def tuning_regions(self) -> frozenset[str]:
        """Every region some model is documented to tune in: where a job may run."""
        return frozenset(r for m in self.models.values() for r in m.regions or ())


def _hyper_parameter_values(entry: Mapping[str, Any]) -> HyperParameterValues:
    rate = entry.get("learningRateMultiplier")
    return HyperParameterValues(
        epoch_count=entry.get("epochCount"),
        learning_rate_multiplier=None if rate is None else float(rate),
        adapter_size=entry.get("adapterSize"),
    )


def _recommendation_families(document: Mapping[str, Any]) -> dict[str, RecommendedHyperParameters]:
    section = document.get("recommendedHyperParameters")
    if section is None:
        return {}
    threshold = section["smallDataset"]
    return {
        family: RecommendedHyperParameters(
            family=family,
            source=str(entry["source"]),
            examples_below=int(threshold["examplesBelow"]),
            mean_tokens_below=int(threshold["meanTokensBelow"]),
            small=_hyper_parameter_values(entry["small"]),
            otherwise=_hyper_parameter_values(entry["otherwise"]),
        )
        for family, entry in section["families"].items()
    }


def _recommended_for(
    name: str, entry: Mapping[str, Any], families: Mapping[str, RecommendedHyperParameters]
) -> RecommendedHyperParameters | None:
    family = entry.get("recommendedFamily")
    if family is None:
        return None
    if family not in families:
        raise ValueError(f"model {name}: unknown recommendedFamily {family!r}")
    recommended = families[family]
    allowed = tuple(entry["adapterSizes"])
    for values in (recommended.small, recommended.otherwise):
        if values.adapter_size is not None and values.adapter_size not in allowed:
            raise ValueError(
                f"model {name}: family {family} recommends adapter size {values.adapter_size},"
                f" which the model does not allow ({list(allowed)})"
            )
    return recommended


def parse_catalog(document: Mapping[str, object]) -> Catalog:
    """Build a catalog from its YAML document (the shape of catalog.yaml)."""
    raw = document["models"]
    assert isinstance(raw, Mapping)
    families = _recommendation_families(document)
    models = {
        name: BaseModel(
            name=name,
            generation=str(entry["generation"]),
            stage=_stage(name, entry["stage"]),
            modalities=tuple(entry["modalities"]),
            adapter_sizes=tuple(entry["adapterSizes"]),
            default_adapter_size=entry["defaultAdapterSize"],
            max_tokens_per_example=entry["maxTokensPerExample"],
            max_validation_examples=entry["maxValidationExamples"],
            max_training_file_bytes=entry["maxTrainingFileBytes"],
            gemini_api_max_input_chars=entry.get("geminiApiMaxInputChars"),
            gemini_api_max_output_chars=entry.get("geminiApiMaxOutputChars"),
            recommended=_recommended_for(name, entry, families),
            min_thinking_budget=entry.get("minThinkingBudget"),
            regions=None if entry.get("regions") is None else tuple(entry["regions"]),
            cmek=bool(entry.get("cmek", True)),
            validation_share_of_training=_share(name, entry.get("validationShareOfTraining")),
            max_training_examples_text=(entry.get("maxTrainingExamples") or {}).get("text"),
            max_training_examples_multimodal=(
                entry.get("maxTrainingExamples") or {}).get("multimodal"),
            sources=tuple(str(s) for s in entry.get("sources", ())),
            default_epoch_count=entry.get("defaultEpochCount"),
        )
        for name, entry in raw.items()
    }
    return Catalog(models=models)


def _stage(name: str, stage: object) -> str:
    if stage not in STAGES:
        raise ValueError(f"model {name}: stage {stage!r} is not one of {sorted(STAGES)}")
    return str(stage)


def _share(name: str, share: object) -> float | None:
    if share is None:
        return None
    if not isinstance(share, int | float) or not 0 < share <= 1:
        raise ValueError(f"model {name}: validationShareOfTraining {share!r} is not in (0, 1]")
    return float(share)


@cache
def default_catalog() -> Catalog:
    """The catalog shipped in the package (read once per process).

    Read beside this module rather than through `importlib.resources`, which imports tempfile,
    zipfile and more: a few milliseconds of `validate`'s start-up (issue 31). A package run from
    a zip archive has no such file, and reads it through `importlib.resources` after all.
    """
    path = Path(__file__).with_name("catalog.yaml")
    if path.is_file():
        text = path.read_text(encoding="utf-8")
    else:
        from importlib import resources

        text = resources.files(__package__).joinpath("catalog.yaml").read_text(encoding="utf-8")
    return parse_catalog(yaml.load(text, Loader=yaml.CSafeLoader))
