"""The AIP-160 subset: which filters match which jobs, and which filters are refused."""

from __future__ import annotations

import pytest

from tuning_operator.emulator.filtering import FilterError, JobFacts, compile_filter

OWNED_RUNNING = JobFacts(
    labels={"managed-by": "tuning-operator", "team": "cx"}, state="JOB_STATE_RUNNING"
)
FOREIGN_QUEUED = JobFacts(labels={"team": "ml"}, state="JOB_STATE_QUEUED")
FOREIGN_DONE = JobFacts(labels={}, state="JOB_STATE_SUCCEEDED")
JOBS = {
    "owned-running": OWNED_RUNNING,
    "foreign-queued": FOREIGN_QUEUED,
    "foreign-done": FOREIGN_DONE,
}


@pytest.mark.parametrize(
    ("text", "matching"),
    [
        ("", {"owned-running", "foreign-queued", "foreign-done"}),
        ('labels.managed-by = "tuning-operator"', {"owned-running"}),
        ("labels.managed-by=tuning-operator", {"owned-running"}),
        ('labels.team = "cx" AND labels.managed-by = "tuning-operator"', {"owned-running"}),
        ('labels.team = "cx" labels.managed-by = "tuning-operator"', {"owned-running"}),
        ('labels.team = "ml" AND labels.managed-by = "tuning-operator"', set()),
        ('labels.team != "cx"', {"foreign-queued", "foreign-done"}),
        ("labels.team:*", {"owned-running", "foreign-queued"}),
        ("labels:team", {"owned-running", "foreign-queued"}),
        ("state = JOB_STATE_QUEUED", {"foreign-queued"}),
        ('state = "JOB_STATE_SUCCEEDED"', {"foreign-done"}),
        ("state != JOB_STATE_SUCCEEDED", {"owned-running", "foreign-queued"}),
        (
            'labels.managed-by = "tuning-operator" OR state = JOB_STATE_QUEUED',
            {"owned-running", "foreign-queued"},
        ),
        ('NOT labels.team = "cx"', {"foreign-queued", "foreign-done"}),
        ('-labels.team = "cx"', {"foreign-queued", "foreign-done"}),
        (
            '(labels.team = "cx" OR labels.team = "ml") AND state = JOB_STATE_QUEUED',
            {"foreign-queued"},
        ),
        # AIP-160: OR binds tighter than AND.
        (
            'state = JOB_STATE_SUCCEEDED AND state = JOB_STATE_QUEUED OR labels.team = "ml"',
            set(),
        ),
    ],
)
def test_filter_matches(text: str, matching: set[str]) -> None:
    """Each supported filter selects exactly the expected jobs."""
    predicate = compile_filter(text)
    assert {name for name, facts in JOBS.items() if predicate(facts)} == matching


@pytest.mark.parametrize(
    "text",
    [
        "display_name = x",
        "state = RUNNING",
        "state : JOB_STATE_RUNNING",
        'labels.team = "cx" AND',
        '(labels.team = "cx"',
        "labels.team =",
        "supportclassifier",
        'labels.team = "cx")',
        "labels.team < 3",
    ],
)
def test_unsupported_filters_are_refused(text: str) -> None:
    """A filter outside the subset raises FilterError instead of matching something."""
    with pytest.raises(FilterError):
        compile_filter(text)
