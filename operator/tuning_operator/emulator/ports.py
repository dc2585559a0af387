"""Listening ports that belong to one emulator only: a port in use is refused, never shared.

gRPC's default (SO_REUSEPORT) would let a second emulator start on a port the first one holds,
and the kernel would then split the connections between them: an operator creating a job on one
and listing on the other creates duplicates. So neither listener sets SO_REUSEPORT, and a port
in use is checked before gRPC binds it (gRPC's own refusal also writes a log line to stderr; the
check makes the refusal one clean line). SO_REUSEADDR stays on, as for any server: it only lets
a restarted emulator take its port back from connections in TIME_WAIT, and Linux still refuses a
port another socket listens on. This module holds no state.
"""

from __future__ import annotations

import errno
import socket


class PortInUse(OSError):
    """A port another process (or another emulator) already listens on."""

    def __init__(self, host: str, port: int, what: str, reason: str = "already in use") -> None:
        super().__init__(errno.EADDRINUSE, f"{what} port {port} on {host} is {reason}")
        self.host = host
        self.port = port

    def __str__(self) -> str:
        return str(self.strerror)


def ensure_port_free(host: str, port: int, what: str) -> None:
    """Raise PortInUse when `host:port` cannot be bound without SO_REUSEPORT right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            reason = "already in use" if error.errno == errno.EADDRINUSE else (
                f"not available ({error.strerror})")
            raise PortInUse(host, port, what, reason) from None
