"""The job file format, the model catalog and the directory loader (no cloud imports here)."""

from tuning_operator.specs.catalog import BaseModel, Catalog, default_catalog
from tuning_operator.specs.diagnostics import SpecError
from tuning_operator.specs.loader import (
    DirectoryLoad,
    LoadCache,
    LoadedJob,
    load_jobs_dir,
)
from tuning_operator.specs.model import API_VERSION, TuningJob, json_schema
from tuning_operator.specs.policy import Policy, TeamPolicy

__all__ = [
    "API_VERSION",
    "BaseModel",
    "Catalog",
    "DirectoryLoad",
    "LoadCache",
    "LoadedJob",
    "Policy",
    "SpecError",
    "TeamPolicy",
    "TuningJob",
    "default_catalog",
    "json_schema",
    "load_jobs_dir",
]
