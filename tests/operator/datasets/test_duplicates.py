"""Exact duplicate groups, MinHash signatures and the near-duplicate index."""

from __future__ import annotations

import random

from datasketch import MinHash, MinHashLSH

from tests.support.dataset_examples import WORDS, example
from tuning_operator.datasets.duplicates import (
    LSH_BANDS_ROWS,
    NUM_PERMUTATIONS,
    ExactDuplicates,
    MinHasher,
    NearDuplicateIndex,
    example_text,
)
from tuning_operator.datasets.findings import DatasetRole, FindingKind, FindingLog


def test_exact_groups_list_every_copy_by_first_line() -> None:
    """Groups come back in order of first appearance; singletons are not groups."""
    exact = ExactDuplicates()
    for line, key in enumerate([5, 7, 5, 9, 7, 5, -3], start=1):
        exact.add(key, line)
    assert list(exact.groups()) == [(1, 3, 6), (2, 5)]


def test_exact_report_counts_surplus_copies() -> None:
    """Three copies of one example are one finding that counts two surplus copies."""
    exact = ExactDuplicates()
    for line, key in enumerate([1, 1, 1, 2], start=1):
        exact.add(key, line)
    log = FindingLog(DatasetRole.TRAINING)
    exact.report(log)
    (finding,) = log.findings()
    assert (finding.kind, finding.line) == (FindingKind.EXACT_DUPLICATE, 2)
    assert "line 1 is repeated at line(s) 2, 3" in finding.message
    assert [t.count for t in log.totals()] == [2]


def test_signature_equals_datasketch_update_batch() -> None:
    """The vectorised signature is bit-for-bit what MinHash.update_batch computes."""
    hasher = MinHasher()
    text = " ".join(random.Random(3).choices(WORDS, k=700))
    reference = MinHash(num_perm=len(hasher.permutations[0]), hashfunc=int,
                        permutations=hasher.permutations, scheme="affine32")
    reference.update_batch(hasher.shingles(text).tolist())
    assert (hasher.signature(text).hashvalues == reference.hashvalues).all()
    batch = hasher.signatures([text, "short text", ""])
    assert (batch[0].hashvalues == reference.hashvalues).all()


def test_permutations_are_datasketchs() -> None:
    """The permutations are datasketch's affine32 ones for seed 1 (datasketch is a test pin)."""
    reference = MinHash(num_perm=NUM_PERMUTATIONS, seed=1, hashfunc=int, scheme="affine32")
    assert (MinHasher().permutations == reference.permutations).all()


def test_index_finds_datasketchs_candidates_in_its_order() -> None:
    """Candidates and their order are what datasketch's MinHashLSH returns for the same inserts."""
    hasher = MinHasher()
    rng = random.Random(5)
    base = [rng.choices(WORDS, k=40) for _ in range(20)]
    texts = [" ".join(words[:rng.randrange(30, 40)] + rng.choices(WORDS, k=rng.randrange(4)))
             for words in base for _ in range(6)]
    signatures = hasher.signatures(texts)
    index = NearDuplicateIndex()
    reference = MinHashLSH(num_perm=NUM_PERMUTATIONS, params=LSH_BANDS_ROWS)
    for line, signature in enumerate(signatures[::2], start=1):
        index.insert(line, signature)
        reference.insert(line, MinHash(num_perm=NUM_PERMUTATIONS, hashvalues=signature.hashvalues,
                                       scheme="affine32"))
    found = 0
    for signature in signatures:
        expected = reference.query(MinHash(num_perm=NUM_PERMUTATIONS,
                                           hashvalues=signature.hashvalues, scheme="affine32"))
        assert index.candidates(signature) == expected
        found += len(expected)
        other = signatures[0]
        expected_jaccard = MinHash(num_perm=NUM_PERMUTATIONS, hashvalues=signature.hashvalues,
                                   scheme="affine32").jaccard(
            MinHash(num_perm=NUM_PERMUTATIONS, hashvalues=other.hashvalues, scheme="affine32"))
        assert signature.jaccard(other) == expected_jaccard
    assert found > len(signatures)  # near duplicates were there to find


def test_case_and_punctuation_do_not_matter() -> None:
    """Shingles are lower-cased words without punctuation."""
    hasher = MinHasher()
    a = hasher.signature("Where is my parcel? It was due on Monday.")
    b = hasher.signature("where is my parcel it was due on monday")
    assert a.jaccard(b) == 1.0


def test_near_duplicates_are_found_and_unrelated_texts_are_not() -> None:
    """One word changed in 60 is a match (≈ 0.9); a different text is not."""
    hasher = MinHasher()
    rng = random.Random(8)
    words = rng.choices(WORDS, k=60)
    index = NearDuplicateIndex()
    index.insert(10, hasher.signature(" ".join(words)))
    index.insert(11, hasher.signature(" ".join(rng.choices(WORDS, k=60))))
    changed = hasher.signature(" ".join([*words[:-1], "different"]))
    matches = index.matches(changed)
    assert [line for line, _ in matches] == [10]
    assert 0.8 <= matches[0][1] < 1.0
    assert index.matches(hasher.signature(" ".join(rng.choices(WORDS, k=60)))) == []


def test_example_text_leaves_out_the_system_instruction() -> None:
    """A system instruction shared by all examples must not make them look alike."""
    line = example("question", "answer", system="You are a helpful router.")
    assert example_text(line) == "question\nanswer"
    assert example_text({"text_input": "q", "output": "a"}) == "q\na"
