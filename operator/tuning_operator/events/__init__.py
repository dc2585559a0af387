"""Status events and the audit trail: what platform teams and auditors learn from.

Every phase change of a job becomes one `StatusEvent` (CloudEvents 1.0), stored in the
`Outbox` before it is published to a sink (`pubsub:`, `file:`, `stdout`), so an outage delays
events and a crash repeats some, but none is lost or reordered within a job. Every action is
also written to the `AuditTrail` with the commit and author of the job file (`GitProvenance`).
The Pub/Sub client is imported only when a `pubsub:` sink is opened. The Pub/Sub emulator
wrapper and the fake sink the tests use live under `tests/support/`, outside this package.
"""

from tuning_operator.events.audit import AuditRecord, AuditTrail, read_history, read_trail
from tuning_operator.events.model import EVENT_TYPE, StatusEvent, source_for, transition_id
from tuning_operator.events.outbox import Backoff, Outbox, OutboxStatus
from tuning_operator.events.provenance import GitProvenance, Provenance
from tuning_operator.events.sinks import EventSink, FileSink, StdoutSink, open_sink

__all__ = [
    "EVENT_TYPE",
    "AuditRecord",
    "AuditTrail",
    "Backoff",
    "EventSink",
    "FileSink",
    "GitProvenance",
    "Outbox",
    "OutboxStatus",
    "Provenance",
    "StatusEvent",
    "StdoutSink",
    "open_sink",
    "read_history",
    "read_trail",
    "source_for",
    "transition_id",
]
