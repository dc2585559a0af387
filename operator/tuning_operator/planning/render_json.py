"""Indented JSON through orjson, byte for byte what `json.dumps(document, indent=2)` writes.

With an indent, the standard library encodes in pure Python: a tenth of a cold `plan --format
json` of 10,000 jobs (issue 31). orjson encodes the same structure with the same layout, and
differs from `json` in three ways only, each kept out here so that no output changes: it
writes non-ASCII characters (and DEL) as UTF-8 where `json` escapes them (`ensure_ascii`), so
they are escaped after it, as `json` does, astral characters as surrogate pairs; it writes NaN
and the infinities as null and floats below 1e-4 without an exponent, so a document holding
such a float, a non-string key or anything else orjson refuses (a dataclass, a datetime: `json`
refuses them too) is written by `json` itself.
"""

from __future__ import annotations

import json
import math
import re

_ESCAPED = re.compile("[^\x00-\x7e]")  # what `json` escapes that orjson writes as it is
_SMALLEST_PLAIN = 1e-4  # below this `repr` (hence `json`) writes an exponent, orjson may not


def indented_json(document: object) -> str:
    """`json.dumps(document, indent=2)`, the same text, through orjson when it writes alike."""
    import orjson  # only `plan --format json` needs it

    if not _floats_alike(document):
        return json.dumps(document, indent=2)
    try:
        text = orjson.dumps(document, default=_refused, option=orjson.OPT_INDENT_2
                            | orjson.OPT_PASSTHROUGH_DATACLASS
                            | orjson.OPT_PASSTHROUGH_DATETIME).decode()
    except TypeError:  # orjson.JSONEncodeError: a lone surrogate, an int beyond 64 bits, …
        return json.dumps(document, indent=2)  # `json`'s answer, whatever it is
    if text.isascii() and "\x7f" not in text:
        return text
    return _ESCAPED.sub(_escape, text)  # outside strings JSON is ASCII: only strings change


def _refused(value: object) -> object:
    raise TypeError(f"{type(value).__name__} is left to json")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | code >> 10:04x}\\u{0xDC00 | code & 0x3FF:04x}"


def _floats_alike(document: object) -> bool:
    """Whether every float in `document` is one orjson writes as `json` does.

    The rest orjson writes alike or refuses (a non-string key, an int beyond 64 bits, a lone
    surrogate: `json` then writes it), so only floats are looked for, without a call per value.
    """
    pending: list[object] = [[document]]
    while pending:
        container = pending.pop()
        values = container.values() if isinstance(container, dict) else container
        for value in values:  # type: ignore[attr-defined]
            if type(value) is str or value is None:
                continue
            if isinstance(value, float):
                number = abs(value)
                if not (math.isfinite(number) and (number == 0 or number >= _SMALLEST_PLAIN)):
                    return False
            elif isinstance(value, dict | list | tuple):
                pending.append(value)
    return True
