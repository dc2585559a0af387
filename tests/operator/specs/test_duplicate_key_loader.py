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


def _construct(text: str, *, generic: bool) -> tuple[yaml.Node, object, list[tuple[str, int, int]]]:
    loader = DuplicateKeyLoader(text)
    try:
        node = loader.get_single_node()
        assert node is not None
        data = loader.construct_document(node) if generic else loader.construct(node)
    finally:
        loader.dispose()
    return node, data, loader.duplicates()


@pytest.mark.parametrize(("text",), [(text,) for _, text in CASES],
                         ids=[name for name, _ in CASES])
def test_constructor_check_matches_the_tree_walk(text: str) -> None:
    """Same findings, same order, as walking the constructed (merge-flattened) tree."""
    node, _, found = _construct(text, generic=False)
    assert found == list(duplicate_keys(node))


DEEP = "a:\n" + "".join("  " * d + f"k{d}:\n" for d in range(1, 80)) + "  " * 80 + "x: 1\n"


@pytest.mark.parametrize(("text",), [(text,) for _, text in CASES] + [
    ("numbers and null: {1: a, '1': b, 01: c, ~: d, 2.5: e, true: f}\nn: [1, 0x1f, .5, ~, yes]\n",),
    ("when: 2024-01-02\nraw: !!binary aGk=\nq: !!str 12\n",),
    ("- a\n- {b: 1, b: 2}\n",),
    ("o: !!omap [{a: 1}, {b: 2}]\n",),
    (DEEP + DEEP.replace("a:", "b:").replace("x: 1", "x: 1\n" + "  " * 80 + "x: 2"),),
], ids=[name for name, _ in CASES] + ["numbers", "timestamps", "top sequence", "omap",
                                      "deeper than the direct limit"])
def test_the_direct_construction_equals_the_generic_one(text: str) -> None:
    """Plain documents are built directly, the rest handed over: same data, same findings."""
    _, data, found = _construct(text, generic=False)
    _, expected, expected_found = _construct(text, generic=True)
    assert data == expected == yaml.load(text, Loader=yaml.CSafeLoader)
    assert found == expected_found


@pytest.mark.parametrize("text", ["a: !nope 1\n", "a: !!str {b: 1}\n", "a: !!int [1]\n",
                                  "? [complex, key]\n: 1\n"])
@pytest.mark.parametrize("generic", [False, True])
def test_what_the_safe_constructor_refuses_is_refused_on_both_paths(text: str,
                                                                   generic: bool) -> None:
    with pytest.raises(yaml.constructor.ConstructorError):
        _construct(text, generic=generic)


def test_a_document_without_duplicates_reports_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """A clean document: built directly, its data equals libyaml's, and no finding."""
    def generic(*_: object) -> None:
        raise AssertionError("a plain document went through the generic constructor")

    monkeypatch.setattr(DuplicateKeyLoader, "construct_document", generic)
    text = "a: 1\nb: {c: [1, {d: 2}]}\n"
    _, data, found = _construct(text, generic=False)
    assert data == yaml.load(text, Loader=yaml.CSafeLoader)
    assert found == []
