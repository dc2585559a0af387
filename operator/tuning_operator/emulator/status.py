"""The errors the emulated Vertex API answers with, in gRPC and in REST form.

One exception type carries a gRPC status code and a message; the gRPC server aborts with it and
the REST server turns it into Google's JSON error body with the HTTP status Google's frontends
use for that code, so the real client raises the same google.api_core exception family for both
transports. This module must never decide *when* an error happens (that is the store's and the
fault injector's job).
"""

from __future__ import annotations

from typing import Any

import grpc

# The HTTP status Google's REST frontends return for each canonical code (google.rpc.Code docs).
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}


class ApiError(Exception):
    """A call the emulated service rejects with a canonical status code."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 500)

    def rest_body(self) -> dict[str, Any]:
        """Google's JSON error body (google.rpc.Status in the v1 error format)."""
        return {
            "error": {
                "code": self.http_status,
                "message": self.message,
                "status": self.code.name,
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": self.code.name,
                        "domain": "aiplatform.googleapis.com",
                    }
                ],
            }
        }


def status_code(name: str) -> grpc.StatusCode:
    """`UNAVAILABLE` → grpc.StatusCode.UNAVAILABLE; an unknown name raises ValueError."""
    try:
        return grpc.StatusCode[name.upper()]
    except KeyError:
        known = ", ".join(code.name for code in grpc.StatusCode if code is not grpc.StatusCode.OK)
        raise ValueError(f"unknown status code {name!r}; use one of {known}") from None


def invalid_argument(message: str) -> ApiError:
    return ApiError(grpc.StatusCode.INVALID_ARGUMENT, message)
