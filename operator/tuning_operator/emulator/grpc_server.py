"""The emulated service over gRPC, with the message types google-cloud-aiplatform ships.

The GAPIC package has no `*_pb2_grpc` servicer, so the tuning methods (and the metadata and
TensorBoard reads of a job's metrics) are registered with generic handlers under the real
service names, serialized with the proto-plus classes the client
itself uses. No hand-written protos. This module only translates; it holds no state.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from google.cloud import aiplatform_v1
from google.protobuf import empty_pb2

from tuning_operator.emulator.autorater import EvaluationService
from tuning_operator.emulator.metrics import MetricsService
from tuning_operator.emulator.models import ModelService
from tuning_operator.emulator.ports import PortInUse, ensure_port_free
from tuning_operator.emulator.prediction import PredictionService
from tuning_operator.emulator.service import TuningService
from tuning_operator.emulator.status import ApiError

SERVICE_NAME = "google.cloud.aiplatform.v1.GenAiTuningService"
PREDICTION_SERVICE_NAME = "google.cloud.aiplatform.v1.PredictionService"
EVALUATION_SERVICE_NAME = "google.cloud.aiplatform.v1.EvaluationService"
METADATA_SERVICE = "google.cloud.aiplatform.v1.MetadataService"
TENSORBOARD_SERVICE = "google.cloud.aiplatform.v1.TensorboardService"
MODEL_SERVICE = "google.cloud.aiplatform.v1.ModelService"


def _unary(
    work: Callable[[Any], Any], request_type: Any, response_serializer: Callable[[Any], bytes]
) -> grpc.RpcMethodHandler:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return work(request)
        except ApiError as error:
            context.abort(error.code, error.message)

    return grpc.unary_unary_rpc_method_handler(
        handle,
        request_deserializer=request_type.deserialize,
        response_serializer=response_serializer,
    )


def _cancel(service: TuningService) -> Callable[[Any], empty_pb2.Empty]:
    def cancel(request: aiplatform_v1.CancelTuningJobRequest) -> empty_pb2.Empty:
        service.cancel_tuning_job(request)
        return empty_pb2.Empty()

    return cancel


def service_handler(service: TuningService) -> grpc.GenericRpcHandler:
    """The GenAiTuningService methods the emulator implements, as one generic handler."""
    job = aiplatform_v1.TuningJob.serialize
    return grpc.method_handlers_generic_handler(
        SERVICE_NAME,
        {
            "CreateTuningJob": _unary(
                service.create_tuning_job, aiplatform_v1.CreateTuningJobRequest, job
            ),
            "GetTuningJob": _unary(service.get_tuning_job, aiplatform_v1.GetTuningJobRequest, job),
            "ListTuningJobs": _unary(
                service.list_tuning_jobs,
                aiplatform_v1.ListTuningJobsRequest,
                aiplatform_v1.ListTuningJobsResponse.serialize,
            ),
            "CancelTuningJob": _unary(
                _cancel(service),
                aiplatform_v1.CancelTuningJobRequest,
                empty_pb2.Empty.SerializeToString,
            ),
        },
    )


def _one_method(service: str, method: str, work: Callable[[Any], Any], request_type: Any,
                response_type: Any) -> grpc.GenericRpcHandler:
    """A service of which the emulator implements one method."""
    return grpc.method_handlers_generic_handler(
        service, {method: _unary(work, request_type, response_type.serialize)})


def prediction_handler(prediction: PredictionService) -> grpc.GenericRpcHandler:
    """PredictionService.GenerateContent, the one prediction method the emulator implements."""
    return _one_method(PREDICTION_SERVICE_NAME, "GenerateContent", prediction.generate_content,
                       aiplatform_v1.GenerateContentRequest,
                       aiplatform_v1.GenerateContentResponse)


def evaluation_handler(evaluation: EvaluationService) -> grpc.GenericRpcHandler:
    """EvaluationService.EvaluateInstances (pointwise and pairwise metric inputs)."""
    return _one_method(EVALUATION_SERVICE_NAME, "EvaluateInstances",
                       evaluation.evaluate_instances, aiplatform_v1.EvaluateInstancesRequest,
                       aiplatform_v1.EvaluateInstancesResponse)


def metrics_handlers(metrics: MetricsService) -> tuple[grpc.GenericRpcHandler, ...]:
    """The MetadataService and TensorboardService methods that reading metrics needs."""
    v1 = aiplatform_v1
    metadata = grpc.method_handlers_generic_handler(
        METADATA_SERVICE,
        {
            "GetContext": _unary(metrics.get_context, v1.GetContextRequest, v1.Context.serialize),
            "ListContexts": _unary(
                metrics.list_contexts,
                v1.ListContextsRequest,
                v1.ListContextsResponse.serialize,
            ),
        },
    )
    tensorboard = grpc.method_handlers_generic_handler(
        TENSORBOARD_SERVICE,
        {
            "ListTensorboardRuns": _unary(
                metrics.list_tensorboard_runs,
                v1.ListTensorboardRunsRequest,
                v1.ListTensorboardRunsResponse.serialize,
            ),
            "ListTensorboardTimeSeries": _unary(
                metrics.list_tensorboard_time_series,
                v1.ListTensorboardTimeSeriesRequest,
                v1.ListTensorboardTimeSeriesResponse.serialize,
            ),
            "BatchReadTensorboardTimeSeriesData": _unary(
                metrics.batch_read_tensorboard_time_series_data,
                v1.BatchReadTensorboardTimeSeriesDataRequest,
                v1.BatchReadTensorboardTimeSeriesDataResponse.serialize,
            ),
            "ReadTensorboardTimeSeriesData": _unary(
                metrics.read_tensorboard_time_series_data,
                v1.ReadTensorboardTimeSeriesDataRequest,
                v1.ReadTensorboardTimeSeriesDataResponse.serialize,
            ),
        },
    )
    return metadata, tensorboard


def models_handler(models: ModelService) -> grpc.GenericRpcHandler:
    """The ModelService methods promoting an alias needs."""
    v1 = aiplatform_v1
    return grpc.method_handlers_generic_handler(
        MODEL_SERVICE,
        {
            "GetModel": _unary(models.get_model, v1.GetModelRequest, v1.Model.serialize),
            "ListModelVersions": _unary(
                models.list_model_versions,
                v1.ListModelVersionsRequest,
                v1.ListModelVersionsResponse.serialize,
            ),
            "MergeVersionAliases": _unary(
                models.merge_version_aliases, v1.MergeVersionAliasesRequest, v1.Model.serialize
            ),
        },
    )


class GrpcFront:
    """A gRPC server for one TuningService, its metrics and predictions, on a loopback port."""

    def __init__(
        self,
        service: TuningService,
        *,
        host: str,
        port: int,
        workers: int = 8,
        metrics: MetricsService | None = None,
        prediction: PredictionService | None = None,
        evaluation: EvaluationService | None = None,
        models: ModelService | None = None,
    ) -> None:
        if port:
            ensure_port_free(host, port, "gRPC")
        # gRPC sets SO_REUSEPORT by default: a second emulator on the same port would start and
        # split the calls with the first. Vertex has one service per address; so has this.
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers),
                                   options=[("grpc.so_reuseport", 0)])
        handlers = [service_handler(service)]
        if metrics is not None:
            handlers.extend(metrics_handlers(metrics))
        if prediction is not None:
            handlers.append(prediction_handler(prediction))
        if evaluation is not None:
            handlers.append(evaluation_handler(evaluation))
        if models is not None:
            handlers.append(models_handler(models))
        self._server.add_generic_rpc_handlers(handlers)
        try:
            self.port: int = self._server.add_insecure_port(f"{host}:{port}")
        except RuntimeError:  # grpcio ≥ 1.52 raises where older versions returned 0
            self.port = 0
        if self.port == 0:
            raise PortInUse(host, port, "gRPC")
        self.endpoint = f"{host}:{self.port}"

    def start(self) -> None:
        self._server.start()

    def stop(self, grace: float = 1.0) -> None:
        self._server.stop(grace).wait(timeout=grace + 5.0)
