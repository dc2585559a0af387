"""The operator's adapter to Vertex AI tuning jobs (real Vertex or the emulator, over the wire).

Public surface: `VertexTuningJobs` (list_managed / create / cancel / get), `ListResult`,
`VertexMetrics` (read_curves: a job's loss curves from its Experiment's TensorBoard),
`RequestBudget` (the client-side rate limiter), and the helpers that build clients. The
reconciler talks to Vertex only through this package; it must never import the emulator.
"""

from __future__ import annotations

from tuning_operator.vertex.budget import RequestBudget
from tuning_operator.vertex.clients import RegionalClients, emulator_factory, vertex_client
from tuning_operator.vertex.jobs import PAGE_SIZE, ListResult, VertexTuningJobs, default_retry
from tuning_operator.vertex.mapping import managed_or_active_filter
from tuning_operator.vertex.metrics import VertexMetrics

__all__ = [
    "PAGE_SIZE",
    "ListResult",
    "RegionalClients",
    "RequestBudget",
    "VertexMetrics",
    "VertexTuningJobs",
    "default_retry",
    "emulator_factory",
    "managed_or_active_filter",
    "vertex_client",
]
