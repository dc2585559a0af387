"""Vertex errors → the operator's typed errors, for both client transports.

Matched by google.api_core exception *class family*, not by gRPC code: over REST the client
raises the HTTP family (a 504 is `GatewayTimeout`, a 400 is `BadRequest` whether Vertex said
INVALID_ARGUMENT or FAILED_PRECONDITION), over gRPC the precise subclass — the families cover
both. A create that may have been committed (timeout, server error, dropped connection) is
`OutcomeUnknown`: the caller must List before it creates again. This module never retries.
"""

from __future__ import annotations

from google.api_core import exceptions as api

from tuning_operator.errors import (
    NotFound,
    OperatorError,
    OutcomeUnknown,
    PermanentError,
    QuotaExhausted,
    TemporaryError,
)

TEMPORARY_RETRY_AFTER = 5.0
QUOTA_RETRY_AFTER = 30.0
UNKNOWN_OUTCOME_RETRY_AFTER = 1.0

# Transient failures of an idempotent call (list, get, cancel): retried with backoff + jitter.
RETRYABLE = (
    api.ServiceUnavailable,
    api.GatewayTimeout,  # includes DeadlineExceeded
    api.InternalServerError,
    api.TooManyRequests,  # includes ResourceExhausted: request quota, back off
    api.Aborted,
    api.Cancelled,
)


def _describe(error: BaseException) -> str:
    if isinstance(error, api.GoogleAPICallError):
        code = error.grpc_status_code.name if error.grpc_status_code else str(error.code)
        return f"{code} {error.message}"
    return f"{type(error).__name__}: {error}"


def translate(error: BaseException, *, action: str, create: bool = False) -> OperatorError:
    """The operator error for `error` raised while doing `action` (a create if `create`)."""
    if isinstance(error, OperatorError):
        return error
    if isinstance(error, api.RetryError) and error.cause is not None:
        return translate(error.cause, action=action, create=create)
    message = f"{action}: {_describe(error)}"
    unknown_if_create = (
        OutcomeUnknown(message, retry_after=UNKNOWN_OUTCOME_RETRY_AFTER)
        if create
        else TemporaryError(message, retry_after=TEMPORARY_RETRY_AFTER)
    )
    if isinstance(error, api.NotFound):
        return NotFound(message)
    if isinstance(error, api.TooManyRequests):
        return QuotaExhausted(message, retry_after=QUOTA_RETRY_AFTER)
    if isinstance(error, api.ServiceUnavailable | api.Aborted):
        # Not processed by the server: safe to retry, even a create.
        return TemporaryError(message, retry_after=TEMPORARY_RETRY_AFTER)
    if isinstance(error, api.GatewayTimeout | api.ServerError | api.Cancelled):
        return unknown_if_create
    if isinstance(error, api.ClientError):
        # INVALID_ARGUMENT, FAILED_PRECONDITION, PERMISSION_DENIED, UNAUTHENTICATED, …
        return PermanentError(message)
    if isinstance(error, OSError):
        # REST transport: requests' connection errors are OSErrors; the request may have left.
        return unknown_if_create
    if isinstance(error, api.GoogleAPICallError):
        return unknown_if_create
    raise error
