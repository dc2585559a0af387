"""The constructor's duplicate-key check finds what the depth-first walk of the tree finds."""

from __future__ import annotations

import pytest
import yaml

from tuning_operator.specs.diagnostics import DuplicateKeyLoader, duplicate_keys

CASES = [
    ("none", "a: 1\nb: {c: 2, d: [1, 2]}\n"),
    ("top level", "a: 1\nb: 2\na: 3\n"),
    ("nested before a later top-level one", "a: {x: 1, x: 2}\nb: 1\nb: 2\n"),
    ("a top-level one before a nested one", "b: 1\nb: 2\na: {x: 1, x: 2}\n"),
    ("in mappings inside a sequence", "s:\n- {k: 1, k: 2}\n- {k: 1}\n- {j: 1, j: 2}\nk: 1\nk: 2\n"),
    ("three levels deep", "a:\n  b:\n    c: 1\n    c: 2\n  b2: 1\n  b2: 2\nz: 1\n"),
    ("three times", "a: 1\na: 2\na: 3\n"),
    ("merge key overridden", "a: 1\n<<: {a: 2, b: {c: 1, c: 2}}\n"),
    ("merge of a list", "<<: [{a: 1}, {a: 2}]\nb: 1\n"),
    ("a set", "!!set {a, b, a}\n"),
    ("flow style", "{a: [ {b: 1, b: 2} ], a: 1}\n"),
]


@pytest.mark.parametrize(("text",), [(text,) for _, text in CASES],
                         ids=[name for name, _ in CASES])
def test_constructor_check_matches_the_tree_walk(text: str) -> None:
    """Same findings, same order, as walking the constructed (merge-flattened) tree."""
    loader = DuplicateKeyLoader(text)
    try:
        node = loader.get_single_node()
        assert node is not None
        loader.construct_document(node)
    finally:
        loader.dispose()
    assert loader.duplicates() == list(duplicate_keys(node))


def test_a_document_without_duplicates_reports_none() -> None:
    """A clean document: the loader's data equals libyaml's, and no finding."""
    text = "a: 1\nb: {c: [1, {d: 2}]}\n"
    loader = DuplicateKeyLoader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    assert data == yaml.load(text, Loader=yaml.CSafeLoader)
    assert loader.duplicates() == []
