"""Writes the dataset corpus: good/*.jsonl (must pass) and bad/*.jsonl with cases.yaml.

Each bad file is a good 24-example base with one defect; cases.yaml names the finding it must
produce (kind, file, line, part of the message) and, where the defect needs it, the model or a
lowered limit. Run it again after changing a case:
`.venv/bin/python -m tests.operator.datasets.corpus.generate` (from the repository root).
The test (test_corpus.py) only reads what this writes.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import yaml

from tests.support.dataset_examples import distinct_examples, example, write_jsonl

HERE = Path(__file__).parent
BASE = distinct_examples(24, seed=11)
VALIDATION = distinct_examples(20, seed=99)
VALIDATION_FILE = "good/validation.jsonl"
IMAGE = {"fileData": {"mimeType": "image/png", "fileUri": "gs://corpus/images/ticket.png"}}


def line(item: Any) -> bytes:
    return orjson.dumps(item) + b"\n"


def base_with(**replacements: Any) -> list[Any]:
    """The base, with line N (1-based, key `l<N>`) replaced."""
    lines: list[Any] = list(BASE)
    for key, item in replacements.items():
        lines[int(key[1:]) - 1] = item
    return lines


def turns(*roles_texts: tuple[Any, Any]) -> dict[str, Any]:
    return {"contents": [{"role": r, "parts": [{"text": t}]} for r, t in roles_texts]}


def edited(item: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A deep copy of `item` with the value at `path` replaced (or removed, for `...`)."""
    result = copy.deepcopy(item)
    target = result
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    elif isinstance(target, list) and path[-1] == len(target):
        target.append(value)
    else:
        target[path[-1]] = value
    return result


def one_word_changed(item: dict[str, Any]) -> dict[str, Any]:
    prompt = item["contents"][0]["parts"][0]["text"]
    return edited(item, ("contents", 0, "parts", 0, "text"), prompt.rsplit(" ", 1)[0] + " zzz")


def gemini(text_input: Any, output: Any) -> dict[str, Any]:
    return {"text_input": text_input, "output": output}


def gemini_base() -> list[Any]:
    return [gemini(e["contents"][0]["parts"][0]["text"], e["contents"][1]["parts"][0]["text"])
            for e in BASE]


FIRST = BASE[0]
PROMPT = ("contents", 0, "parts", 0, "text")
ANSWER_PARTS = ("contents", 1, "parts")

# name: (lines, expected finding, extra settings)
BAD: dict[str, tuple[list[Any] | None, dict[str, Any], dict[str, Any]]] = {
    "bom": (base_with(l1=b"\xef\xbb\xbf" + line(FIRST)),
            {"kind": "bom", "line": 1, "message": "byte-order mark"}, {}),
    "blank-line": (base_with(l7=b"\n"), {"kind": "blank-line", "line": 7,
                                         "message": "blank line"}, {}),
    "truncated-last-line": (base_with(l24=line(BASE[23])[:60]),
                            {"kind": "truncated-line", "line": 24, "message": "cut off"}, {}),
    "truncated-middle-line": (base_with(l9=line(BASE[8])[:-12] + b"\n"),
                              {"kind": "truncated-line", "line": 9, "message": "truncated"}, {}),
    "trailing-garbage": (base_with(l5=line(BASE[4])[:-1] + b" ok\n"),
                         {"kind": "trailing-data", "line": 5, "message": "after the JSON"}, {}),
    "two-objects-one-line": (base_with(l5=line(BASE[4])[:-1] + line(BASE[5])),
                             {"kind": "trailing-data", "line": 5, "message": "one object"}, {}),
    "not-utf8": (base_with(l3=line(FIRST).replace(b"Ticket", b"Ticket caf\xe9")),
                 {"kind": "not-utf8", "line": 3, "message": "not valid UTF-8"}, {}),
    "single-quotes": (base_with(l8="{'contents': []}\n"),
                      {"kind": "invalid-json", "line": 8, "message": "not valid JSON"}, {}),
    "json-array-line": (base_with(l2="[1, 2]\n"),
                        {"kind": "not-an-object", "line": 2, "message": "a JSON list"}, {}),
    "openai-messages": (base_with(l4={"messages": [{"role": "user", "content": "hi"},
                                                   {"role": "assistant", "content": "yo"}]}),
                        {"kind": "missing-contents", "line": 4, "message": "keys: messages"}, {}),
    "contents-string": (base_with(l6={"contents": "hello"}),
                        {"kind": "contents-not-a-list", "line": 6, "message": "is a str"}, {}),
    "contents-empty": (base_with(l6={"contents": []}),
                       {"kind": "contents-empty", "line": 6, "message": "is empty"}, {}),
    "turn-not-object": (base_with(l6={"contents": ["hello", FIRST["contents"][1]]}),
                        {"kind": "turn-not-an-object", "line": 6, "message": "contents[0]"}, {}),
    "role-assistant": (base_with(l10=edited(FIRST, ("contents", 1, "role"), "assistant")),
                       {"kind": "role-invalid", "line": 10, "message": '"assistant"'}, {}),
    "role-missing": (base_with(l10=edited(FIRST, ("contents", 0, "role"), ...)),
                     {"kind": "role-invalid", "line": 10, "message": "role` is null"}, {}),
    "role-system-turn": (base_with(l10=turns(("system", "be brief"), ("user", "hi"),
                                             ("model", "hello"))),
                         {"kind": "role-invalid", "line": 10, "message": '"system"'}, {}),
    "first-turn-model": (base_with(l11=turns(("model", "hi"), ("user", "a"), ("model", "b"))),
                         {"kind": "first-turn-not-user", "line": 11, "message": "starts with"},
                         {}),
    "two-user-turns": (base_with(l12=turns(("user", "a"), ("user", "b"), ("model", "c"))),
                       {"kind": "roles-not-alternating", "line": 12, "message": "contents[1]"},
                       {}),
    "model-turn-missing": (base_with(l13=turns(("user", "where is my parcel?"))),
                           {"kind": "last-turn-not-model", "line": 13,
                            "message": "ends with a user turn"}, {}),
    "parts-empty": (base_with(l14=edited(FIRST, ANSWER_PARTS, [])),
                    {"kind": "parts-empty", "line": 14, "message": "contents[1].parts"}, {}),
    "parts-missing": (base_with(l14=edited(FIRST, ANSWER_PARTS, ...)),
                      {"kind": "parts-empty", "line": 14, "message": "missing or empty"}, {}),
    "text-empty": (base_with(l15=edited(FIRST, (*ANSWER_PARTS, 0, "text"), "")),
                   {"kind": "text-empty", "line": 15, "message": "contents[1].parts[0].text"},
                   {}),
    "text-whitespace": (base_with(l15=edited(FIRST, PROMPT, "  \n ")),
                        {"kind": "text-empty", "line": 15, "message": "is empty"}, {}),
    "text-not-string": (base_with(l16=edited(FIRST, PROMPT, 42)),
                        {"kind": "part-invalid", "line": 16, "message": "not a string"}, {}),
    "inline-data": (base_with(l16=edited(FIRST, (*ANSWER_PARTS, 0),
                                         {"inlineData": {"mimeType": "image/png",
                                                         "data": "iVBORw0KGgo="}})),
                    {"kind": "part-invalid", "line": 16, "message": "inline data"}, {}),
    "file-uri-https": (base_with(l17=edited(FIRST, ("contents", 0, "parts", 1), {
        "fileData": {"mimeType": "image/png", "fileUri": "https://example.com/a.png"}})),
                       {"kind": "file-uri-not-gcs", "line": 17, "message": "Cloud Storage"}, {}),
    "file-data-no-mime": (base_with(l17=edited(FIRST, ("contents", 0, "parts", 1), {
        "fileData": {"fileUri": "gs://corpus/a.png"}})),
                          {"kind": "file-data-invalid", "line": 17, "message": "mimeType"}, {}),
    "image-on-text-only-model": (base_with(l18=edited(FIRST, ("contents", 0, "parts", 1), IMAGE)),
                                 {"kind": "modality-unsupported", "line": 18,
                                  "message": "gemini-1.0-pro-002 tunes on text only"},
                                 {"model": "gemini-1.0-pro-002"}),
    "system-instruction-empty": (base_with(l19={**FIRST, "systemInstruction": {"parts": []}}),
                                 {"kind": "system-instruction-invalid", "line": 19,
                                  "message": "non-empty text"}, {}),
    "system-instruction-string": (base_with(l19={**FIRST, "systemInstruction": "be nice"}),
                                  {"kind": "system-instruction-invalid", "line": 19,
                                   "message": "systemInstruction"}, {}),
    "token-limit": (base_with(l4=edited(FIRST, PROMPT, "Ticket: " + "word " * 400)),
                    {"kind": "too-many-tokens", "line": 4, "message": "initial training loss"},
                    {"limits": {"maxTokensPerExample": 300}}),
    "near-token-limit": (base_with(l4=edited(FIRST, PROMPT, "Ticket: " + "word " * 220)),
                         {"kind": "near-token-limit", "line": 4, "message": "truncated"},
                         {"limits": {"maxTokensPerExample": 300}}),
    "oversize": (list(BASE), {"kind": "file-too-large", "message": "not read further"},
                 {"limits": {"maxTrainingFileBytes": 4096}}),
    "too-few-examples": (BASE[:15], {"kind": "too-few-examples",
                                     "message": "15 valid examples"}, {}),
    "empty-file": ([], {"kind": "too-few-examples", "message": "0 valid examples"}, {}),
    "too-many-validation-examples": (list(BASE), {"kind": "too-many-validation-examples",
                                                  "dataset": "validation",
                                                  "message": "at most 10 validation"},
                                     {"limits": {"maxValidationExamples": 10}}),
    "validation-empty": (list(BASE), {"kind": "too-few-examples", "dataset": "validation",
                                      "message": "no valid examples"},
                         {"validation": "bad/empty-file.jsonl"}),
    "leakage-exact": (base_with(l6=VALIDATION[2]),
                      {"kind": "leakage-exact", "line": 6, "message": "validation line 3"}, {}),
    "leakage-near": (base_with(l6=one_word_changed(VALIDATION[2])),
                     {"kind": "leakage-near", "line": 6, "message": "validation line 3"}, {}),
    "gemini-api-format": (gemini_base(), {"kind": "gemini-api-format", "line": 1,
                                          "message": "dataset convert --from gemini-api"}, {}),
    "gemini-api-input-too-long": ([*gemini_base()[:23], gemini("x" * 40_001, "long")],
                                  {"kind": "gemini-api-input-too-long", "line": 24,
                                   "message": "limit is 40,000"},
                                  {"model": "gemini-1.5-flash-002",
                                   "also": ["gemini-api-format"]}),
    "gemini-api-output-too-long": ([*gemini_base()[:23], gemini("short", "y" * 5_001)],
                                   {"kind": "gemini-api-output-too-long", "line": 24,
                                    "message": "limit is 5,000"},
                                   {"model": "gemini-1.5-flash-002",
                                    "also": ["gemini-api-format"]}),
    "gemini-api-field-missing": ([*gemini_base()[:23], {"text_input": "no answer"}],
                                 {"kind": "gemini-api-field-invalid", "line": 24,
                                  "message": "`output` must be"},
                                 {"also": ["gemini-api-format"]}),
    "missing-file": (None, {"kind": "unreadable", "message": "no such file"}, {}),
    # Warnings: Vertex accepts these, the best practices do not.
    "exact-duplicate": (base_with(l20=BASE[2]), {"kind": "exact-duplicate", "line": 20,
                                                 "message": "line 3 is repeated"}, {}),
    "near-duplicate": (base_with(l20=one_word_changed(BASE[2])),
                       {"kind": "near-duplicate", "line": 20, "message": "similar to line 3"},
                       {}),
    "mixed-system-instructions": ([{**e, "systemInstruction": {"parts": [{"text": "Route it."}]}}
                                   for e in BASE[:12]] + BASE[12:],
                                  {"kind": "mixed-system-instructions", "line": 13,
                                   "message": "set in 12 of 24"}, {}),
    "mixed-prompt-layouts": (BASE[:12] + [edited(e, PROMPT, "Question: " + e["contents"][0][
        "parts"][0]["text"][8:] + "\nContext: none") for e in BASE[12:]],
                             {"kind": "mixed-prompt-layouts", "message": "question:/context:"},
                             {}),
    "few-examples": (list(BASE), {"kind": "few-examples", "message": "24 examples"}, {}),
    "no-validation-set": (list(BASE), {"kind": "no-validation-set",
                                       "message": "keep a separate one"},
                          {"validation": None}),
}


def good_files() -> dict[str, list[Any]]:
    multiturn = [
        {"systemInstruction": {"parts": [{"text": "You route support tickets."}]},
         "contents": [*a["contents"], *b["contents"]]}
        for a, b in zip(distinct_examples(120, seed=21), distinct_examples(120, seed=22),
                        strict=True)
    ]
    with_images = [edited(e, ("contents", 0, "parts", 1), IMAGE)
                   for e in distinct_examples(120, seed=31)]
    snake_case = [
        {"system_instruction": {"parts": [{"text": "Route it."}]},
         "contents": [{"role": "user", "parts": [e["contents"][0]["parts"][0], {"file_data": {
             "mime_type": "application/pdf", "file_uri": "gs://corpus/t.pdf"}}]},
                      e["contents"][1]]}
        for e in distinct_examples(120, seed=41)
    ]
    unicode = [example(f"Ticket: {e['contents'][0]['parts'][0]['text'][8:]} 配送が遅れています"
                       " — Lieferung verspätet", "配送")
               for e in distinct_examples(120, seed=51)]
    crlf = [line(e)[:-1] + b"\r\n" for e in distinct_examples(120, seed=61)]
    crlf[-1] = crlf[-1].rstrip(b"\r\n")  # and no newline after the last line
    return {
        "train": distinct_examples(120, seed=5),
        "multiturn-system-instruction": multiturn,
        "file-data-images": with_images,
        "snake-case-fields": snake_case,
        "unicode": unicode,
        "crlf-no-final-newline": crlf,
    }


def main() -> None:
    for folder in ("good", "bad"):
        (HERE / folder).mkdir(exist_ok=True)
        for old in (HERE / folder).glob("*.jsonl"):
            old.unlink()
    write_jsonl(HERE / VALIDATION_FILE, list(VALIDATION))
    for name, lines in good_files().items():
        write_jsonl(HERE / "good" / f"{name}.jsonl", lines)
    cases = []
    for name, (lines, expect, settings) in BAD.items():
        if lines is not None:
            write_jsonl(HERE / "bad" / f"{name}.jsonl", lines)
        validation = settings.get("validation", VALIDATION_FILE)
        case = {"name": name, "file": f"bad/{name}.jsonl", "validation": validation,
                "expect": {"dataset": "training", **expect}}
        for key in ("model", "limits", "also"):
            if key in settings:
                case[key] = settings[key]
        cases.append(case)
    header = "# Generated by generate.py: each bad dataset and the finding it must produce.\n"
    (HERE / "cases.yaml").write_text(header + yaml.safe_dump(cases, sort_keys=False, width=100))


if __name__ == "__main__":
    main()
