"""The emulated GenAiTuningService as both transports see it: count, inject faults, then work.

The gRPC and REST servers are thin adapters over this one object, so a fault, a ghost create
or a call count behaves the same whichever transport the client picked. It must never encode
anything transport-specific (status codes stay `ApiError`, messages stay aiplatform_v1 types).
"""

from __future__ import annotations

import grpc
from google.cloud import aiplatform_v1

from tuning_operator.emulator.faults import CallLedger, FaultInjector
from tuning_operator.emulator.status import ApiError
from tuning_operator.emulator.store import JobStore

GHOST_MESSAGE = "Deadline expired before operation could complete."


class CountedService:
    """A service over the job store whose every call is counted, then maybe faulted."""

    def __init__(self, store: JobStore, *, faults: FaultInjector, ledger: CallLedger) -> None:
        self.store = store
        self.faults = faults
        self.ledger = ledger

    def _enter(self, method: str) -> None:
        self.ledger.count(method)
        self.faults.before(method)


class TuningService(CountedService):
    """The emulated GenAiTuningService: a job store behind fault injection and a call ledger."""

    def create_tuning_job(
        self, request: aiplatform_v1.CreateTuningJobRequest
    ) -> aiplatform_v1.TuningJob:
        self._enter("CreateTuningJob")
        created = self.store.create(request.parent, request.tuning_job)
        if self.faults.ghost_due():
            # Committed, yet the caller hears a timeout: only a List can tell it the job exists.
            raise ApiError(grpc.StatusCode.DEADLINE_EXCEEDED, GHOST_MESSAGE)
        return created

    def get_tuning_job(self, request: aiplatform_v1.GetTuningJobRequest) -> aiplatform_v1.TuningJob:
        self._enter("GetTuningJob")
        return self.store.get(request.name)

    def list_tuning_jobs(
        self, request: aiplatform_v1.ListTuningJobsRequest
    ) -> aiplatform_v1.ListTuningJobsResponse:
        self._enter("ListTuningJobs")
        return self.store.list(request)

    def cancel_tuning_job(self, request: aiplatform_v1.CancelTuningJobRequest) -> None:
        self._enter("CancelTuningJob")
        self.store.cancel(request.name)
