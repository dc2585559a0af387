"""Dataset URIs against policy prefixes: whole segments, nothing a reader could resolve away."""

from __future__ import annotations

import pytest

from tuning_operator.specs.gcs import GcsUriError, gcs_segments, within

WITHIN = [
    ("gs://acme/knowledge/x.jsonl", "gs://acme/knowledge", True),
    ("gs://acme/knowledge/x.jsonl", "gs://acme/knowledge/", True),
    ("gs://acme/knowledge/deep/x.jsonl", "gs://acme/knowledge", True),
    ("gs://acme/knowledge/x.jsonl", "gs://acme", True),
    ("gs://acme/knowledge/x.jsonl", "gs://acme/", True),
    ("gs://acme/knowledge-restricted/x.jsonl", "gs://acme/knowledge", False),
    ("gs://acme/knowledge-restricted/x.jsonl", "gs://acme/knowledge/", False),
    ("gs://acme-evil/knowledge/x.jsonl", "gs://acme", False),
    ("gs://acme/knowledge/../secret/x.jsonl", "gs://acme/knowledge/", False),
    ("gs://acme/knowledge/%2E%2E/secret/x.jsonl", "gs://acme/knowledge/", False),
    ("gs://acme/knowledge//x.jsonl", "gs://acme/knowledge/", False),
    ("gs://acme/knowledge/./x.jsonl", "gs://acme/knowledge/", False),
    ("gs://acme/knowledge/x.jsonl", "gs://acme/know", False),
    ("gs://acme/knowledge/x.jsonl", "gs://acme/knowledge/x.jsonl", True),
    ("gs://acme/Knowledge/x.jsonl", "gs://acme/knowledge/", False),
]


@pytest.mark.parametrize(("uri", "prefix", "expected"), WITHIN)
def test_prefix_matches_whole_segments_only(uri: str, prefix: str, expected: bool) -> None:
    """A prefix admits a URI only segment by segment; unsafe segments are never admitted."""
    assert within(uri, prefix) is expected


UNSAFE = [
    ("gs://acme/a/../b.jsonl", "a '..' path segment"),
    ("gs://acme/./b.jsonl", "a '.' path segment"),
    ("gs://acme/a//b.jsonl", "an empty path segment"),
    ("gs://acme/a/", "an empty path segment"),
    ("gs://acme/%2E%2E/b.jsonl", "percent-encoded"),
    ("gs://acme/a%2Fb.jsonl", "percent-encoded"),
    ("gs://acme/a%20b.jsonl", "percent-encoded"),
    ("gs://acme/a\n/b.jsonl", "a control character"),
    ("gs://Acme/b.jsonl", "is not a Cloud Storage bucket name"),
    ("gs://acme", "names a bucket, not an object"),
    ("https://acme/b.jsonl", "is not a gs:// URI"),
]


@pytest.mark.parametrize(("uri", "message"), UNSAFE)
def test_unsafe_uri_is_refused_with_the_reason(uri: str, message: str) -> None:
    """Each unsafe URI raises, and the message names what is wrong."""
    with pytest.raises(GcsUriError) as caught:
        gcs_segments(uri)
    assert message in str(caught.value)


def test_prefix_may_be_a_bucket_or_end_with_a_slash() -> None:
    """A policy prefix is a bucket or a folder, with or without its trailing '/'."""
    assert gcs_segments("gs://acme", prefix=True) == ("acme",)
    assert gcs_segments("gs://acme/k/", prefix=True) == gcs_segments("gs://acme/k", prefix=True)
