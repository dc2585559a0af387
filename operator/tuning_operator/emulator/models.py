"""The emulated ModelService: GetModel, ListModelVersions and MergeVersionAliases.

Just what promoting an alias needs, over the Model versions the emulator's own tuning jobs
register (`registry`): the gRPC and REST fronts call these methods with the real aiplatform_v1
messages, and every call is counted and may be faulted like the tuning calls. It never stores
anything itself.
"""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from google.cloud import aiplatform_v1

from tuning_operator.emulator.registry import ModelVersion
from tuning_operator.emulator.service import CountedService
from tuning_operator.emulator.status import ApiError, invalid_argument

MAX_PAGE_SIZE = 100


class ModelService(CountedService):
    """The ModelService methods the operator calls, over the job store's registry."""

    def get_model(self, request: aiplatform_v1.GetModelRequest) -> aiplatform_v1.Model:
        self._enter("GetModel")
        self.store.sync_models()
        version = self.store.models.resolve(request.name)
        if version is None:
            raise ApiError(grpc.StatusCode.NOT_FOUND, f"Model {request.name} not found.")
        return self._message(version, name=version.model)

    def list_model_versions(
        self, request: aiplatform_v1.ListModelVersionsRequest
    ) -> aiplatform_v1.ListModelVersionsResponse:
        self._enter("ListModelVersions")
        if request.page_size < 0:
            raise invalid_argument(f"page_size must not be negative, got {request.page_size}.")
        self.store.sync_models()
        versions = self.store.models.versions(request.name)
        start = int(request.page_token) if request.page_token.isdigit() else 0
        size = min(request.page_size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
        page = versions[start:start + size]
        token = str(start + size) if start + size < len(versions) else ""
        return aiplatform_v1.ListModelVersionsResponse(
            models=[self._message(v, name=v.name) for v in page], next_page_token=token)

    def merge_version_aliases(
        self, request: aiplatform_v1.MergeVersionAliasesRequest
    ) -> aiplatform_v1.Model:
        self._enter("MergeVersionAliases")
        self.store.sync_models()
        version = self.store.models.merge(request.name, list(request.version_aliases))
        return self._message(version, name=version.model)

    def _message(self, version: ModelVersion, *, name: str) -> aiplatform_v1.Model:
        created = datetime.fromtimestamp(version.created_at, tz=UTC)
        return aiplatform_v1.Model(
            name=name, version_id=version.version_id, display_name=version.display_name,
            version_aliases=self.store.models.aliases_of(version),
            version_create_time=created, create_time=created, update_time=created)
