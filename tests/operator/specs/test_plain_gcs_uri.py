"""The model's fast check of dataset URIs accepts only what `gcs_segments` accepts."""

from __future__ import annotations

import pytest

from tuning_operator.specs.gcs import GcsUriError, gcs_segments
from tuning_operator.specs.model import _PLAIN_GCS

URIS = [
    "gs://bucket/x.jsonl", "gs://my-bucket.eu/a/b/c.jsonl", "gs://b_1/.../x.jsonl",
    "gs://bucket/.hidden/x.jsonl", "gs://bucket/a..b/x.jsonl", "gs://bucket/é/x.jsonl",
    "gs://bucket/a\x85b/x.jsonl", "gs://bucket/../x.jsonl", "gs://bucket/./x.jsonl",
    "gs://bucket/a/../x.jsonl", "gs://bucket/a/..", "gs://bucket/a/.", "gs://bucket//x.jsonl",
    "gs://bucket/x.jsonl/", "gs://bucket/a%2Fb.jsonl", "gs://bucket/a\x00.jsonl",
    "gs://bucket/a\x1f.jsonl", "gs://bucket/a\x7f.jsonl", "gs://bucket", "gs://bucket/",
    "gs://Bucket/x.jsonl", "gs://b/x.jsonl", "gs://-bucket/x.jsonl", "s3://bucket/x.jsonl",
    "gs://bucket/x.jsonl\n", "gs://bucket/a b.jsonl",
]


def _accepted(uri: str) -> bool:
    try:
        gcs_segments(uri)
    except GcsUriError:
        return False
    return True


@pytest.mark.parametrize("uri", URIS, ids=[repr(u) for u in URIS])
def test_fast_path_never_accepts_what_the_segment_check_refuses(uri: str) -> None:
    """A match implies acceptance; a refused URI never matches (its message comes from the
    full check)."""
    if _PLAIN_GCS.fullmatch(uri):
        assert _accepted(uri)
    if not _accepted(uri):
        assert _PLAIN_GCS.fullmatch(uri) is None


def test_ordinary_dataset_uris_take_the_fast_path() -> None:
    """What job files usually hold matches, so the full check runs only for odd URIs."""
    for uri in ("gs://acme-datasets/support/v3/train.jsonl", "gs://b_1.eu/x/.../y.jsonl"):
        assert _PLAIN_GCS.fullmatch(uri)
