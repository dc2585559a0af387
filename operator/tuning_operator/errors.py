"""Every exception the operator raises on purpose, and the retry policy each one carries.

A temporary error says when to retry; a permanent one says stop and why. The reconciler turns
them into typed outcomes in one place, so no caller guesses whether to retry. This module
imports nothing of the package, which keeps it free of import cycles.
"""

from __future__ import annotations


class OperatorError(Exception):
    """Base of the operator's own errors."""


class TemporaryError(OperatorError):
    """Worth retrying after `retry_after` seconds (e.g. UNAVAILABLE, DEADLINE_EXCEEDED)."""

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QuotaExhausted(TemporaryError):
    """Vertex said RESOURCE_EXHAUSTED: the job goes back to the queue; it is not a failure."""


class OutcomeUnknown(TemporaryError):
    """A create may or may not have been committed (timeout): List before any retry."""


class ArtifactsUnavailable(TemporaryError):
    """The artifacts bucket (`--artifacts`) could not be read or written: an answer counts only
    once it is kept there, so the evaluation pauses and resumes later, like an outage."""


class PermanentError(OperatorError):
    """Retrying cannot help (e.g. INVALID_ARGUMENT): the job stalls with this reason."""


class NotFound(PermanentError):
    """The Vertex job named does not exist."""


class ConfigError(OperatorError):
    """The operator's own settings are wrong; the message says which and how to fix it."""


class ReportUnavailable(OperatorError):
    """`report` has nothing to draw (no state directory, no such job); the message says why."""
