"""The rules for one line: JSON decoding, the Vertex example shape, token estimates, the key."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.dataset_examples import example
from tuning_operator.datasets.examples import ExampleRules, decode_line
from tuning_operator.datasets.findings import DatasetRole, FindingKind, FindingLog
from tuning_operator.specs.catalog import BaseModel, default_catalog
from tuning_operator.specs.tokens import FILE_PART_TOKENS, estimate_tokens


def kinds(log: FindingLog) -> list[FindingKind]:
    return [f.kind for f in log.findings()]


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b'{"a": 1', FindingKind.TRUNCATED_LINE),
        (b'{"a": "cut\n', FindingKind.TRUNCATED_LINE),
        (b'{"a": 1} x', FindingKind.TRAILING_DATA),
        (b'{"a": 1}{"a": 2}', FindingKind.TRAILING_DATA),
        (b"   \n", FindingKind.BLANK_LINE),
        (b'{"a": "\xff"}', FindingKind.NOT_UTF8),
        (b"{a: 1}", FindingKind.INVALID_JSON),
    ],
)
def test_decode_line_names_why_a_line_is_not_one_json_value(raw: bytes, kind: FindingKind) -> None:
    """Each kind of undecodable line gets its own finding, with the line number."""
    log = FindingLog(DatasetRole.TRAINING)
    assert decode_line(raw, 7, log) is None
    assert kinds(log) == [kind]
    assert log.findings()[0].line == 7


def test_decode_line_reports_a_bom_and_still_reads_the_object() -> None:
    """A BOM is an error, but the object behind it is still checked."""
    log = FindingLog(DatasetRole.TRAINING)
    assert decode_line(b'\xef\xbb\xbf{"a": 1}\n', 1, log) == {"a": 1}
    assert kinds(log) == [FindingKind.BOM]


def test_a_valid_example_yields_tokens_turns_and_system_instruction(flash: BaseModel) -> None:
    """Facts of a valid example: UTF-8 bytes / 4 tokens, turn count, system instruction text."""
    line = example("x" * 40, "y" * 20, system="be brief")
    log = FindingLog(DatasetRole.TRAINING)
    facts = ExampleRules(flash).check(line, 1, log)
    assert facts is not None
    tokens, turns, _, system, files = facts
    assert (tokens, turns, system, files) == (estimate_tokens(68), 2, "be brief", 0)
    assert not log.findings()


def test_non_ascii_text_counts_utf8_bytes(flash: BaseModel) -> None:
    """CJK characters weigh three bytes each in the estimate (≈ 0.75 tokens per character)."""
    log = FindingLog(DatasetRole.TRAINING)
    facts = ExampleRules(flash).check(example("配送" * 10, "はい"), 1, log)
    assert facts is not None
    assert facts[0] == estimate_tokens(3 * 22)


def test_file_parts_add_a_fixed_token_estimate(flash: BaseModel) -> None:
    """A fileData part counts FILE_PART_TOKENS; snake_case field names are accepted."""
    line = example("describe", "a cat")
    line["contents"][0]["parts"].append(
        {"file_data": {"mime_type": "image/jpeg", "file_uri": "gs://b/cat.jpg"}})
    facts = ExampleRules(flash).check(line, 1, FindingLog(DatasetRole.TRAINING))
    assert facts is not None
    assert facts[0] == estimate_tokens(13, file_parts=1) == 4 + FILE_PART_TOKENS
    assert facts[4] == 1


def test_the_key_ignores_key_order_spacing_and_surrounding_whitespace(flash: BaseModel) -> None:
    """Two serialisations of one conversation have the same duplicate key."""
    rules = ExampleRules(flash)
    log = FindingLog(DatasetRole.TRAINING)
    a = rules.check(example("hello there", "hi"), 1, log)
    reordered = orjson.loads(
        b'{"contents":[{"parts":[{"text":"  hello there "}],"role":"user"},'
        b'{"parts":[{"text":"hi\\n"}],"role":"model"}]}')
    b = rules.check(reordered, 2, log)
    c = rules.check(example("hello there", "hi!"), 3, log)
    assert a is not None and b is not None and c is not None
    assert a[2] == b[2] != c[2]


def test_the_key_keeps_turn_boundaries(flash: BaseModel) -> None:
    """Moving a part across turns is a different conversation, not a duplicate."""
    rules = ExampleRules(flash)
    log = FindingLog(DatasetRole.TRAINING)

    def chat(*turns: tuple[str, list[str]]) -> dict[str, Any]:
        return {"contents": [{"role": r, "parts": [{"text": t} for t in ts]} for r, ts in turns]}

    one = rules.check(chat(("user", ["a", "b"]), ("model", ["c"]), ("user", ["d"]),
                           ("model", ["e"])), 1, log)
    two = rules.check(chat(("user", ["a"]), ("model", ["b"]), ("user", ["c", "d"]),
                           ("model", ["e"])), 2, log)
    assert one is not None and two is not None
    assert one[2] != two[2]


def test_only_the_first_problem_of_a_line_is_reported(flash: BaseModel) -> None:
    """A line with several defects gets one finding, so one bad line is one line of report."""
    log = FindingLog(DatasetRole.TRAINING)
    line = {"contents": [{"role": "assistant", "parts": []}, {"role": "user"}]}
    assert ExampleRules(flash).check(line, 3, log) is None
    assert kinds(log) == [FindingKind.ROLE_INVALID]


def test_near_and_over_the_token_limit(flash: BaseModel) -> None:
    """At 90 % of the limit a warning, above it an error; the example still counts."""
    rules = ExampleRules(flash)
    log = FindingLog(DatasetRole.TRAINING)
    limit = flash.max_tokens_per_example
    near = rules.check(example("a" * (4 * int(limit * 0.95)), "b"), 1, log)
    over = rules.check(example("a" * (4 * limit + 8), "b"), 2, log)
    assert near is not None and over is not None
    assert kinds(log) == [FindingKind.NEAR_TOKEN_LIMIT, FindingKind.TOO_MANY_TOKENS]
    assert "131,072" in log.findings()[1].message


def test_gemini_api_lines_are_measured_like_their_conversion(flash: BaseModel) -> None:
    """A Gemini API line is an error, yet has the same key and tokens as the converted example."""
    rules = ExampleRules(flash)
    log = FindingLog(DatasetRole.TRAINING)
    gemini = rules.check({"text_input": "what is 2+2?", "output": "4"}, 1, log)
    vertex = rules.check(example("what is 2+2?", "4"), 2, log)
    assert gemini is not None and vertex is not None
    assert gemini[:3] == vertex[:3]
    assert kinds(log) == [FindingKind.GEMINI_API_FORMAT]


_odd_values = st.sampled_from(["user", "model", "assistant", "", None, 1, [], {}, "x"])
_odd_parts = st.one_of(
    st.fixed_dictionaries({"text": st.sampled_from(["", "  ", "\n", None, 3, ["a"], {}, " ok "])}),
    st.just({"fileData": {"mimeType": "image/png", "fileUri": "gs://b/x.png"}}),
    st.just({"fileData": {"mimeType": "image/png", "fileUri": "https://x/y.png"}}),
    st.just({"file_data": {"mime_type": "audio/wav", "file_uri": "gs://b/x.wav"}}),
    st.just({"inlineData": {}}), st.just({}), st.text(max_size=2), st.none(),
)


@st.composite
def conversations(draw: st.DrawFn) -> list[Any]:
    """A valid conversation of text turns, often with one defect put in at a random place."""
    texts = st.text(min_size=1, max_size=4).filter(str.strip)
    turns: list[Any] = []
    for index in range(2 * draw(st.integers(1, 3))):
        parts = [{"text": t} for t in draw(st.lists(texts, min_size=1, max_size=2))]
        turns.append({"role": "user" if index % 2 == 0 else "model", "parts": parts})
    where = draw(st.integers(0, len(turns) - 1))
    defect = draw(st.sampled_from(["none", "role", "parts", "part", "turn", "cut", "drop"]))
    if defect == "role":
        turns[where]["role"] = draw(_odd_values)
    elif defect == "parts":
        turns[where]["parts"] = draw(st.sampled_from([[], None, "x", {"text": "x"}, 0]))
    elif defect == "part":
        turns[where]["parts"].insert(draw(st.integers(0, 1)), draw(_odd_parts))
    elif defect == "turn":
        turns[where] = draw(st.sampled_from(["x", None, 3, [], {"role": "user"}, {"parts": []}]))
    elif defect == "cut":
        del turns[-1]
    elif defect == "drop":
        del turns[where]["role" if draw(st.booleans()) else "parts"]
    return turns


@settings(max_examples=300, deadline=None)
@given(conversations())
def test_fast_and_checked_paths_agree(contents: list[Any]) -> None:
    """The optimistic fast path accepts exactly what the checked path accepts, with equal facts."""
    model = default_catalog().get("gemini-2.5-flash")
    assert model is not None
    rules = ExampleRules(model)
    fast_log, checked_log = FindingLog(DatasetRole.TRAINING), FindingLog(DatasetRole.TRAINING)
    fast = rules._conversation(contents, 1, fast_log)
    checked = rules._checked_conversation(contents, 1, checked_log)
    assert fast == checked
    assert fast_log.findings() == checked_log.findings()
