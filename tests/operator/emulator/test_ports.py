"""A port in use is refused: a second emulator never shares (and splits) the first one's calls."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.emulator_process import EmulatorProcess, sample_job
from tuning_operator.emulator import VertexEmulator
from tuning_operator.vertex.clients import emulator_factory

_CLI = "import sys; from tuning_operator.cli import main; sys.exit(main())"
PARENT = "projects/ports/locations/us-central1"


def _port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def _second_emulator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CLI, "emulator", *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False,
    )


@pytest.fixture(scope="module")
def first() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(job_seconds=60) as process:
        yield process


@pytest.mark.parametrize("which", ["grpc", "rest"])
def test_a_second_emulator_process_on_a_port_in_use_refuses(first: EmulatorProcess,
                                                            which: str) -> None:
    """Two real processes: the second exits 2 with one line naming the port; the first keeps
    every call (nothing is split between them)."""
    port = _port(first.grpc_endpoint if which == "grpc" else first.rest_endpoint)
    args = (f"--port={port}", "--rest-port=0") if which == "grpc" else (
        "--port=0", f"--rest-port={port}")
    second = _second_emulator(*args)
    assert second.returncode == 2, second.stderr
    assert second.stdout == ""  # never ready
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert str(port) in lines[0] and "in use" in lines[0]
    assert ("gRPC" if which == "grpc" else "REST") in lines[0]

    before = first.admin.calls().get("CreateTuningJob", 0)
    client = emulator_factory(first.grpc_endpoint)("us-central1")
    for _ in range(4):  # new connections each time: none may land anywhere but the first
        client.create_tuning_job(parent=PARENT, tuning_job=sample_job())
    client.transport.close()
    assert first.admin.calls()["CreateTuningJob"] == before + 4


def test_the_listeners_do_not_set_so_reuseport() -> None:
    """A plain socket without SO_REUSEPORT cannot bind either port while the emulator runs."""
    with VertexEmulator() as emulator:
        for endpoint in (emulator.grpc_endpoint, emulator.rest_endpoint):
            with socket.socket() as other:
                other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                with pytest.raises(OSError):
                    other.bind(("127.0.0.1", _port(endpoint)))


def test_in_process_a_port_in_use_is_an_os_error_that_frees_the_other_port() -> None:
    """VertexEmulator on a taken port raises PortInUse (an OSError) naming it; the port it had
    already bound for the other transport is released again."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with socket.socket() as finder:
            finder.bind(("127.0.0.1", 0))
            free = finder.getsockname()[1]
        with pytest.raises(OSError, match=f"REST port {taken} on 127.0.0.1 is already in use"):
            VertexEmulator(rest_port=taken)
        with pytest.raises(OSError, match=f"gRPC port {taken} on 127.0.0.1 is already in use"):
            VertexEmulator(port=taken, rest_port=free)
        with VertexEmulator(rest_port=free) as emulator:  # the failed one gave `free` back
            assert _port(emulator.rest_endpoint) == free
