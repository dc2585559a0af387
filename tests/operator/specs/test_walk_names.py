"""The fast check of names for unsafe characters agrees with the per-character rule."""

from __future__ import annotations

import pytest

from tuning_operator.specs.walk import _has_unsafe, _unsafe, shown

TEXTS = [
    *(chr(code) for code in range(128)),
    "support-classifier-v3.yaml", "a b", "é.yaml", "a\u200eb", "a\u202eb", "x\x85y",
    "tab\there", "nul\x00", "del\x7f", "\ud800", "日本語.yaml", "",
]


@pytest.mark.parametrize("text", TEXTS, ids=[repr(t) for t in TEXTS])
def test_fast_path_matches_the_category_rule(text: str) -> None:
    """ASCII or not, a name is unsafe exactly when one of its characters is Cc, Cf or Cs."""
    assert _has_unsafe(text) == any(_unsafe(c) for c in text)
    assert (shown(text) == text) == (not _has_unsafe(text))
