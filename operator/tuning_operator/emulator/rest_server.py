"""The emulated service over the v1 REST paths, plus the emulator's admin endpoint.

Speaks what the GAPIC REST transport sends: camelCase JSON bodies (enums as numbers or names),
`filter` / `pageSize` / `pageToken` query parameters, and answers errors with Google's JSON
error body and the matching HTTP status, so `google.api_core.exceptions.from_http_response`
raises the same family as over gRPC. The metrics reads (`rest_metrics`) share the port. Admin
paths live under `/emulator/` (see `AdminRoutes`).
This module only translates; it holds no state of its own.
"""

from __future__ import annotations

import errno
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import grpc
import orjson
from google.cloud import aiplatform_v1
from google.protobuf import json_format

from tuning_operator.emulator import rest_metrics, rest_models
from tuning_operator.emulator.admin import AdminRoutes
from tuning_operator.emulator.autorater import EvaluationService
from tuning_operator.emulator.metrics import MetricsService
from tuning_operator.emulator.models import ModelService
from tuning_operator.emulator.ports import PortInUse
from tuning_operator.emulator.prediction import PredictionService
from tuning_operator.emulator.service import TuningService
from tuning_operator.emulator.status import ApiError, invalid_argument

_COLLECTION = re.compile(r"^/v1/(?P<parent>projects/[^/]+/locations/[^/]+)/tuningJobs$")
_JOB = re.compile(r"^/v1/(?P<name>projects/[^/]+/locations/[^/]+/tuningJobs/[^/:]+)$")
_CANCEL = re.compile(r"^/v1/(?P<name>projects/[^/]+/locations/[^/]+/tuningJobs/[^/:]+):cancel$")
_GENERATE = re.compile(r"^/v1/(?P<model>[^:]+):generateContent$")
_EVALUATE = re.compile(r"^/v1/(?P<location>projects/[^/]+/locations/[^/:]+):evaluateInstances$")

Reply = tuple[int, dict[str, Any] | bytes]


def _message_json(message: Any, *, numeric_enums: bool) -> bytes:
    pb = type(message).pb(message)
    text: str = json_format.MessageToJson(pb, indent=None, use_integers_for_enums=numeric_enums)
    return text.encode()


def _request_body(message_type: Any, body: bytes) -> Any:
    """A request message from its JSON body; INVALID_ARGUMENT as Vertex words it."""
    try:
        return message_type.from_json(body.decode() or "{}", ignore_unknown_fields=True)
    except (json_format.ParseError, UnicodeDecodeError) as error:
        raise invalid_argument(f"Invalid JSON payload received. {error}") from None


def _first(query: dict[str, list[str]], *names: str) -> str:
    for name in names:
        if query.get(name):
            return query[name][0]
    return ""


class _RestApi:
    """Routes one REST request to the service; returns (HTTP status, body)."""

    def __init__(self, service: TuningService, prediction: PredictionService | None = None,
                 metrics: MetricsService | None = None,
                 evaluation: EvaluationService | None = None,
                 models: ModelService | None = None) -> None:
        self._service = service
        self._prediction = prediction
        self._metrics = metrics
        self._evaluation = evaluation
        self._models = models

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        # The GAPIC REST transport asks for `$alt=json;enum-encoding=int`; Vertex then answers
        # enums as numbers, which is exactly where a by-number mapping bug would show.
        numeric = "enum-encoding=int" in _first(query, "$alt")
        status, message = self._route(method, path, query, body)
        if message is None:
            return status, {}
        return status, _message_json(message, numeric_enums=numeric)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, Any]:
        if method == "POST" and (match := _COLLECTION.fullmatch(path)):
            return self._create(match["parent"], body)
        if method == "GET" and (match := _COLLECTION.fullmatch(path)):
            return self._list(match["parent"], query)
        if method == "GET" and (match := _JOB.fullmatch(path)):
            request = aiplatform_v1.GetTuningJobRequest(name=match["name"])
            return 200, self._service.get_tuning_job(request)
        if method == "POST" and self._prediction and (match := _GENERATE.fullmatch(path)):
            return self._generate(match["model"], body)
        if method == "POST" and self._evaluation and (match := _EVALUATE.fullmatch(path)):
            return self._evaluate(match["location"], body)
        if method == "POST" and (match := _CANCEL.fullmatch(path)):
            self._service.cancel_tuning_job(
                aiplatform_v1.CancelTuningJobRequest(name=match["name"])
            )
            return 200, None
        if self._models is not None:
            model = rest_models.route(self._models, method, path, query, body)
            if model is not None:
                return 200, model
        if self._metrics is not None:
            answer = rest_metrics.route(self._metrics, method, path, query)
            if answer is not None:
                return 200, answer
        raise ApiError(grpc.StatusCode.NOT_FOUND, f"The URL {method} {path} does not exist.")

    def _create(self, parent: str, body: bytes) -> tuple[int, Any]:
        try:
            job = aiplatform_v1.TuningJob.from_json(
                body.decode() or "{}", ignore_unknown_fields=True
            )
        except (json_format.ParseError, UnicodeDecodeError) as error:
            raise invalid_argument(f"Invalid JSON payload received. {error}") from None
        request = aiplatform_v1.CreateTuningJobRequest(parent=parent, tuning_job=job)
        return 200, self._service.create_tuning_job(request)

    def _generate(self, model: str, body: bytes) -> tuple[int, Any]:
        assert self._prediction is not None
        request = _request_body(aiplatform_v1.GenerateContentRequest, body)
        request.model = model
        return 200, self._prediction.generate_content(request)

    def _evaluate(self, location: str, body: bytes) -> tuple[int, Any]:
        assert self._evaluation is not None
        request = _request_body(aiplatform_v1.EvaluateInstancesRequest, body)
        request.location = location
        return 200, self._evaluation.evaluate_instances(request)

    def _list(self, parent: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        size_text = _first(query, "pageSize", "page_size") or "0"
        try:
            size = int(size_text)
        except ValueError:
            raise invalid_argument(f"Invalid value at 'page_size': {size_text!r}.") from None
        request = aiplatform_v1.ListTuningJobsRequest(
            parent=parent,
            filter=_first(query, "filter"),
            page_size=size,
            page_token=_first(query, "pageToken", "page_token"),
        )
        return 200, self._service.list_tuning_jobs(request)


def _handler_class(api: _RestApi, admin: AdminRoutes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "tuning-operator-vertex-emulator"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            query = parse_qs(parts.query)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            payload: dict[str, Any] | list[Any] | bytes
            try:
                if path.startswith(AdminRoutes.PREFIX):
                    status, payload = admin.handle(self.command, path, body)
                else:
                    status, payload = api.handle(self.command, path, query, body)
            except ApiError as error:
                status, payload = error.http_status, error.rest_body()
            data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: tests and benchmarks read counts from the ledger, not from logs."""

    return Handler


class _ExclusiveHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server that never shares its port (no SO_REUSEPORT; see `ports`)."""

    allow_reuse_port = False  # explicit: the default of socketserver may change


class RestFront:
    """A threaded HTTP server for one TuningService (and PredictionService) and admin routes."""

    def __init__(
        self,
        service: TuningService,
        *,
        admin: AdminRoutes,
        host: str,
        port: int,
        prediction: PredictionService | None = None,
        metrics: MetricsService | None = None,
        evaluation: EvaluationService | None = None,
        models: ModelService | None = None,
    ) -> None:
        handler = _handler_class(_RestApi(service, prediction, metrics, evaluation, models), admin)
        try:
            self._server = _ExclusiveHTTPServer((host, port), handler)
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
                reason = "already in use" if error.errno == errno.EADDRINUSE else (
                    f"not available ({error.strerror})")
                raise PortInUse(host, port, "REST", reason) from None
            raise
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self.endpoint = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="vertex-emulator-rest",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5.0)
        self._server.server_close()
