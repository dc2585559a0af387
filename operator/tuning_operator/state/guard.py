"""Is the state directory still there and writable? Asked before a pass acts.

Every create needs a durable intent and every action an audit line. If the directory vanished
(`rm -rf`), was replaced, became read-only or filled up, the operator must not act without a
record: the pass stops loudly and acts on nothing. A vanished or replaced directory is not
"back" by itself (the outbox and the trail lived in it), so that case is fatal: the operator
leaves word and exits, and the next start rebuilds from Vertex with every create fenced.
"""

from __future__ import annotations

import os
from pathlib import Path

from tuning_operator.errors import OperatorError


class StateUnwritable(OperatorError):
    """The state directory is there but cannot take a write now (full, read-only): wait."""


class StateLost(OperatorError):
    """The state directory vanished or was replaced under the running operator: exit."""


class StateDirectory:
    PROBE = ".probe"

    def __init__(self, path: Path) -> None:
        self.path = path
        st = os.stat(path)
        self._identity = (st.st_dev, st.st_ino)

    def check(self) -> None:
        """Raise StateLost or StateUnwritable unless a durable write works right now."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise StateLost(f"the state directory {self.path} was removed under the running"
                            " operator") from None
        if (st.st_dev, st.st_ino) != self._identity:
            raise StateLost(f"the state directory {self.path} was replaced under the running"
                            " operator")
        probe = self.path / self.PROBE
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, b"probe\n")
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise StateUnwritable(f"the state directory {self.path} cannot be written ({why});"
                                  " nothing is done until it can") from exc
