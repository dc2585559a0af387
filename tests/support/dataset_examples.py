"""Dataset examples for tests and the corpus generator: builders and a JSONL writer.

`example` makes one Vertex example, `distinct_examples` a set of them with no near duplicates
(random pseudo-words, the same in every process), `write_jsonl` writes lines as they are given,
malformed ones included. The local Cloud Storage server the dataset tests read `gs://` objects
from is production code (`tuning_operator.datasets.local_gcs`): the demo runs it too.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson

# Pseudo-words for generated text: random 3-9 letter strings, the same in every process.
WORDS = tuple(
    "".join(random.Random(n).choices("abcdefghijklmnopqrstuvwxyz", k=3 + n % 7))
    for n in range(3000)
)
LABELS = ("billing", "shipping", "returns", "account")


def example(prompt: str, answer: str, *, system: str | None = None) -> dict[str, Any]:
    """One Vertex example: a user turn and the model's answer."""
    line: dict[str, Any] = {
        "contents": [
            {"role": "user", "parts": [{"text": prompt}]},
            {"role": "model", "parts": [{"text": answer}]},
        ]
    }
    if system is not None:
        line["systemInstruction"] = {"parts": [{"text": system}]}
    return line


def distinct_examples(count: int, *, seed: int = 1, words: int = 40) -> list[dict[str, Any]]:
    """`count` ticket-routing examples of random words: no two are near duplicates."""
    rng = random.Random(seed)
    return [
        example("Ticket: " + " ".join(rng.choices(WORDS, k=words)), rng.choice(LABELS))
        for _ in range(count)
    ]


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    """Each item as one line: dicts are JSON-encoded, bytes and str written as they are."""
    with path.open("wb") as out:
        for item in lines:
            if isinstance(item, bytes):
                out.write(item)
            elif isinstance(item, str):
                out.write(item.encode())
            else:
                out.write(orjson.dumps(item) + b"\n")
    return path
