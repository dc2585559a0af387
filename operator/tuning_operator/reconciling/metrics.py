"""Prometheus metrics and the /metrics, /healthz, /readyz endpoints.

Each operator owns its own registry (no global state), so tests and several operators in one
process never mix their numbers.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, Histogram, Info, generate_latest
from prometheus_client import Counter as PromCounter

from tuning_operator.judging.diagnosis import Diagnosis
from tuning_operator.planning.model import Phase


class OperatorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.jobs = Gauge("tuning_operator_jobs", "Jobs by phase", ["phase"],
                          registry=self.registry)
        self.duration = Histogram("tuning_operator_reconcile_seconds", "Reconcile pass duration",
                                  registry=self.registry)
        self.calls = PromCounter("tuning_operator_vertex_calls", "Vertex calls by method",
                                 ["method"], registry=self.registry)
        self.errors = PromCounter("tuning_operator_vertex_errors",
                                  "Failed Vertex calls and lists", registry=self.registry)
        self.queue = Gauge("tuning_operator_queue_depth", "Jobs waiting for quota",
                           registry=self.registry)
        self.watch_restarts = PromCounter("tuning_operator_watch_restarts",
                                          "Times the directory watch failed and was restarted",
                                          registry=self.registry)
        self.revision = Info("tuning_operator_applied_revision",
                             "Commit of the jobs directory the last pass reconciled"
                             " (empty: not a git work tree)", registry=self.registry)
        self.leader = Gauge("tuning_operator_leader",
                            "1 while this process holds the lease and runs passes, 0 on standby",
                            registry=self.registry)
        self.loss = Gauge("tuning_operator_last_loss",
                          "Last training / validation loss read from each job's curves",
                          ["job", "series"], registry=self.registry)
        self.ready = False
        self.healthy = True

    def losses(self, diagnoses: Mapping[str, Diagnosis | None]) -> None:
        """The final losses of each job's last diagnosis (jobs retired since are dropped)."""
        self.loss.clear()
        for job, diagnosis in diagnoses.items():
            if diagnosis is None:
                continue
            for series, value in (("train", diagnosis.final_train_loss),
                                  ("validation", diagnosis.final_eval_loss)):
                if isinstance(value, int | float):
                    self.loss.labels(job=job, series=series).set(value)

    def observe(self, *, duration: float, calls: Mapping[str, int], errors: int,
                phases: Counter[str], ready: bool = True,
                revision: str | None = None) -> None:
        """One pass's figures; a pass that could not reach Vertex or its state is not ready."""
        self.duration.observe(duration)
        self.revision.info({"revision": revision or ""})
        for method, count in calls.items():
            self.calls.labels(method=method).inc(count)
        self.errors.inc(errors)
        for phase in Phase:
            self.jobs.labels(phase=phase.value).set(phases.get(phase.value, 0))
        self.queue.set(phases.get(Phase.WAITING.value, 0))
        self.leader.set(1)
        self.ready = ready

    def standby(self) -> None:
        """Another replica holds the lease: this one is ready to take over, not idle by fault.

        Without this a standby would never be ready, and a StatefulSet rollout would wait on it.
        """
        self.leader.set(0)
        self.ready = True

    def serve(self, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
        metrics = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._send(200, generate_latest(metrics.registry), "text/plain; version=0.0.4")
                elif self.path == "/healthz":
                    self._send(200 if metrics.healthy else 503, b"ok\n", "text/plain")
                elif self.path == "/readyz":
                    self._send(200 if metrics.ready else 503,
                               b"ready\n" if metrics.ready else b"not ready\n", "text/plain")
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _send(self, code: int, body: bytes, content_type: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                del args

        server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
        return server
