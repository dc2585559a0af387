"""`StatusEvent`: deterministic ids, the CloudEvents binary and structured forms."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from tests.support.status_events import lifecycle_events
from tuning_operator.events.model import (
    EVENT_TYPE,
    StatusEvent,
    rfc3339,
    source_for,
    transition_id,
)
from tuning_operator.planning.model import Phase

BASE = lifecycle_events("support-classifier-v3", team="support")[2]  # Submitted → Running


def test_same_transition_same_id_whatever_the_time_reason_or_instance() -> None:
    """A transition republished later, by another process, keeps its ce-id."""
    later = replace(
        BASE,
        time=BASE.time + timedelta(hours=3),
        reason="replayed from the outbox",
        operator_instance="other-pod",
        source=source_for("other-pod"),
        git_author="Someone Else <else@example.com>",
    )
    assert later.event_id == BASE.event_id
    assert later.attributes()["ce-id"] == BASE.attributes()["ce-id"]


@pytest.mark.parametrize(
    "change",
    [
        {"job": "support-classifier-v4"},
        {"spec_hash": "cd" * 32},
        {"vertex_job": "projects/p/locations/us-central1/tuningJobs/999"},
        {"previous_phase": Phase.WAITING},
        {"phase": Phase.FAILED},
    ],
    ids=["job", "spec-hash", "vertex-job", "previous-phase", "phase"],
)
def test_each_identity_part_changes_the_id(change: dict[str, object]) -> None:
    """The id covers job, spec hash, Vertex job, previous and new phase."""
    assert replace(BASE, **change).event_id != BASE.event_id  # type: ignore[arg-type]


def test_id_is_a_stable_function_of_the_transition() -> None:
    """The id is pinned: changing the hash recipe would break dedupe across versions."""
    assert (
        transition_id(
            job="a",
            spec_hash="b",
            vertex_job="c",
            previous_phase=Phase.WAITING,
            phase=Phase.RUNNING,
        )
        == "45801c1df8b1f92a24301665c30dabd5"
    )


def test_the_sequence_number_tells_alike_transitions_apart() -> None:
    """Succeeded → Invalid twice (a policy toggled twice) is two ids; the same number, one."""
    first = replace(BASE, sequence=4)
    assert replace(BASE, sequence=6).event_id != first.event_id
    assert replace(first, reason="replayed").event_id == first.event_id
    assert StatusEvent.from_structured(first.to_structured()).event_id == first.event_id


@pytest.mark.parametrize(("setting", "source"), [
    ("proj/github.com/org/jobs", "//tuning-operator/proj/github.com/org/jobs"),
    ("//platform.example.com/tuning", "//platform.example.com/tuning"),
    ("urn:example:tuning", "urn:example:tuning"),
])
def test_the_source_names_the_deployment(setting: str, source: str) -> None:
    """`PROJECT/REPOSITORY` gets the operator's prefix; a URI given whole is kept."""
    assert source_for(setting) == source


def test_binary_mode_attributes() -> None:
    """Pub/Sub attributes carry the CloudEvents context, subject = job, time in RFC 3339."""
    attributes = BASE.attributes()
    assert attributes == {
        "ce-specversion": "1.0",
        "ce-id": BASE.event_id,
        "ce-source": "//tuning-operator/test",
        "ce-type": EVENT_TYPE,
        "ce-subject": "support-classifier-v3",
        "ce-time": "2026-01-01T00:00:02.000Z",
        "content-type": "application/json",
        "ce-phase": "Running",
        "ce-team": "support",
    }


def test_data_has_every_field_in_camel_case_with_nulls_kept() -> None:
    """The JSON data names each field the contract lists; absent values are null."""
    data = orjson.loads(BASE.data_bytes())
    assert list(data) == [
        "job",
        "team",
        "phase",
        "previousPhase",
        "vertexState",
        "vertexJob",
        "tunedModel",
        "endpoint",
        "error",
        "specHash",
        "gitCommit",
        "gitAuthor",
        "provenanceUnknown",
        "gitRevision",
        "operatorInstance",
        "reason",
        "sequence",
    ]
    assert data["phase"] == "Running" and data["previousPhase"] == "Submitted"
    assert data["tunedModel"] is None and data["error"] is None


@pytest.mark.parametrize("event", lifecycle_events("j-1"), ids=lambda e: str(e.phase))
def test_binary_and_structured_forms_round_trip(event: StatusEvent) -> None:
    """What a sink writes parses back to the same event, from Pub/Sub or from a file."""
    assert StatusEvent.from_pubsub(event.data_bytes(), event.attributes()) == event
    assert StatusEvent.from_structured(orjson.loads(event.to_json_line())) == event


@pytest.mark.parametrize(
    ("specversion", "kind"),
    [("0.3", EVENT_TYPE), ("1.0", "com.example.other"), (None, None)],
)
def test_foreign_cloudevents_are_refused(specversion: str | None, kind: str | None) -> None:
    """Only our event type and CloudEvents 1.0 parse; anything else is a ValueError."""
    document = BASE.to_structured() | {"specversion": specversion, "type": kind}
    with pytest.raises(ValueError, match="not a"):
        StatusEvent.from_structured(document)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC), "2026-03-01T12:00:00.123Z"),
        (
            datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
            "2026-03-01T12:00:00.000Z",
        ),
    ],
)
def test_times_are_utc_rfc3339(moment: datetime, text: str) -> None:
    """ce-time is UTC with a Z, whatever zone the clock gave."""
    assert rfc3339(moment) == text


def test_naive_times_are_refused() -> None:
    """A time without a zone is a bug, not something to guess."""
    with pytest.raises(ValueError, match="timezone"):
        rfc3339(datetime(2026, 1, 1))
