"""The emulator's admin endpoint: read call counts and change faults while it runs.

Served on the REST port under `/emulator/` (JSON in, JSON out; camelCase like the API):

    GET  /emulator/healthz                  → {"ok": true}
    GET  /emulator/calls                    → {"CreateTuningJob": n, …} (both transports;
                                              metrics and prediction methods once called)
    GET  /emulator/active                   → {"projects": {P: {"active": n, "peak": m,
                                               "regions": {REGION: k}}}}: jobs holding a
                                               quota slot now, and the most at once so far
    POST /emulator/calls:reset              → {}
    GET  /emulator/faults                   → current settings and pending faults
    POST /emulator/faults                   {"faultRate", "ghostCreateRate", "latencyMs"}, any
    POST /emulator/faults:failNext          {"method": "ListTuningJobs", "code": "UNAVAILABLE",
                                             "times": 2} (any tuning or metrics method)
    POST /emulator/faults:ghostNextCreates  {"times": 1}
    POST /emulator/faults:clear             → {} (rates, latency and scripted faults to zero)
    GET  /emulator/answers                  → the scripted answers of GenerateContent
    POST /emulator/answers                  [{"model", "answers", "default"}, …] (replaces all)
    GET  /emulator/usage                    → {"input": n, "output": m}: the usage_metadata
                                              tokens of every GenerateContent answered, in all
    GET  /emulator/autorater                → the scripted scores of EvaluateInstances
    POST /emulator/autorater                [{"metric", "scores", "default"}, …] (replaces all)

Admin calls are not counted and never faulted. This module must never change jobs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import orjson

from tuning_operator.emulator.autorater import ScriptedAutorater, parse_autorater
from tuning_operator.emulator.faults import CallLedger, FaultInjector
from tuning_operator.emulator.prediction import ScriptedAnswers, parse_scripts
from tuning_operator.emulator.status import ApiError, invalid_argument

Reply = tuple[int, dict[str, Any]]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class AdminRoutes:
    """Admin requests for one emulator's fault injector and call ledger."""

    PREFIX = "/emulator/"

    def __init__(self, faults: FaultInjector, ledger: CallLedger,
                 answers: ScriptedAnswers | None = None, *,
                 active: Callable[[], dict[str, Any]] | None = None,
                 autorater: ScriptedAutorater | None = None) -> None:
        self._faults = faults
        self._ledger = ledger
        self._answers = answers
        self._active = active or dict
        self._autorater = autorater

    def handle(self, method: str, path: str, body: bytes) -> Reply | tuple[int, list[Any]]:
        route = (method, path.removeprefix(self.PREFIX))
        try:
            if route[1] == "answers" and self._answers is not None:
                return self._answer_route(route[0], body)
            if route == ("GET", "usage") and self._answers is not None:
                return 200, self._answers.billed()
            if route[1] == "autorater" and self._autorater is not None:
                return self._autorater_route(route[0], body)
            return self._route(route, self._document(body))
        except (ValueError, TypeError) as error:
            raise invalid_argument(str(error)) from None

    def _route(self, route: tuple[str, str], document: dict[str, Any]) -> Reply:
        if route == ("GET", "healthz"):
            return 200, {"ok": True}
        if route == ("GET", "calls"):
            return 200, dict(self._ledger.snapshot())
        if route == ("GET", "active"):
            return 200, {"projects": self._active()}
        if route == ("POST", "calls:reset"):
            self._ledger.reset()
            return 200, {}
        if route == ("GET", "faults"):
            return 200, self._described()
        if route == ("POST", "faults"):
            self._faults.configure(
                fault_rate=_number(document, "faultRate"),
                ghost_create_rate=_number(document, "ghostCreateRate"),
                latency_ms=_number(document, "latencyMs"),
            )
            return 200, self._described()
        if route == ("POST", "faults:failNext"):
            self._faults.fail_next(
                str(document.get("method", "")),
                str(document.get("code", "")),
                times=int(document.get("times", 1)),
                message=str(document.get("message", "")),
            )
            return 200, self._described()
        if route == ("POST", "faults:ghostNextCreates"):
            self._faults.ghost_next_creates(int(document.get("times", 1)))
            return 200, self._described()
        if route == ("POST", "faults:clear"):
            self._faults.clear()
            return 200, {}
        raise ApiError(grpc.StatusCode.NOT_FOUND, f"no admin route {route[0]} {route[1]}")

    def _answer_route(self, method: str, body: bytes) -> Reply | tuple[int, list[Any]]:
        assert self._answers is not None
        if method == "POST":
            self._answers.replace(parse_scripts(self._list(body)))
        return 200, self._answers.describe()

    def _autorater_route(self, method: str, body: bytes) -> tuple[int, list[Any]]:
        assert self._autorater is not None
        if method == "POST":
            self._autorater.replace(parse_autorater(self._list(body)))
        return 200, self._autorater.describe()

    @staticmethod
    def _list(body: bytes) -> Any:
        """A script route's body: JSON (an empty body is no script)."""
        try:
            return orjson.loads(body or b"[]")
        except orjson.JSONDecodeError as error:
            raise invalid_argument(f"admin body is not JSON: {error}") from None

    def _described(self) -> dict[str, Any]:
        return {_camel(key): value for key, value in self._faults.describe().items()}

    @staticmethod
    def _document(body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise invalid_argument(f"admin body is not JSON: {error}") from None
        if not isinstance(document, dict):
            raise invalid_argument("admin body must be a JSON object")
        return document


def _number(document: dict[str, Any], key: str) -> float | None:
    value = document.get(key)
    return None if value is None else float(value)
