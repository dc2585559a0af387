"""The catalog's per-model rules applied to one job spec: adapter size, region, encryption key.

One place says what a model forbids, so `validate` (the loader), the planner (for a job whose
region is the operator's default) and the messages agree. Each message names the catalog rule
it breaks and how to fix it. The emulator states the same rules in Vertex's words
(emulator/validation.py) from the same catalog entry. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tuning_operator.specs.catalog import BaseModel
from tuning_operator.specs.model import TUNED_MODEL, Spec

RULE_REGIONS = "allowed regions"
RULE_CMEK = "CMEK not supported"
RULE_ADAPTER_SIZES = "adapter sizes"

_TUNED_MODEL = re.compile(TUNED_MODEL)


def region_problem(model: BaseModel, region: str) -> str | None:
    """Why `model` cannot tune in `region`, or None when it can."""
    if model.allows_region(region):
        return None
    allowed = ", ".join(model.regions or ())
    return (f"{model.name} tunes only in {allowed} (catalog rule: {RULE_REGIONS}); {region} is"
            f" not one of them: set `spec.region` to one of {allowed}")


def model_problems(spec: Spec, model: BaseModel, *, field: str = "baseModel") -> Iterator[str]:
    """Every catalog rule of `model` that `spec` breaks (its region only when it names one)."""
    hyper = spec.hyper_parameters
    if hyper is not None and hyper.adapter_size is not None:
        size = hyper.adapter_size
        if not model.adapter_sizes:
            yield (f"`spec.hyperParameters.adapterSize`: {model.name} takes no adapter size"
                   f" (catalog rule: {RULE_ADAPTER_SIZES}); remove it")
        elif size not in model.adapter_sizes:
            allowed = ", ".join(str(s) for s in model.adapter_sizes)
            yield (f"`spec.hyperParameters.adapterSize`: {size} is not allowed for {model.name}"
                   f" (catalog rule: {RULE_ADAPTER_SIZES}); use one of {allowed} (default"
                   f" {model.default_adapter_size})")
    if spec.region is not None and (problem := region_problem(model, spec.region)):
        yield f"`spec.region`: {problem}"
    if spec.encryption_key is not None and not model.cmek:
        via = "" if field == "baseModel" else f" (the base model of `spec.{field}`)"
        yield (f"`spec.encryptionKey`: {model.name}{via} does not support customer-managed"
               f" encryption keys (catalog rule: {RULE_CMEK}); remove `encryptionKey` or use a"
               " model that supports CMEK")


def tuned_model_region(name: str) -> str | None:
    """The region in a tuned model's resource name (None when it is not one)."""
    match = _TUNED_MODEL.match(name)
    return match.group(1) if match else None
