"""Train-serving skew signals: mixed system instructions and mixed prompt layouts.

Seeds 000/001/004: whatever preamble, system instruction or `question:/context:` layout the
training data uses, production traffic must use too. A dataset that mixes them trains the model
on a mixture while production sends one, so a mix is a warning.

System instructions are tallied over every example (cheap: their text is already hashed for the
duplicate key). A prompt layout is the sequence of `Label:` markers at line starts in the first
user turn (at most MAX_LABELS, in its first LAYOUT_SCAN_CHARS characters); finding them takes a
regular expression, so layouts are tallied on the hygiene sample only. Both tallies keep at most
MAX_TRACKED distinct values; beyond that they count "other".
"""

from __future__ import annotations

import re
from typing import Any

from tuning_operator.datasets.findings import FindingKind, FindingLog

MAX_TRACKED = 32
MAX_LABELS = 4
LAYOUT_SCAN_CHARS = 4000
_LABEL = re.compile(r"(?m)^[ \t]*([A-Za-z][\w/-]*(?: [\w/-]+){0,2})[ \t]*:(?=\s|$)")


class Tally:
    """Counts and first line per value, for at most MAX_TRACKED distinct values."""

    def __init__(self) -> None:
        self.entries: dict[Any, list[int]] = {}
        self.other = 0

    def add(self, value: Any, line: int, count: int = 1) -> None:
        entry = self.entries.get(value)
        if entry is not None:
            entry[0] += count
        elif len(self.entries) < MAX_TRACKED:
            self.entries[value] = [count, line]
        else:
            self.other += count

    def distinct(self) -> int:
        return len(self.entries) + (1 if self.other else 0)

    def most_common(self, n: int) -> list[tuple[Any, int, int]]:
        """(value, count, first line), most frequent first."""
        ranked = sorted(self.entries.items(), key=lambda item: (-item[1][0], item[1][1]))
        return [(value, count, first) for value, (count, first) in ranked[:n]]


def prompt_layout(obj: dict[str, Any]) -> tuple[str, ...]:
    """The `Label:` markers of the first user turn, lower-cased, repeats folded."""
    contents = obj.get("contents")
    if isinstance(contents, list):
        text = "\n".join(p["text"] for p in contents[0]["parts"] if "text" in p)
    else:
        text = obj["text_input"]
    labels: list[str] = []
    for label in _LABEL.findall(text, 0, LAYOUT_SCAN_CHARS):
        folded = " ".join(label.lower().split())
        if folded not in labels:
            labels.append(folded)
            if len(labels) == MAX_LABELS:
                break
    return tuple(labels)


def describe_layout(layout: tuple[str, ...]) -> str:
    return "/".join(f"{label}:" for label in layout) if layout else "no labels"


class SkewSignals:
    """Tallies one file's system instructions (all examples) and prompt layouts (sample)."""

    def __init__(self) -> None:
        self.system = Tally()
        self.layouts = Tally()
        self.examples = 0
        self.without_system = 0
        self.first_without_system = 0

    def add_system_instruction(self, text: str | None, line: int, *, count: int = 1) -> None:
        """`count` consecutive examples from `line` on have this system instruction (or none)."""
        self.examples += count
        if text is None:
            self.without_system += count
            if not self.first_without_system:
                self.first_without_system = line
        else:
            self.system.add(text, line, count)

    def add_layout(self, obj: dict[str, Any], line: int) -> None:
        self.layouts.add(prompt_layout(obj), line)

    def report(self, log: FindingLog) -> None:
        with_system = self.examples - self.without_system
        if with_system and self.without_system:
            log.add(
                FindingKind.MIXED_SYSTEM_INSTRUCTIONS,
                f"`systemInstruction` is set in {with_system} of {self.examples} examples"
                f" (first without: line {self.first_without_system}); train with the system"
                " instruction production sends, in every example",
                line=self.first_without_system,
            )
        if self.system.distinct() > 1:
            firsts = ", ".join(str(first) for _, _, first in self.system.most_common(3))
            log.add(
                FindingKind.MIXED_SYSTEM_INSTRUCTIONS,
                f"{self.system.distinct()} different system instructions (first lines {firsts});"
                " production sends one: train on that one",
            )
        if self.layouts.distinct() > 1:
            shown = "; ".join(
                f"{describe_layout(layout)} × {count} (first line {first})"
                for layout, count, first in self.layouts.most_common(3)
            )
            log.add(
                FindingKind.MIXED_PROMPT_LAYOUTS,
                f"prompts use {self.layouts.distinct()} layouts (sampled examples): {shown};"
                " production must send the layout the model is trained on",
            )
