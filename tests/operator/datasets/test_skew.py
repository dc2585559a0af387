"""Train-serving skew signals: prompt layouts and system instructions."""

from __future__ import annotations

import pytest

from tests.support.dataset_examples import example
from tuning_operator.datasets.findings import DatasetRole, FindingKind, FindingLog
from tuning_operator.datasets.skew import MAX_TRACKED, SkewSignals, prompt_layout


@pytest.mark.parametrize(
    ("prompt", "layout"),
    [
        ("Question: why?\nContext: none", ("question", "context")),
        ("  question : a\nQUESTION: b\nAnswer as JSON: x", ("question", "answer as json")),
        ("Please route this ticket: it is late", ()),
        ("Ticket: a\nNote: b\nFrom: c\nTo: d\nCc: e", ("ticket", "note", "from", "to")),
        ("http://example.com is down", ()),
    ],
)
def test_prompt_layout_is_the_labels_at_line_starts(prompt: str, layout: tuple[str, ...]) -> None:
    """Labels are `Word:` at a line start, lower-cased, repeats folded, at most four."""
    assert prompt_layout(example(prompt, "ok")) == layout


def test_one_layout_and_one_system_instruction_are_quiet() -> None:
    """A consistent dataset gets no skew warning."""
    skew = SkewSignals()
    for line in range(1, 11):
        skew.add_system_instruction("Route it.", line)
        skew.add_layout(example(f"Ticket: {line}", "ok"), line)
    log = FindingLog(DatasetRole.TRAINING)
    skew.report(log)
    assert log.findings() == ()


def test_mixed_presence_and_several_system_instructions_are_warned() -> None:
    """Some examples without a system instruction, and two different ones: two warnings."""
    skew = SkewSignals()
    skew.add_system_instruction("Route it.", 1, count=5)
    skew.add_system_instruction(None, 6, count=2)
    skew.add_system_instruction("Be terse.", 8)
    log = FindingLog(DatasetRole.TRAINING)
    skew.report(log)
    messages = [f.message for f in log.findings()]
    assert all(f.kind is FindingKind.MIXED_SYSTEM_INSTRUCTIONS for f in log.findings())
    assert "set in 6 of 8 examples (first without: line 6)" in messages[0]
    assert "2 different system instructions (first lines 1, 8)" in messages[1]


def test_many_distinct_values_are_counted_as_other() -> None:
    """The tallies stay bounded: beyond MAX_TRACKED values, they count `other`."""
    skew = SkewSignals()
    for line in range(MAX_TRACKED + 10):
        skew.add_system_instruction(f"persona {line}", line + 1)
    assert len(skew.system.entries) == MAX_TRACKED
    assert skew.system.other == 10
    assert skew.system.distinct() == MAX_TRACKED + 1
