"""`VertexModels`: the Model Registry calls a promotion needs, through the GAPIC client.

- `merge_aliases(version, aliases)`: one MergeVersionAliases on `…/models/ID@VERSION`
  (`-alias` removes). Idempotent (adding an alias a version has, or removing one it lacks,
  changes nothing), so it is retried like a Get, and a promotion cut by a crash is simply sent
  again by the next pass.
- `aliases_of(model)`: the aliases on each version of a Model (ListModelVersions), to check
  what Vertex holds.
Models live in the job's region: one client per region (the same one for an emulator). Every
call is paced by the RequestBudget; failures leave as errors of `tuning_operator.errors`. This
class never decides whether to move an alias.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from google.api_core import retry as api_retry
from google.cloud import aiplatform_v1

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

T = TypeVar("T")


def region_of_model(name: str) -> str:
    """`projects/P/locations/L/models/…` → L."""
    parts = name.split("/")
    return parts[3] if len(parts) > 3 and parts[2] == "locations" else ""


class VertexModels(RegionalAdapter):
    """The operator's Model Registry adapter, over aiplatform_v1.ModelServiceClient."""

    def __init__(self, *, clients: RegionalClients, budget: RequestBudget,
                 retry: api_retry.Retry | None = None, timeout: float = 30.0) -> None:
        self._clients = clients
        self._budget = budget
        self._retry = retry or default_retry()
        self._timeout = timeout

    @classmethod
    def for_vertex(cls, *, budget: RequestBudget, **options: Any) -> VertexModels:
        """Real Vertex: application default credentials, regional endpoints."""
        clients = RegionalClients(vertex_service_factory(aiplatform_v1.ModelServiceClient))
        return cls(clients=clients, budget=budget, **options)

    @classmethod
    def for_emulator(cls, endpoint: str, *, budget: RequestBudget,
                     transport: Transport = "grpc", **options: Any) -> VertexModels:
        """An emulator at HOST:PORT, over gRPC or REST."""
        clients = RegionalClients(emulator_service_factory(
            aiplatform_v1.ModelServiceClient, endpoint, transport=transport))
        return cls(clients=clients, budget=budget, **options)

    def merge_aliases(self, version: str, aliases: Sequence[str]) -> list[str]:
        """MergeVersionAliases on `version` (`…@VERSION`); the aliases it carries after."""
        region = region_of_model(version)
        client = self._clients.for_region(region)
        model = self._call(region, f"merge aliases {list(aliases)} on {version}",
                           lambda: client.merge_version_aliases(
                               name=version, version_aliases=list(aliases), retry=None,
                               timeout=self._timeout))
        return list(model.version_aliases)

    def aliases_of(self, model: str) -> dict[str, list[str]]:
        """Each version id of `model` (`…/models/ID`) → the aliases it carries."""
        region = region_of_model(model)
        client = self._clients.for_region(region)
        versions: dict[str, list[str]] = {}
        token = ""
        while True:
            request = aiplatform_v1.ListModelVersionsRequest(name=model, page_token=token)
            # Only the pager's first response is used: each page goes through budget and retry.
            page = self._call(region, f"list versions of {model}", partial(
                client.list_model_versions, request=request, retry=None, timeout=self._timeout))
            for version in page.models:
                versions[version.version_id] = list(version.version_aliases)
            token = page.next_page_token
            if not token:
                return versions


    def _call(self, region: str, action: str, call: Callable[[], T]) -> T:
        def attempt() -> T:
            self._budget.spend(region)
            return call()

        try:
            return self._retry(attempt)()
        except Exception as error:
            raise translate(error, action=action) from error
