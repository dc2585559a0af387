"""`VertexTuningJobs`: everything the operator asks of Vertex tuning jobs, through the GAPIC client.

- `list_managed(region)`: one filtered, paged List — the operator's jobs plus a count of active
  jobs it does not own (they use quota slots too). Never a Get per job.
- `create(job, team=, region=)`: one CreateTuningJob with the ownership labels, never retried
  here: a timeout becomes OutcomeUnknown and the caller re-lists before any new create.
- `cancel(name)`, `get(name)`: idempotent, retried with google-api-core Retry (backoff + jitter).
Every call is paced by the RequestBudget and every failure leaves as an error of
`tuning_operator.errors`. This class never decides *whether* to create or cancel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from google.api_core import retry as api_retry
from google.cloud import aiplatform_v1

from tuning_operator.errors import PermanentError
from tuning_operator.planning.model import ObservedJob
from tuning_operator.specs.model import HyperParameters, TuningJob
from tuning_operator.vertex.budget import RequestBudget
from tuning_operator.vertex.clients import (
    RegionalAdapter,
    RegionalClients,
    Transport,
    emulator_factory,
    vertex_client,
)
from tuning_operator.vertex.failures import RETRYABLE, translate
from tuning_operator.vertex.mapping import (
    managed_or_active_filter,
    observed_job,
    region_of,
    vertex_job,
)

PAGE_SIZE = 100  # the emulator's maximum; Vertex documents none for ListTuningJobs
T = TypeVar("T")


def default_retry(
    *, initial: float = 0.5, maximum: float = 8.0, timeout: float = 30.0
) -> api_retry.Retry:
    """Retry of idempotent calls: exponential backoff with full jitter, 30 s in total."""
    return api_retry.Retry(
        predicate=api_retry.if_exception_type(*RETRYABLE, OSError),
        initial=initial,
        maximum=maximum,
        multiplier=2.0,
        timeout=timeout,
    )


@dataclass(frozen=True)
class ListResult:
    """One List cycle of one region."""

    jobs: tuple[ObservedJob, ...]  # every job labelled managed-by=tuning-operator, any state
    active_unmanaged: int  # active jobs without that label: they hold quota slots
    list_calls: int  # List requests the cycle cost, retries included


class VertexTuningJobs(RegionalAdapter):
    """The operator's Vertex tuning-job adapter, over aiplatform_v1.GenAiTuningServiceClient."""

    def __init__(
        self,
        *,
        project: str,
        clients: RegionalClients,
        budget: RequestBudget,
        retry: api_retry.Retry | None = None,
        timeout: float = 30.0,
        create_timeout: float = 60.0,
        page_size: int = PAGE_SIZE,
        list_filter: str | None = None,
    ) -> None:
        self.project = project
        self._clients = clients
        self._budget = budget
        self._retry = retry or default_retry()
        self._timeout = timeout
        self._create_timeout = create_timeout
        self._page_size = page_size
        self.list_filter = managed_or_active_filter() if list_filter is None else list_filter

    @classmethod
    def for_vertex(cls, *, project: str, budget: RequestBudget, **options: Any) -> VertexTuningJobs:
        """Real Vertex: application default credentials, regional endpoints."""
        clients = RegionalClients(vertex_client)
        return cls(project=project, clients=clients, budget=budget, **options)

    @classmethod
    def for_emulator(
        cls,
        endpoint: str,
        *,
        project: str,
        budget: RequestBudget,
        transport: Transport = "grpc",
        **options: Any,
    ) -> VertexTuningJobs:
        """An emulator at HOST:PORT (`--vertex-endpoint`), over gRPC or REST."""
        clients = RegionalClients(emulator_factory(endpoint, transport=transport))
        return cls(project=project, clients=clients, budget=budget, **options)

    def parent(self, region: str) -> str:
        return f"projects/{self.project}/locations/{region}"

    def list_managed(self, region: str) -> ListResult:
        """The operator's jobs in `region` and the count of active jobs it does not own."""
        client = self._clients.for_region(region)
        parent = self.parent(region)
        seen: dict[str, ObservedJob] = {}
        calls = 0
        token = ""
        while True:
            request = aiplatform_v1.ListTuningJobsRequest(
                parent=parent, filter=self.list_filter, page_size=self._page_size, page_token=token
            )
            page, attempts = self._idempotent(
                region, f"list tuning jobs in {parent}", self._list_page(client, request)
            )
            calls += attempts
            for message in page.tuning_jobs:
                seen[message.name] = observed_job(message)
            token = page.next_page_token
            if not token:
                break
        managed = tuple(job for job in seen.values() if job.managed)
        unmanaged_active = sum(1 for job in seen.values() if not job.managed and job.active)
        return ListResult(jobs=managed, active_unmanaged=unmanaged_active, list_calls=calls)

    def _list_page(
        self, client: Any, request: aiplatform_v1.ListTuningJobsRequest
    ) -> Callable[[], Any]:
        # Only the pager's first response is used: each page goes through budget and retry.
        return lambda: client.list_tuning_jobs(request=request, retry=None, timeout=self._timeout)

    def get(self, name: str) -> ObservedJob:
        """One job by resource name (for status and tests; the cycle uses `list_managed`)."""
        region = region_of(name)
        client = self._clients.for_region(region)
        message, _ = self._idempotent(
            region,
            f"get {name}",
            lambda: client.get_tuning_job(name=name, retry=None, timeout=self._timeout),
        )
        return observed_job(message)

    def cancel(self, name: str) -> None:
        """Ask Vertex to cancel the job (best effort; it ends CANCELLED or finishes anyway)."""
        region = region_of(name)
        client = self._clients.for_region(region)
        self._idempotent(
            region,
            f"cancel {name}",
            lambda: client.cancel_tuning_job(name=name, retry=None, timeout=self._timeout),
        )

    def create(self, job: TuningJob, *, team: str, region: str,
               hyper_parameters: HyperParameters | None = None,
               pre_tuned_model: tuple[str, str | None] | None = None,
               evaluation_output: str | None = None) -> ObservedJob:
        """Create the Vertex job for `job`; one attempt (OutcomeUnknown: List, then decide).

        `pre_tuned_model`: (tuned model name, checkpoint id or None) resolved from
        `preTunedModel: {job: OTHER}`; required for that form, ignored with `baseModel`.
        `evaluation_output`: where Vertex writes an evaluation during tuning (when asked).
        """
        if job.spec.region is not None and job.spec.region != region:
            raise PermanentError(
                f"job {job.name} asks for region {job.spec.region} but create was called for"
                f" {region}"
            )
        request = aiplatform_v1.CreateTuningJobRequest(
            parent=self.parent(region),
            tuning_job=vertex_job(job, team=team, hyper_parameters=hyper_parameters,
                                  pre_tuned_model=pre_tuned_model,
                                  evaluation_output=evaluation_output),
        )
        client = self._clients.for_region(region)
        self._budget.spend(region, submission=True)
        try:
            created = client.create_tuning_job(
                request=request, retry=None, timeout=self._create_timeout
            )
        except Exception as error:
            raise translate(error, action=f"create {job.name} in {region}", create=True) from error
        return observed_job(created)


    def _idempotent(self, region: str, action: str, call: Callable[[], T]) -> tuple[T, int]:
        """Run `call` under the budget with retries; the result and the attempts it took."""
        attempts = 0

        def attempt() -> T:
            nonlocal attempts
            self._budget.spend(region)
            attempts += 1
            return call()

        try:
            return self._retry(attempt)(), attempts
        except Exception as error:
            raise translate(error, action=action) from error
