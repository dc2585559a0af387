"""The token estimate of one example, shared by the dataset pre-flight and the emulator.

Not Gemini's tokenizer (counting exactly would take an API call per example): UTF-8 bytes of
every text part / 4, rounded up, plus `FILE_PART_TOKENS` per `fileData` part (the cost of one
image). It lives with the catalog's limits, below both users, so they cannot drift apart.
"""

from __future__ import annotations

FILE_PART_TOKENS = 258


def estimate_tokens(text_bytes: int, file_parts: int = 0) -> int:
    """The token estimate for an example with `text_bytes` UTF-8 bytes of text."""
    return (text_bytes + 3) // 4 + file_parts * FILE_PART_TOKENS
