"""The loader's memo of scalar tags and values gives what PyYAML gives, and stays bounded."""

from __future__ import annotations

import yaml

from tuning_operator.specs import diagnostics
from tuning_operator.specs.diagnostics import DuplicateKeyLoader

TEXT = """\
plain: [1, "1", '1', yes, "yes", ~, null, "", 1.5, 0x1f, 1_000, 2026-01-01, .nan, x]
again: [1, "1", '1', yes, "yes", ~, null, "", 1.5, 0x1f, 1_000, 2026-01-01, .nan, x]
"""


def _load(text: str) -> object:
    loader = DuplicateKeyLoader(text)
    try:
        return loader.construct(loader.get_single_node())
    finally:
        loader.dispose()


def test_memoised_scalars_equal_pyyaml_twice_over() -> None:
    """A quoted `1` stays a string, a plain one an int, on the first read and on a memo hit."""
    expected = yaml.load(TEXT, Loader=yaml.CSafeLoader)
    for _ in range(2):
        got = _load(TEXT)
        assert repr(got) == repr(expected)  # repr: NaN is not equal to itself


def test_long_scalars_and_a_full_memo_are_not_kept() -> None:
    """Scalars longer than the memo's limit never enter it, and it never grows past its size."""
    long = "9" * (diagnostics._MEMO_LONGEST + 1)
    assert _load(f"n: {long}") == {"n": int(long)}
    assert not any(value == long for value, _ in diagnostics._TAGS)
    many = "\n".join(f"k{i}: {i}" for i in range(diagnostics._MEMO_MOST + 10))
    _load(many)
    assert len(diagnostics._TAGS) <= diagnostics._MEMO_MOST
    assert len(diagnostics._VALUES) <= diagnostics._MEMO_MOST
