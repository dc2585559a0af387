"""The emulated MetadataService and TensorboardService calls that reading a job's metrics needs.

Exactly the path a client walks from `TuningJob.experiment` to the numbers (the Vertex SDK's
`Experiment` → its run → the backing TensorBoard run → `read_time_series_data`):
- MetadataService.GetContext (the experiment; its metadata names the backing TensorBoard),
- MetadataService.ListContexts (its runs: `schema_title="system.ExperimentRun" AND
  parent_contexts:"<experiment>"`),
- TensorboardService.ListTensorboardRuns, ListTensorboardTimeSeries,
  BatchReadTensorboardTimeSeriesData and ReadTensorboardTimeSeriesData.
Every call is counted and may be faulted like the tuning calls (`faults.METRICS_METHODS`).
Resources are derived from the jobs (`experiments`); nothing is stored here and nothing here is
transport-specific.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import grpc
from google.cloud import aiplatform_v1
from google.protobuf import struct_pb2, timestamp_pb2

from tuning_operator.emulator import experiments as exp
from tuning_operator.emulator.service import CountedService
from tuning_operator.emulator.status import ApiError, invalid_argument
from tuning_operator.emulator.timeline import JobRecord
from tuning_operator.judging.curves import TAGS

MAX_DATA_POINTS = 1000  # Vertex returns at most this many scalar points per series and read
READ_LIMIT = 10_000  # ReadTensorboardTimeSeriesData's max_data_points cannot exceed this
_LOCATION = r"(?P<location>projects/[^/]+/locations/[^/]+)"
_STORE = rf"^{_LOCATION}/metadataStores/default"
_CONTEXT = re.compile(rf"{_STORE}/contexts/{exp.EXPERIMENT_PREFIX}(?P<job>\d+)(?P<run>-.+)?$")
_STORE_NAME = re.compile(rf"{_STORE}$")
_TENSORBOARD = rf"^{_LOCATION}/tensorboards/{exp.TENSORBOARD_ID}"
_TB_EXPERIMENT = re.compile(rf"{_TENSORBOARD}/experiments/{exp.EXPERIMENT_PREFIX}(?P<job>\d+)$")
_TB_RUN = re.compile(
    rf"{_TENSORBOARD}/experiments/{exp.EXPERIMENT_PREFIX}(?P<job>\d+)/runs/{exp.RUN_ID}$"
)
_SERIES = re.compile(
    rf"{_TENSORBOARD}/experiments/{exp.EXPERIMENT_PREFIX}(?P<job>\d+)/runs/{exp.RUN_ID}"
    r"/timeSeries/(?P<index>\d+)$"
)
_FILTER_TERM = re.compile(r'^\s*(schema_title\s*=|parent_contexts\s*:)\s*"(?P<value>[^"]*)"\s*$')


def _timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(datetime.fromtimestamp(seconds, tz=UTC))
    return stamp


def _not_found(kind: str, name: str) -> ApiError:
    return ApiError(grpc.StatusCode.NOT_FOUND, f"{kind} {name} not found.")


class MetricsService(CountedService):
    """Experiments, runs and time series of the emulated tuning jobs, read-only."""

    def _running(self, location: str, job_id: str, kind: str, name: str) -> tuple[JobRecord, int]:
        """The job behind a resource and its visible steps; NOT_FOUND before it runs."""
        try:
            record, seen, now = self.store.observe_job(f"{location}/tuningJobs/{job_id}")
        except ApiError:
            raise _not_found(kind, name) from None
        if seen.start_time is None:
            raise _not_found(kind, name)
        return record, exp.visible_steps(record, seen, now)

    # -- MetadataService ------------------------------------------------------------------

    def _context(self, record: JobRecord, *, run: bool) -> aiplatform_v1.Context:
        started = datetime.fromtimestamp(record.created_at, tz=UTC)
        if run:
            return aiplatform_v1.Context(
                name=exp.run_context_name(record), display_name=exp.RUN_ID,
                schema_title=exp.SYSTEM_EXPERIMENT_RUN, schema_version="0.0.1",
                parent_contexts=[exp.experiment_name(record)], create_time=started,
                metadata=struct_pb2.Struct(fields={
                    "state": struct_pb2.Value(string_value="RUNNING")}),
            )
        tensorboard = exp.tensorboard_name(exp.location_of(record))
        return aiplatform_v1.Context(
            name=exp.experiment_name(record), display_name=exp.experiment_id(record),
            schema_title=exp.SYSTEM_EXPERIMENT, schema_version="0.0.1", create_time=started,
            metadata=struct_pb2.Struct(fields={
                exp.BACKING_TENSORBOARD_KEY: struct_pb2.Value(string_value=tensorboard)}),
        )

    def get_context(self, request: aiplatform_v1.GetContextRequest) -> aiplatform_v1.Context:
        self._enter("GetContext")
        match = _CONTEXT.match(request.name)
        if match is None:
            raise _not_found("Context", request.name)
        record, _ = self._running(match["location"], match["job"], "Context", request.name)
        if match["run"] not in (None, f"-{exp.RUN_ID}"):
            raise _not_found("Context", request.name)
        return self._context(record, run=match["run"] is not None)

    def list_contexts(
        self, request: aiplatform_v1.ListContextsRequest
    ) -> aiplatform_v1.ListContextsResponse:
        """Only the run lookup: `schema_title="…" AND parent_contexts:"<experiment>"`."""
        self._enter("ListContexts")
        if _STORE_NAME.match(request.parent) is None:
            raise _not_found("MetadataStore", request.parent)
        schema, parent = "", ""
        for term in request.filter.split(" AND ") if request.filter.strip() else ():
            found = _FILTER_TERM.match(term)
            if found is None:
                raise invalid_argument(f"Unsupported filter term {term.strip()!r}.")
            if found.group(1).startswith("schema_title"):
                schema = found["value"]
            else:
                parent = found["value"]
        match = _CONTEXT.match(parent)
        if not parent or match is None or match["run"] is not None:
            raise invalid_argument('The emulator lists runs only: filter by parent_contexts:"…".')
        try:
            record, _ = self._running(match["location"], match["job"], "Context", parent)
        except ApiError:
            return aiplatform_v1.ListContextsResponse()
        run = self._context(record, run=True)
        keep = schema in ("", exp.SYSTEM_EXPERIMENT_RUN)
        return aiplatform_v1.ListContextsResponse(contexts=[run] if keep else [])

    # -- TensorboardService ---------------------------------------------------------------

    def list_tensorboard_runs(
        self, request: aiplatform_v1.ListTensorboardRunsRequest
    ) -> aiplatform_v1.ListTensorboardRunsResponse:
        self._enter("ListTensorboardRuns")
        match = _TB_EXPERIMENT.match(request.parent)
        if match is None:
            raise _not_found("TensorboardExperiment", request.parent)
        record, _ = self._running(
            match["location"], match["job"], "TensorboardExperiment", request.parent
        )
        run = aiplatform_v1.TensorboardRun(
            name=exp.tensorboard_run_name(record), display_name=exp.RUN_ID
        )
        return aiplatform_v1.ListTensorboardRunsResponse(tensorboard_runs=[run])

    def list_tensorboard_time_series(
        self, request: aiplatform_v1.ListTensorboardTimeSeriesRequest
    ) -> aiplatform_v1.ListTensorboardTimeSeriesResponse:
        self._enter("ListTensorboardTimeSeries")
        match = _TB_RUN.match(request.parent)
        if match is None:
            raise _not_found("TensorboardRun", request.parent)
        record, _ = self._running(match["location"], match["job"], "TensorboardRun", request.parent)
        scalar = aiplatform_v1.TensorboardTimeSeries.ValueType.SCALAR
        return aiplatform_v1.ListTensorboardTimeSeriesResponse(tensorboard_time_series=[
            aiplatform_v1.TensorboardTimeSeries(
                name=exp.time_series_name(record, tag), display_name=tag, value_type=scalar,
                plugin_name="scalars",
            )
            for tag in exp.RunPlan.of(record).tags
        ])

    def _data(
        self, name: str, tensorboard: str | None = None, limit: int | None = MAX_DATA_POINTS
    ) -> aiplatform_v1.TimeSeriesData:
        match = _SERIES.match(name)
        if match is None or not 1 <= int(match["index"]) <= len(TAGS):
            raise _not_found("TensorboardTimeSeries", name)
        if tensorboard is not None and not name.startswith(f"{tensorboard}/"):
            raise invalid_argument(f"{name} is not a time series of {tensorboard}.")
        record, steps = self._running(
            match["location"], match["job"], "TensorboardTimeSeries", name
        )
        tag = TAGS[int(match["index"]) - 1]
        if tag not in exp.RunPlan.of(record).tags:
            raise _not_found("TensorboardTimeSeries", name)
        values = exp.points(record, tag, steps)
        if limit is not None and len(values) > limit:
            # Vertex picks the points at random; an even sample with the last step is kinder
            # to tests and keeps the shape.
            stride = len(values) / limit
            values = [values[len(values) - 1 - int(i * stride)] for i in range(limit)]
            values.reverse()
        # Built as raw protobuf: proto-plus construction costs ~50 µs a point.
        data = aiplatform_v1.TimeSeriesData.pb()(
            tensorboard_time_series_id=match["index"],
            value_type=aiplatform_v1.TensorboardTimeSeries.ValueType.SCALAR,
        )
        wall = _timestamp(record.created_at)
        for step, value in values:
            point = data.values.add(step=step)
            point.scalar.value = value
            point.wall_time.CopyFrom(wall)
        wrapped: aiplatform_v1.TimeSeriesData = aiplatform_v1.TimeSeriesData.wrap(data)
        return wrapped

    def batch_read_tensorboard_time_series_data(
        self, request: aiplatform_v1.BatchReadTensorboardTimeSeriesDataRequest
    ) -> aiplatform_v1.BatchReadTensorboardTimeSeriesDataResponse:
        self._enter("BatchReadTensorboardTimeSeriesData")
        if not request.time_series:
            raise invalid_argument("time_series must name at least one TensorboardTimeSeries.")
        return aiplatform_v1.BatchReadTensorboardTimeSeriesDataResponse(
            time_series_data=[self._data(name, request.tensorboard) for name in request.time_series]
        )

    def read_tensorboard_time_series_data(
        self, request: aiplatform_v1.ReadTensorboardTimeSeriesDataRequest
    ) -> aiplatform_v1.ReadTensorboardTimeSeriesDataResponse:
        self._enter("ReadTensorboardTimeSeriesData")
        asked = request.max_data_points
        if asked > READ_LIMIT or asked < -1:
            raise invalid_argument(
                f"max_data_points must be -1 (all) or 1..{READ_LIMIT}, got {asked}."
            )
        limit = None if asked == -1 else (asked or MAX_DATA_POINTS)
        return aiplatform_v1.ReadTensorboardTimeSeriesDataResponse(
            time_series_data=self._data(request.tensorboard_time_series, limit=limit)
        )
