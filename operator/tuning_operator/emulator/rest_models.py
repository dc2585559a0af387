"""The ModelService paths over v1 REST, as the GAPIC REST transport sends them.

`GET …/models/ID[@REF]` (GetModel), `GET …/models/ID:listVersions` (ListModelVersions) and
`POST …/models/ID@VERSION:mergeVersionAliases` (body `{"versionAliases": […]}`). Translation
only; the semantics are `ModelService`'s.
"""

from __future__ import annotations

import re
from typing import Any

from google.cloud import aiplatform_v1
from google.protobuf import json_format

from tuning_operator.emulator.models import ModelService
from tuning_operator.emulator.status import invalid_argument

_MODEL = r"projects/[^/:]+/locations/[^/:]+/models/[^/:]+"
_GET = re.compile(rf"^/v1/(?P<name>{_MODEL})$")
_LIST = re.compile(rf"^/v1/(?P<name>{_MODEL}):listVersions$")
_MERGE = re.compile(rf"^/v1/(?P<name>{_MODEL}):mergeVersionAliases$")


def route(models: ModelService, method: str, path: str, query: dict[str, list[str]],
          body: bytes) -> Any:
    """The answer message for a ModelService path, or None when `path` is not one."""
    v1 = aiplatform_v1
    if method == "GET" and (match := _GET.fullmatch(path)):
        return models.get_model(v1.GetModelRequest(name=match["name"]))
    if method == "GET" and (match := _LIST.fullmatch(path)):
        size = (query.get("pageSize") or query.get("page_size") or ["0"])[0]
        token = (query.get("pageToken") or query.get("page_token") or [""])[0]
        return models.list_model_versions(v1.ListModelVersionsRequest(
            name=match["name"], page_size=int(size) if size.isdigit() else 0, page_token=token))
    if method == "POST" and (match := _MERGE.fullmatch(path)):
        try:
            request = v1.MergeVersionAliasesRequest.from_json(
                body.decode() or "{}", ignore_unknown_fields=True)
        except (json_format.ParseError, UnicodeDecodeError) as error:
            raise invalid_argument(f"Invalid JSON payload received. {error}") from None
        request.name = match["name"]
        return models.merge_version_aliases(request)
    return None
