"""The metrics reads over the v1 REST paths the GAPIC REST transport uses.

GET only, as Vertex maps them: `…/metadataStores/*/contexts/*` (GetContext),
`…/metadataStores/*/contexts` (ListContexts), `…/experiments/*/runs` (ListTensorboardRuns),
`…/runs/*/timeSeries` (ListTensorboardTimeSeries), `…/tensorboards/*:batchRead?timeSeries=…`
and `…/timeSeries/*:read`. Translation only; the semantics are `MetricsService`'s.
"""

from __future__ import annotations

import re
from typing import Any

from google.cloud import aiplatform_v1

from tuning_operator.emulator.metrics import MetricsService

_SEGMENT = "[^/:]+"
_STORE = rf"projects/{_SEGMENT}/locations/{_SEGMENT}/metadataStores/{_SEGMENT}"
_BOARD = rf"projects/{_SEGMENT}/locations/{_SEGMENT}/tensorboards/{_SEGMENT}"
_RUN = rf"{_BOARD}/experiments/{_SEGMENT}/runs/{_SEGMENT}"
_GET_CONTEXT = re.compile(rf"^/v1/(?P<name>{_STORE}/contexts/{_SEGMENT})$")
_LIST_CONTEXTS = re.compile(rf"^/v1/(?P<parent>{_STORE})/contexts$")
_LIST_RUNS = re.compile(rf"^/v1/(?P<parent>{_BOARD}/experiments/{_SEGMENT})/runs$")
_LIST_SERIES = re.compile(rf"^/v1/(?P<parent>{_RUN})/timeSeries$")
_BATCH_READ = re.compile(rf"^/v1/(?P<tensorboard>{_BOARD}):batchRead$")
_READ = re.compile(rf"^/v1/(?P<series>{_RUN}/timeSeries/{_SEGMENT}):read$")


def _first(query: dict[str, list[str]], *names: str) -> str:
    for name in names:
        if query.get(name):
            return query[name][0]
    return ""


def route(metrics: MetricsService, method: str, path: str, query: dict[str, list[str]]) -> Any:
    """The answer message for a metrics path, or None when `path` is not one."""
    if method != "GET":
        return None
    v1 = aiplatform_v1
    token = _first(query, "pageToken", "page_token")
    if match := _GET_CONTEXT.match(path):
        return metrics.get_context(v1.GetContextRequest(name=match["name"]))
    if match := _LIST_CONTEXTS.match(path):
        return metrics.list_contexts(v1.ListContextsRequest(
            parent=match["parent"], filter=_first(query, "filter"), page_token=token))
    if match := _LIST_RUNS.match(path):
        return metrics.list_tensorboard_runs(
            v1.ListTensorboardRunsRequest(parent=match["parent"], page_token=token))
    if match := _LIST_SERIES.match(path):
        return metrics.list_tensorboard_time_series(
            v1.ListTensorboardTimeSeriesRequest(parent=match["parent"], page_token=token))
    if match := _BATCH_READ.match(path):
        names = query.get("timeSeries") or query.get("time_series") or []
        return metrics.batch_read_tensorboard_time_series_data(
            v1.BatchReadTensorboardTimeSeriesDataRequest(
                tensorboard=match["tensorboard"], time_series=names))
    if match := _READ.match(path):
        limit = _first(query, "maxDataPoints", "max_data_points") or "0"
        return metrics.read_tensorboard_time_series_data(
            v1.ReadTensorboardTimeSeriesDataRequest(
                tensorboard_time_series=match["series"], max_data_points=int(limit)))
    return None
