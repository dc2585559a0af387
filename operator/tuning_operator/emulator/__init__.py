"""A Vertex AI tuning-job emulator: the real GenAiTuningService over gRPC and REST, locally.

There is no public emulator for Vertex tuning jobs, and the operator must be tested with the
real google-cloud-aiplatform client over the wire; this package is that peer. Public surface:
`VertexEmulator` (in-process, a context manager) and `EmulatorSettings`; `tuning-operator
emulator` runs it as a process (the tests' helper for that is `tests.support.emulator_process`).
It must never be imported by the operator's Vertex adapter: the adapter talks to it only over
the wire, exactly as it talks to Vertex.
"""

from __future__ import annotations

from tuning_operator.emulator.experiments import CURVE_LABEL
from tuning_operator.emulator.faults import METHODS, METRICS_METHODS, FaultSettings
from tuning_operator.emulator.server import EmulatorSettings, VertexEmulator
from tuning_operator.emulator.store import (
    DEFAULT_PAGE_SIZE,
    DURATION_LABEL,
    MAX_PAGE_SIZE,
    OUTCOME_LABEL,
)

__all__ = [
    "CURVE_LABEL",
    "DEFAULT_PAGE_SIZE",
    "DURATION_LABEL",
    "MAX_PAGE_SIZE",
    "METHODS",
    "METRICS_METHODS",
    "OUTCOME_LABEL",
    "EmulatorSettings",
    "FaultSettings",
    "VertexEmulator",
]
