"""The whole emulator in one object: gRPC + REST + admin on loopback ports, as a context manager.

`tuning-operator emulator` runs it until SIGTERM; tests and the embedded default of
`tuning-operator run` use it in-process:

    with VertexEmulator(job_seconds=5, state_file=path, max_active=3) as emu:
        emu.grpc_endpoint   # "127.0.0.1:PORT"
        emu.rest_endpoint   # "http://127.0.0.1:PORT"

Everything it depends on (clock, random source, catalog) is passed in or built here, once per
emulator; there is no module-level state, so several emulators can run in one process.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tuning_operator.emulator.admin import AdminRoutes
from tuning_operator.emulator.autorater import (
    EvaluationService,
    ScriptedAutorater,
    load_autorater,
)
from tuning_operator.emulator.faults import CallLedger, FaultInjector, FaultSettings
from tuning_operator.emulator.grpc_server import GrpcFront
from tuning_operator.emulator.metrics import MetricsService
from tuning_operator.emulator.models import ModelService
from tuning_operator.emulator.prediction import PredictionService, ScriptedAnswers, load_scripts
from tuning_operator.emulator.rest_server import RestFront
from tuning_operator.emulator.service import TuningService
from tuning_operator.emulator.store import JobStore, StoreSettings
from tuning_operator.emulator.training_data import TrainingDataReader
from tuning_operator.specs.catalog import Catalog, default_catalog


@dataclass(frozen=True)
class EmulatorSettings:
    """Everything `tuning-operator emulator` takes on its command line."""

    host: str = "127.0.0.1"
    port: int = 0  # gRPC; 0: a free port
    rest_port: int = 0  # REST and admin; 0: a free port
    job_seconds: float = 60.0
    cancel_seconds: float = 1.0
    max_active: int | None = None
    quota_scope: str = "global"  # "global": one count per project across regions; "region"
    fault_rate: float = 0.0
    ghost_create_rate: float = 0.0
    latency_ms: float = 0.0
    state_file: Path | None = None
    seed: int | None = None
    answers_file: Path | None = None  # scripted GenerateContent answers (JSON list)
    autorater_file: Path | None = None  # scripted EvaluateInstances scores (JSON list)
    # Count each job's training file for its tuning_data_stats when a Cloud Storage emulator
    # serves it: at `storage_host`, or (None) at STORAGE_EMULATOR_HOST when the job is created.
    read_training_data: bool = True
    storage_host: str | None = None

    def __post_init__(self) -> None:
        if self.job_seconds < 0 or self.cancel_seconds < 0:
            raise ValueError("job_seconds and cancel_seconds must be >= 0")
        if self.max_active is not None and self.max_active < 0:
            raise ValueError("max_active must be >= 0")


class VertexEmulator:
    """A running emulated GenAiTuningService (start/stop, or use `with`)."""

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
        catalog: Catalog | None = None,
        **overrides: Any,
    ) -> None:
        self.settings = replace(settings or EmulatorSettings(), **overrides)
        s = self.settings
        rng = random.Random(s.seed)
        self.faults = FaultInjector(
            FaultSettings(
                fault_rate=s.fault_rate,
                ghost_create_rate=s.ghost_create_rate,
                latency_ms=s.latency_ms,
            ),
            rng=rng,
        )
        self.ledger = CallLedger()
        self.store = JobStore(
            StoreSettings(
                job_seconds=s.job_seconds, cancel_seconds=s.cancel_seconds,
                max_active=s.max_active, quota_scope=s.quota_scope,
            ),
            catalog=catalog or default_catalog(),
            clock=clock,
            rng=rng,
            state_file=s.state_file,
            training_data=TrainingDataReader(host=s.storage_host) if s.read_training_data
            else None,
        )
        service = TuningService(self.store, faults=self.faults, ledger=self.ledger)
        self.answers = ScriptedAnswers(load_scripts(s.answers_file) if s.answers_file else None)
        prediction = PredictionService(self.store, catalog=catalog or default_catalog(),
                                       answers=self.answers, faults=self.faults,
                                       ledger=self.ledger)
        metrics = MetricsService(self.store, faults=self.faults, ledger=self.ledger)
        self.autorater = ScriptedAutorater(
            load_autorater(s.autorater_file) if s.autorater_file else None)
        evaluation = EvaluationService(autorater=self.autorater, faults=self.faults,
                                       ledger=self.ledger)
        models = ModelService(self.store, faults=self.faults, ledger=self.ledger)
        # REST first: an HTTP server that never started frees its port on close, an unstarted
        # gRPC server does not; so a port in use on either side leaves no port held.
        rest = RestFront(
            service, admin=AdminRoutes(self.faults, self.ledger, self.answers,
                                       active=self.store.active_summary,
                                       autorater=self.autorater),
            host=s.host, port=s.rest_port, prediction=prediction, metrics=metrics,
            evaluation=evaluation,
            models=models,
        )
        try:
            self._grpc = GrpcFront(service, host=s.host, port=s.port, metrics=metrics,
                                   prediction=prediction, evaluation=evaluation,
                                   models=models)
        except OSError:
            rest.stop()
            raise
        self._rest = rest
        self._started = False

    @property
    def grpc_endpoint(self) -> str:
        """HOST:PORT for an insecure gRPC channel (the operator's --vertex-endpoint)."""
        return self._grpc.endpoint

    @property
    def rest_endpoint(self) -> str:
        """http://HOST:PORT for the REST transport's api_endpoint and the admin routes."""
        return self._rest.endpoint

    def calls(self) -> dict[str, int]:
        """Calls per RPC method that reached the emulator so far (both transports)."""
        return self.ledger.snapshot()

    def reset_calls(self) -> None:
        self.ledger.reset()

    def start(self) -> VertexEmulator:
        if not self._started:
            self._grpc.start()
            self._rest.start()
            self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self._rest.stop()
            self._grpc.stop()
            self._started = False

    def __enter__(self) -> VertexEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
