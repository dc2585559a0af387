"""The model catalog: per base model, what supervised tuning accepts.

The numbers are data (catalog.yaml beside this file), never constants scattered in code: the
job validator, the Vertex emulator and the dataset pre-flight all read the same entry, so a
limit changes in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


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


@dataclass(frozen=True)
class Catalog:
    """Every known base model by name."""

    models: Mapping[str, BaseModel]

    def get(self, name: str) -> BaseModel | None:
        return self.models.get(name)

    def known(self) -> str:
        """The known model names, for error messages."""
        return ", ".join(sorted(self.models))


def parse_catalog(document: Mapping[str, object]) -> Catalog:
    """Build a catalog from its YAML document (the shape of catalog.yaml)."""
    raw = document["models"]
    assert isinstance(raw, Mapping)
    models = {
        name: BaseModel(
            name=name,
            generation=str(entry["generation"]),
            stage=entry["stage"],
            modalities=tuple(entry["modalities"]),
            adapter_sizes=tuple(entry["adapterSizes"]),
            default_adapter_size=entry["defaultAdapterSize"],
            max_tokens_per_example=entry["maxTokensPerExample"],
            max_validation_examples=entry["maxValidationExamples"],
            max_training_file_bytes=entry["maxTrainingFileBytes"],
        )
        for name, entry in raw.items()
    }
    return Catalog(models=models)


@cache
def default_catalog() -> Catalog:
    """The catalog shipped in the package (read once per process)."""
    text = resources.files(__package__).joinpath("catalog.yaml").read_text(encoding="utf-8")
    return parse_catalog(yaml.load(text, Loader=yaml.CSafeLoader))
