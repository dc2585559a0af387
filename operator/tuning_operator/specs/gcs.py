"""Cloud Storage URIs as what they are: a bucket and a list of path segments.

The team policy admits datasets by prefix. Compared as strings, `gs://acme/knowledge` admits
`gs://acme/knowledge-restricted/x.jsonl`, and `gs://acme/ok/../secret/x.jsonl` starts with
`gs://acme/ok/`. So a URI is split into segments, a segment that some reader could resolve to
something else (`..`, `.`, empty, percent-encoded) is refused, and a prefix matches whole
segments only. Pure: no network, no Cloud library.
"""

from __future__ import annotations

import re

SCHEME = "gs://"
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")


class GcsUriError(ValueError):
    """A gs:// URI that cannot be compared safely; the message says why and what to write."""


def gcs_segments(uri: str, *, prefix: bool = False) -> tuple[str, ...]:
    """The bucket and the object path segments of `uri`; GcsUriError when unsafe.

    `prefix`: a policy prefix, which may end with `/` (it makes no difference) or be a bucket.
    """
    if not uri.startswith(SCHEME):
        raise GcsUriError(f"{uri!r} is not a gs:// URI; write gs://BUCKET/PATH")
    bucket, _, path = uri[len(SCHEME):].partition("/")
    if not _BUCKET.fullmatch(bucket):
        raise GcsUriError(f"{uri!r}: {bucket!r} is not a Cloud Storage bucket name (lowercase"
                          " letters, digits, '-', '_' and '.', 3 to 222 characters)")
    if prefix and path.endswith("/"):
        path = path[:-1]
    segments = tuple(path.split("/")) if path else ()
    for segment in segments:
        problem = _segment_problem(segment)
        if problem:
            raise GcsUriError(f"{uri!r} has {problem}; write the object path without it")
    if not prefix and not segments:
        raise GcsUriError(f"{uri!r} names a bucket, not an object; write gs://BUCKET/PATH")
    return (bucket, *segments)


def _segment_problem(segment: str) -> str | None:
    if segment == "":
        return "an empty path segment ('//' or a trailing '/')"
    if segment in (".", ".."):
        return f"a {segment!r} path segment"
    if "%" in segment:
        return f"a percent-encoded path segment ({segment!r})"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in segment):
        return "a control character"
    return None


def within(uri: str, prefix: str) -> bool:
    """True when `uri` lies under `prefix`, compared segment by segment (both must be safe)."""
    try:
        path, head = gcs_segments(uri), gcs_segments(prefix, prefix=True)
    except GcsUriError:
        return False
    return path[: len(head)] == head
