"""Dataset pre-flight: catch before merge what Vertex would reject hours later.

Public surface: `check_dataset` (one streaming pass per file, local or gs://) returns a
`DatasetReport` (verdict, capped findings with exact totals, statistics, recommended
hyperparameters); `recommend` resolves `hyperParameters: {preset: recommended}`;
`convert_gemini_api` rewrites the Gemini API format for Vertex. This package imports only
`tuning_operator.specs` and `tuning_operator.errors` from the operator, and google-cloud-storage
only when a gs:// URI is read.
"""

from tuning_operator.datasets.findings import (
    DatasetRole,
    Finding,
    FindingKind,
    FindingTotal,
    Severity,
)
from tuning_operator.datasets.objects import DatasetNotFound, DatasetObject, DatasetObjects
from tuning_operator.datasets.preflight import CheckOptions, DatasetCheckCache, check_dataset
from tuning_operator.datasets.recommend import Recommendation, recommend
from tuning_operator.datasets.report import (
    DatasetFileReport,
    DatasetFormat,
    DatasetReport,
    Verdict,
)
from tuning_operator.datasets.stats import DatasetStats

__all__ = [
    "CheckOptions",
    "DatasetCheckCache",
    "DatasetFileReport",
    "DatasetFormat",
    "DatasetNotFound",
    "DatasetObject",
    "DatasetObjects",
    "DatasetReport",
    "DatasetRole",
    "DatasetStats",
    "Finding",
    "FindingKind",
    "FindingTotal",
    "Recommendation",
    "Severity",
    "Verdict",
    "check_dataset",
    "recommend",
]
