"""When the operator last reached Vertex, and why it has failed since: `operator.json`.

`status` reads it offline, so an on-call engineer sees at once that the phases shown are stale
because Vertex could not be listed. Written after a pass only when its content changed, or at
most once a minute for the time of the last contact (no fsync storm on warm passes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from tuning_operator.state.store import write_atomically

FILE = "operator.json"
REFRESH_SECONDS = 60.0


class _Contact(Protocol):
    """The reconciler's status view (`status.StatusView`): read, never written."""

    @property
    def vertex_reached(self) -> float | None: ...

    @property
    def vertex_failing(self) -> tuple[float, str] | None: ...


class VertexHealth:
    def __init__(self, state_dir: Path, status: _Contact) -> None:
        self.path = state_dir / FILE
        self.status = status
        self._written: dict[str, Any] | None = None

    def document(self) -> dict[str, Any]:
        failing = self.status.vertex_failing
        return {"vertexLastReached": self.status.vertex_reached,
                "vertexFailingSince": failing[0] if failing else None,
                "vertexError": failing[1] if failing else None}

    def write(self) -> None:
        document = self.document()
        last = self._written
        if last is not None and {**last, "vertexLastReached": None} == {
                **document, "vertexLastReached": None} and (
                (document["vertexLastReached"] or 0) - (last["vertexLastReached"] or 0)
                < REFRESH_SECONDS):
            return
        try:
            write_atomically(self.path, json.dumps(document))
        except OSError:
            return  # the pass itself reports an unwritable state directory
        self._written = document


def read_health(state_dir: Path) -> dict[str, Any]:
    try:
        document = json.loads((state_dir / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}
