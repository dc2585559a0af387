"""`tuning-operator` killed with SIGKILL right after its first outbox append that holds events.

`python -m tests.support.crash run …` runs the real command in its own process; the one
change is that the process kills itself (a real kill -9: no handler, no flush, no atexit) once
a pass's events are durable in the outbox and before the status store is written, the window a
replay must survive without a new event id.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

from tuning_operator.cli import main
from tuning_operator.events.model import StatusEvent
from tuning_operator.events.outbox import Outbox


def kill_after_first_append() -> None:
    append_all = Outbox.append_all

    def append_then_die(self: Outbox, events: Sequence[StatusEvent]) -> None:
        append_all(self, events)
        if events:
            os.kill(os.getpid(), signal.SIGKILL)

    Outbox.append_all = append_then_die  # type: ignore[method-assign]


if __name__ == "__main__":
    kill_after_first_append()
    sys.exit(main())
