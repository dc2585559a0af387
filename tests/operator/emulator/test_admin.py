"""The admin routes under /emulator/: faults and call counts changed over HTTP at run time."""

from __future__ import annotations

import pytest

from tests.support.emulator_process import EmulatorAdmin


def test_health_and_fault_settings_round_trip(admin: EmulatorAdmin) -> None:
    """POST /emulator/faults changes only the given settings; GET reads them back."""
    assert admin.healthy()
    admin.configure_faults(fault_rate=0.25)
    admin.configure_faults(latency_ms=10)
    admin.fail_next("CancelTuningJob", "INTERNAL", times=2)
    admin.ghost_next_creates(3)
    described = admin.faults()
    assert described["faultRate"] == 0.25 and described["latencyMs"] == 10
    assert described["ghostCreateRate"] == 0
    assert described["pendingFaults"] == [
        {"method": "CancelTuningJob", "code": "INTERNAL", "times": 2}]
    assert described["pendingGhostCreates"] == 3
    admin.clear_faults()
    assert admin.faults()["pendingFaults"] == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a: a.fail_next("ListTuningJobs", "SOMETIMES"), "unknown status code"),
        (lambda a: a.fail_next("DeleteTuningJob", "UNAVAILABLE"), "unknown method"),
        (lambda a: a.configure_faults(fault_rate=3), "fault_rate"),
        (lambda a: a._call("GET", "nothing-here"), "no admin route"),
    ],
)
def test_bad_admin_requests_say_what_is_wrong(
    admin: EmulatorAdmin, call: object, message: str
) -> None:
    """An admin request the emulator cannot apply fails with a message naming the problem."""
    with pytest.raises(RuntimeError, match=message):
        call(admin)  # type: ignore[operator]


def test_active_route_samples_quota_use_over_the_wire(
    admin: EmulatorAdmin, client: object, parent: str
) -> None:
    """GET /emulator/active: per project, jobs active now by region and the peak so far;
    the wire path also carries the per-model region rule as INVALID_ARGUMENT."""
    from google.api_core import exceptions as api

    from tests.support.emulator_process import sample_job

    project = parent.split("/")[1]
    assert admin.active(project) == {"active": 0, "peak": 0, "regions": {}}
    client.create_tuning_job(parent=parent, tuning_job=sample_job())  # type: ignore[attr-defined]
    eu = parent.replace("us-central1", "europe-west4")
    client.create_tuning_job(parent=eu, tuning_job=sample_job())  # type: ignore[attr-defined]
    assert admin.active(project) == {
        "active": 2, "peak": 2, "regions": {"us-central1": 1, "europe-west4": 1}}
    asia = parent.replace("us-central1", "asia-northeast1")
    with pytest.raises(api.BadRequest, match="allowed regions"):
        client.create_tuning_job(  # type: ignore[attr-defined]
            parent=asia, tuning_job=sample_job(base_model="gemini-3.5-flash"))
