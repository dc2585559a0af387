"""`VertexMetrics`: a tuning job's loss curves, read from its Vertex AI Experiment's TensorBoard.

Metrics are not on the TuningJob; `TuningJob.experiment` names a metadata Context (a Vertex AI
Experiment). The path, as the Vertex SDK walks it (`aiplatform.Experiment`, its runs,
`TensorboardRun.read_time_series_data`):
1. MetadataService.GetContext(experiment): its metadata `backing_tensorboard_resource` names the
   TensorBoard;
2. MetadataService.ListContexts(`schema_title="system.ExperimentRun" AND parent_contexts:"…"`):
   the experiment's run;
3. TensorboardService.ListTensorboardRuns(`{tensorboard}/experiments/{experiment id}`): the
   TensorBoard run of that run (its id is the run's, with or without the `{experiment}-` prefix
   the SDK puts on run contexts; a lone run is taken as is);
4. TensorboardService.ListTensorboardTimeSeries(run) and BatchReadTensorboardTimeSeriesData.
Steps 1–3 are resolved once per experiment and cached, so a read costs two requests. Every
request is paced by the RequestBudget, retried like the job adapter's idempotent calls, and
fails as an error of `tuning_operator.errors`. This module never judges the curves.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from google.api_core import retry as api_retry
from google.cloud import aiplatform_v1

from tuning_operator.errors import NotFound, PermanentError, TemporaryError
from tuning_operator.judging.curves import TAGS, Curves, Point
from tuning_operator.vertex.budget import RequestBudget
from tuning_operator.vertex.clients import (
    RegionalAdapter,
    RegionalClients,
    Transport,
    emulator_service_factory,
    vertex_service_factory,
)
from tuning_operator.vertex.failures import translate
from tuning_operator.vertex.jobs import default_retry

BACKING_TENSORBOARD_KEY = "backing_tensorboard_resource"  # the SDK's Experiment metadata key
EXPERIMENT_RUN_SCHEMA = "system.ExperimentRun"
BATCH_READ_SIZE = 20  # series per BatchRead, as the SDK's TensorboardRun sends them
NOT_YET_RETRY_AFTER = 60.0  # an experiment without its run or TensorBoard yet: look again later
_EXPERIMENT = re.compile(
    r"^(?P<store>projects/[^/]+/locations/(?P<region>[^/]+)/metadataStores/[^/]+)"
    r"/contexts/(?P<id>[^/]+)$"
)
T = TypeVar("T")


@dataclass(frozen=True)
class _Run:
    tensorboard: str  # projects/{p}/locations/{l}/tensorboards/{t}
    name: str  # {tensorboard}/experiments/{e}/runs/{r}


class VertexMetrics(RegionalAdapter):
    """Reads `Curves` of tuning jobs over aiplatform_v1 Metadata and Tensorboard clients."""

    def __init__(
        self,
        *,
        metadata: RegionalClients,
        tensorboard: RegionalClients,
        budget: RequestBudget,
        retry: api_retry.Retry | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._metadata = metadata
        self._tensorboard = tensorboard
        self._budget = budget
        self._retry = retry or default_retry()
        self._timeout = timeout
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self.calls = 0  # requests sent, retries included (for pacing tests and /metrics)

    @classmethod
    def for_vertex(cls, *, budget: RequestBudget, **options: Any) -> VertexMetrics:
        """Real Vertex: application default credentials, regional endpoints."""
        return cls(
            metadata=RegionalClients(vertex_service_factory(aiplatform_v1.MetadataServiceClient)),
            tensorboard=RegionalClients(
                vertex_service_factory(aiplatform_v1.TensorboardServiceClient)
            ),
            budget=budget,
            **options,
        )

    @classmethod
    def for_emulator(
        cls,
        endpoint: str,
        *,
        budget: RequestBudget,
        transport: Transport = "grpc",
        **options: Any,
    ) -> VertexMetrics:
        """The emulator at HOST:PORT (its gRPC port; REST: http://HOST:PORT)."""
        metadata = emulator_service_factory(
            aiplatform_v1.MetadataServiceClient, endpoint, transport=transport
        )
        tensorboard = emulator_service_factory(
            aiplatform_v1.TensorboardServiceClient, endpoint, transport=transport
        )
        return cls(
            metadata=RegionalClients(metadata),
            tensorboard=RegionalClients(tensorboard),
            budget=budget,
            **options,
        )

    def read_curves(self, experiment: str) -> Curves:
        """Every point of the six series the job's experiment holds so far (missing: absent)."""
        match = _EXPERIMENT.match(experiment)
        if match is None:
            raise PermanentError(
                f"{experiment!r} is not an experiment context"
                " (projects/{p}/locations/{l}/metadataStores/{store}/contexts/{id})"
            )
        region = match["region"]
        run = self._resolved(experiment, match)
        try:
            return self._read(region, run)
        except NotFound:
            self.forget(experiment)  # the cached run is gone: resolve it again next time
            raise

    def _read(self, region: str, run: _Run) -> Curves:
        client = self._tensorboard.for_region(region)
        series = {
            ts.name: ts.display_name
            for ts in self._pages(
                region,
                f"list time series of {run.name}",
                lambda token: client.list_tensorboard_time_series(
                    request={"parent": run.name, "page_token": token},
                    retry=None,
                    timeout=self._timeout,
                ),
                lambda page: page.tensorboard_time_series,
            )
            if ts.display_name in TAGS
        }
        by_id = {name.rsplit("/", 1)[1]: tag for name, tag in series.items()}
        names = list(series)
        found: dict[str, tuple[Point, ...]] = {}
        for start in range(0, len(names), BATCH_READ_SIZE):
            request = aiplatform_v1.BatchReadTensorboardTimeSeriesDataRequest(
                tensorboard=run.tensorboard, time_series=names[start : start + BATCH_READ_SIZE]
            )
            answer = self._call(
                region,
                f"read time series of {run.name}",
                partial(
                    client.batch_read_tensorboard_time_series_data,
                    request=request,
                    retry=None,
                    timeout=self._timeout,
                ),
            )
            # The raw protobuf: proto-plus attribute access costs ~50 µs a point.
            for data in type(answer).pb(answer).time_series_data:
                tag = by_id.get(data.tensorboard_time_series_id)
                if tag is not None:
                    found[tag] = tuple(Point(p.step, p.scalar.value) for p in data.values)
        return Curves(found)

    def forget(self, experiment: str) -> None:
        """Drop the cached run of an experiment (its job is told and forgotten)."""
        with self._lock:
            self._runs.pop(experiment, None)

    def _resolved(self, experiment: str, match: re.Match[str]) -> _Run:
        with self._lock:
            cached = self._runs.get(experiment)
        if cached is not None:
            return cached
        region, experiment_id = match["region"], match["id"]
        metadata = self._metadata.for_region(region)
        context = self._call(
            region,
            f"get experiment {experiment}",
            lambda: metadata.get_context(name=experiment, retry=None, timeout=self._timeout),
        )
        tensorboard = str(context.metadata.get(BACKING_TENSORBOARD_KEY) or "")
        if not tensorboard:
            raise TemporaryError(
                f"experiment {experiment} has no backing TensorBoard yet",
                retry_after=NOT_YET_RETRY_AFTER,
            )
        run_filter = (
            f'schema_title="{EXPERIMENT_RUN_SCHEMA}" AND parent_contexts:"{experiment}"'
        )
        run_ids = {
            context.name.rsplit("/", 1)[1]
            for context in self._pages(
                region,
                f"list runs of {experiment}",
                lambda token: metadata.list_contexts(
                    request={"parent": match["store"], "filter": run_filter, "page_token": token},
                    retry=None,
                    timeout=self._timeout,
                ),
                lambda page: page.contexts,
            )
        }
        wanted = run_ids | {run.removeprefix(f"{experiment_id}-") for run in run_ids}
        board = self._tensorboard.for_region(region)
        parent = f"{tensorboard}/experiments/{experiment_id}"
        runs = [
            run.name
            for run in self._pages(
                region,
                f"list TensorBoard runs of {parent}",
                lambda token: board.list_tensorboard_runs(
                    request={"parent": parent, "page_token": token},
                    retry=None,
                    timeout=self._timeout,
                ),
                lambda page: page.tensorboard_runs,
            )
        ]
        chosen = [name for name in runs if name.rsplit("/", 1)[1] in wanted]
        if not chosen and len(runs) == 1:
            chosen = runs
        if len(chosen) != 1:
            raise TemporaryError(
                f"experiment {experiment}: {len(runs)} TensorBoard runs, {len(run_ids)} experiment"
                " runs; none matches yet",
                retry_after=NOT_YET_RETRY_AFTER,
            )
        resolved = _Run(tensorboard=tensorboard, name=chosen[0])
        with self._lock:
            self._runs[experiment] = resolved
        return resolved

    def _pages(
        self,
        region: str,
        action: str,
        fetch: Callable[[str], Any],
        items: Callable[[Any], Any],
    ) -> Iterator[Any]:
        """Every item of a paged List, each page one budgeted, retried request."""
        token = ""
        while True:
            page = self._call(region, action, partial(fetch, token))
            yield from items(page)
            token = page.next_page_token
            if not token:
                return

    def _call(self, region: str, action: str, call: Callable[[], T]) -> T:
        def attempt() -> T:
            self._budget.spend(region)
            with self._lock:
                self.calls += 1
            return call()

        try:
            return self._retry(attempt)()
        except Exception as error:
            raise translate(error, action=action) from error

    def close(self) -> None:
        self._metadata.close()
        self._tensorboard.close()

