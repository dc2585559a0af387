"""Building aiplatform_v1 clients (tuning, metadata, TensorBoard): per region, or one emulator.

Real Vertex: application default credentials and the regional endpoint
`{region}-aiplatform.googleapis.com` (tuning jobs live in the region's endpoint), one client per
region, created on first use. Emulator: an insecure gRPC channel to HOST:PORT (setting only
`api_endpoint` would make a TLS channel and fail), or the REST transport on `http://HOST:PORT`
with anonymous credentials; one client serves every region. Nothing here makes a call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Literal, Self

import grpc
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform_v1

Transport = Literal["grpc", "rest"]
ClientFactory = Callable[[str], Any]  # region → aiplatform_v1.GenAiTuningServiceClient


def vertex_service_factory(client_class: Any) -> ClientFactory:
    """Real Vertex: region → a `client_class` (e.g. aiplatform_v1.TensorboardServiceClient)."""
    return lambda region: client_class(
        client_options={"api_endpoint": f"{region}-aiplatform.googleapis.com"}
    )


def emulator_service_factory(
    client_class: Any, endpoint: str, *, transport: Transport = "grpc"
) -> ClientFactory:
    """A factory that hands every region the same `client_class` client of the emulator."""
    host = endpoint.removeprefix("http://").rstrip("/")
    if transport == "grpc":
        grpc_transport = client_class.get_transport_class("grpc")
        client = client_class(transport=grpc_transport(channel=grpc.insecure_channel(host)))
    else:
        client = client_class(
            transport="rest",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": f"http://{host}"},
        )
    return lambda region: client


def vertex_client(region: str) -> Any:
    """A tuning client for real Vertex in `region` (application default credentials)."""
    return vertex_service_factory(aiplatform_v1.GenAiTuningServiceClient)(region)


def emulator_factory(endpoint: str, *, transport: Transport = "grpc") -> ClientFactory:
    """A factory that hands every region the same tuning client of the emulator at `endpoint`."""
    return emulator_service_factory(
        aiplatform_v1.GenAiTuningServiceClient, endpoint, transport=transport
    )


class RegionalClients:
    """One client per region, made by `factory` on first use; `close()` closes them all."""

    def __init__(self, factory: ClientFactory) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    def for_region(self, region: str) -> Any:
        with self._lock:
            if region not in self._clients:
                self._clients[region] = self._factory(region)
            return self._clients[region]

    def close(self) -> None:
        with self._lock:
            distinct = {id(client): client for client in self._clients.values()}
            self._clients.clear()
        for client in distinct.values():
            client.transport.close()


class RegionalAdapter:
    """What every Vertex adapter shares: closing its clients, and `with` to do it.

    An adapter keeps its clients in `_clients` (one per region) and may close more in an
    override of `close`.
    """

    _clients: RegionalClients

    def close(self) -> None:
        self._clients.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
