"""REST specifics the GAPIC client relies on, checked with raw HTTP against the process."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.emulator_process import EmulatorProcess, http_json


def http(
    emulator: EmulatorProcess, method: str, path: str, body: bytes | None = None
) -> tuple[int, Any]:
    return http_json(method, f"{emulator.rest_endpoint}{path}", body)


JOB_BODY = json.dumps(
    {
        "baseModel": "gemini-2.5-flash",
        "supervisedTuningSpec": {
            "trainingDatasetUri": "gs://tuning-data/train.jsonl",
            "hyperParameters": {"adapterSize": "ADAPTER_SIZE_EIGHT"},
        },
    }
).encode()


def test_enums_are_numbers_only_when_the_client_asks(
    emulator: EmulatorProcess, parent: str
) -> None:
    """`$alt=json;enum-encoding=int` gets numeric enums (as Vertex does); otherwise names."""
    status, created = http(emulator, "POST", f"/v1/{parent}/tuningJobs", JOB_BODY)
    assert status == 200
    assert created["state"] == "JOB_STATE_QUEUED"
    assert created["supervisedTuningSpec"]["hyperParameters"]["adapterSize"] == "ADAPTER_SIZE_EIGHT"
    _, numeric = http(emulator, "GET", f"/v1/{created['name']}?%24alt=json%3Benum-encoding%3Dint")
    assert numeric["state"] == 1
    assert numeric["supervisedTuningSpec"]["hyperParameters"]["adapterSize"] == 3


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/v1/projects/p/locations/us-central1/models", None, 404, "NOT_FOUND"),
        (
            "POST",
            "/v1/projects/p/locations/us-central1/tuningJobs",
            b"{not json",
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "GET",
            "/v1/projects/p/locations/us-central1/tuningJobs?pageSize=x",
            None,
            400,
            "INVALID_ARGUMENT",
        ),
        ("GET", "/v1/projects/p/locations/us-central1/tuningJobs/12", None, 404, "NOT_FOUND"),
    ],
)
def test_errors_use_googles_json_error_body(
    emulator: EmulatorProcess, method: str, path: str, body: bytes | None, status: int, code: str
) -> None:
    """Errors answer the HTTP status of the code and {"error": {code, message, status}}."""
    answered, document = http(emulator, method, path, body)
    assert answered == status
    assert document["error"]["code"] == status
    assert document["error"]["status"] == code
    assert document["error"]["message"]
