"""List paging as Vertex does it: an opaque page token bound to the parent and the filter.

A token carries the create-order position after which the next page starts and a fingerprint
of the query; a token replayed against another parent or filter is INVALID_ARGUMENT, as Vertex
answers it.
"""

from __future__ import annotations

import base64
import hashlib

import orjson

from tuning_operator.emulator.status import invalid_argument


def fingerprint(parent: str, filter_text: str) -> str:
    """What a page token is bound to: the parent and the filter of the first request."""
    return hashlib.sha256(f"{parent}\n{filter_text}".encode()).hexdigest()[:16]


def page_token(*, page_end: int, fingerprint: str) -> str:
    """The token of the page that starts after create-order position `page_end`."""
    raw = orjson.dumps({"after": page_end, "query": fingerprint})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_page_token(token: str, fingerprint: str) -> int:
    """The create-order position after which the page starts (0 for the first page)."""
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        document = orjson.loads(base64.urlsafe_b64decode(padded))
        after, query = int(document["after"]), str(document["query"])
    except (ValueError, KeyError, TypeError):
        raise invalid_argument(f"Invalid page_token {token!r}.") from None
    if query != fingerprint:
        raise invalid_argument(
            "page_token was issued for another parent or filter; repeat the first request."
        )
    return after
