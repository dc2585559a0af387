"""Vertex errors of either transport → the operator's typed errors."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as api

from tuning_operator.errors import (
    NotFound,
    OperatorError,
    OutcomeUnknown,
    PermanentError,
    QuotaExhausted,
    TemporaryError,
)
from tuning_operator.vertex.failures import translate

CASES = [
    # (raised, for list/get/cancel, for create)
    (api.ServiceUnavailable("x"), TemporaryError, TemporaryError),
    (api.DeadlineExceeded("x"), TemporaryError, OutcomeUnknown),
    (api.GatewayTimeout("x"), TemporaryError, OutcomeUnknown),  # REST form of DEADLINE_EXCEEDED
    (api.InternalServerError("x"), TemporaryError, OutcomeUnknown),
    (api.Unknown("x"), TemporaryError, OutcomeUnknown),
    (api.Aborted("x"), TemporaryError, TemporaryError),
    (api.ResourceExhausted("x"), QuotaExhausted, QuotaExhausted),
    (api.TooManyRequests("x"), QuotaExhausted, QuotaExhausted),  # REST form
    (api.InvalidArgument("x"), PermanentError, PermanentError),
    (api.FailedPrecondition("x"), PermanentError, PermanentError),
    (api.BadRequest("x"), PermanentError, PermanentError),  # REST form of both above
    (api.PermissionDenied("x"), PermanentError, PermanentError),
    (api.Unauthenticated("x"), PermanentError, PermanentError),
    (api.NotFound("x"), NotFound, NotFound),
    (ConnectionError("reset"), TemporaryError, OutcomeUnknown),
    (api.RetryError("gave up", cause=api.ServiceUnavailable("x")), TemporaryError, TemporaryError),
]


@pytest.mark.parametrize(("raised", "idempotent", "create"), CASES)
def test_translation(
    raised: Exception, idempotent: type[OperatorError], create: type[OperatorError]
) -> None:
    """Each error family maps to the typed error the reconciler acts on, exactly."""
    assert type(translate(raised, action="list")) is idempotent
    assert type(translate(raised, action="create", create=True)) is create


def test_messages_name_the_action_and_the_code() -> None:
    """The message says what was being done and what Vertex answered."""
    error = translate(api.InvalidArgument("Adapter size 8 is not supported"), action="create j")
    assert str(error) == "create j: INVALID_ARGUMENT Adapter size 8 is not supported"


def test_retry_after_is_set_for_temporary_errors() -> None:
    """Temporary errors carry a positive retry-after; quota waits longer than a blip."""
    blip = translate(api.ServiceUnavailable("x"), action="a")
    quota = translate(api.ResourceExhausted("x"), action="a")
    assert isinstance(blip, TemporaryError) and isinstance(quota, TemporaryError)
    assert 0 < blip.retry_after < quota.retry_after


def test_operator_errors_pass_through_and_bugs_are_not_hidden() -> None:
    """An error already typed is returned as is; an unexpected one is re-raised."""
    budget = TemporaryError("budget", retry_after=3)
    assert translate(budget, action="a") is budget
    with pytest.raises(KeyError):
        translate(KeyError("bug"), action="a")
