"""check_dataset end to end on local files: order of checks, options, cache, report shape."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.dataset_examples import distinct_examples
from tuning_operator.datasets import (
    CheckOptions,
    DatasetCheckCache,
    DatasetObject,
    DatasetObjects,
    DatasetReport,
    DatasetRole,
    FindingKind,
    Severity,
    Verdict,
    check_dataset,
)
from tuning_operator.specs.catalog import BaseModel


class CountingObjects(DatasetObjects):
    """The real local reader, counting how many files it opens."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @contextmanager
    def open_lines(self, obj: DatasetObject) -> Iterator[Iterator[bytes]]:
        self.opened.append(obj.uri)
        with super().open_lines(obj) as lines:
            yield lines


def kinds(report: DatasetReport) -> set[FindingKind]:
    return {t.kind for t in report.totals}


def test_cache_rechecks_only_when_the_file_or_the_model_changes(
    jsonl: Callable[..., Path], flash: BaseModel
) -> None:
    """Same file version and model: the cached report, no read; a new mtime or model: a read."""
    path = jsonl(distinct_examples(30))
    objects = CountingObjects()
    cache = DatasetCheckCache()
    first = check_dataset(str(path), model=flash, objects=objects, cache=cache)
    assert check_dataset(str(path), model=flash, objects=objects, cache=cache) is first
    assert len(objects.opened) == 1
    os.utime(path, ns=(1, 1))
    check_dataset(str(path), model=flash, objects=objects, cache=cache)
    other_model = dataclasses.replace(flash, name="other", max_tokens_per_example=10)
    check_dataset(str(path), model=other_model, objects=objects, cache=cache)
    assert len(objects.opened) == 3


def test_tokens_past_the_per_example_limit_are_not_billed(
    jsonl: Callable[..., Path], flash: BaseModel
) -> None:
    """Vertex truncates an example at the model's limit: the estimate bills up to it."""
    def text(i: int, size: int) -> dict[str, object]:
        return {"contents": [{"role": "user", "parts": [{"text": f"{i:04d}" + "a" * size}]},
                             {"role": "model", "parts": [{"text": "b" * 36}]}]}

    path = jsonl([text(i, 76) for i in range(20)] + [text(i, 396) for i in range(20, 30)])
    small = dataclasses.replace(flash, name="small", max_tokens_per_example=50)
    stats = check_dataset(str(path), model=small, objects=DatasetObjects()).training.stats
    assert stats.tokens_total == 20 * 29 + 10 * 109  # (4 + size + 36 bytes + 3) // 4 each
    assert stats.tokens_truncated == 10 * (109 - 50)
    assert stats.billable_tokens(3) == 3 * (20 * 29 + 10 * 50)
    whole = check_dataset(str(path), model=flash, objects=DatasetObjects()).training.stats
    assert whole.tokens_truncated == 0 and whole.billable_tokens(3) == 3 * whole.tokens_total


def test_a_missing_file_is_a_finding_and_is_not_cached(
    tmp_path: Path, jsonl: Callable[..., Path], flash: BaseModel
) -> None:
    """A dataset uploaded after a failed check is checked, not served from the cache."""
    cache = DatasetCheckCache()
    path = tmp_path / "train.jsonl"
    missing = check_dataset(str(path), model=flash, cache=cache)
    assert missing.verdict is Verdict.ERRORS and kinds(missing) == {
        FindingKind.UNREADABLE, FindingKind.NO_VALIDATION_SET}
    assert missing.reason() == f"{path}: no such file"
    jsonl(distinct_examples(30))
    assert FindingKind.UNREADABLE not in kinds(check_dataset(str(path), model=flash, cache=cache))


def test_the_size_limit_is_checked_before_reading(
    jsonl: Callable[..., Path], flash: BaseModel
) -> None:
    """A file over the model's limit is never opened."""
    path = jsonl(distinct_examples(30))
    objects = CountingObjects()
    small = dataclasses.replace(flash, max_training_file_bytes=100)
    report = check_dataset(str(path), model=small, objects=objects)
    assert objects.opened == []
    assert not report.training.read
    assert FindingKind.FILE_TOO_LARGE in kinds(report)


def test_leakage_is_an_error_unless_allowed(jsonl: Callable[..., Path], flash: BaseModel) -> None:
    """The same example in both sets: error by default, warning with allow_leakage."""
    train = distinct_examples(30)
    val = jsonl(train[3:5], name="val.jsonl")
    path = jsonl(train)
    strict = check_dataset(str(path), str(val), model=flash)
    allowed = check_dataset(str(path), str(val), model=flash,
                            options=CheckOptions(allow_leakage=True))
    assert {(t.kind, t.severity, t.count) for t in strict.totals} >= {
        (FindingKind.LEAKAGE_EXACT, Severity.ERROR, 2)}
    assert strict.verdict is Verdict.ERRORS
    assert allowed.verdict is Verdict.WARNINGS


def test_duplicates_inside_the_validation_set_are_reported_there(
    jsonl: Callable[..., Path], flash: BaseModel
) -> None:
    """Hygiene applies to the validation file too, with its own line numbers."""
    val_examples = distinct_examples(5, seed=3)
    val = jsonl([*val_examples, val_examples[0]], name="val.jsonl")
    report = check_dataset(str(jsonl(distinct_examples(30))), str(val), model=flash)
    (dup,) = [f for f in report.findings if f.kind is FindingKind.EXACT_DUPLICATE]
    assert (dup.dataset, dup.line) == (DatasetRole.VALIDATION, 6)


def test_a_thousand_bad_lines_list_a_few_and_count_all(
    jsonl: Callable[..., Path], flash: BaseModel
) -> None:
    """The listing is capped per kind; the totals and the verdict are exact."""
    path = jsonl(['{"contents": [\n'] * 1000)
    report = check_dataset(str(path), model=flash, options=CheckOptions(listed_per_kind=3))
    truncated = [f for f in report.findings if f.kind is FindingKind.TRUNCATED_LINE]
    assert [f.line for f in truncated] == [1, 2, 3]
    assert {(t.kind, t.count) for t in report.totals} >= {(FindingKind.TRUNCATED_LINE, 1000)}
    assert report.training.stats.lines == 1000 and report.training.stats.examples == 0


def test_the_hygiene_sample_is_bounded_by_the_budget(
    jsonl: Callable[..., Path], flash: BaseModel
) -> None:
    """Beyond the budget every k-th example is sampled (k = ceil(size / budget))."""
    path = jsonl(distinct_examples(400))
    budget = path.stat().st_size // 7
    sampled = check_dataset(str(path), model=flash,
                            options=CheckOptions(sample_budget_bytes=budget))
    thorough = check_dataset(str(path), model=flash,
                             options=CheckOptions(sample_budget_bytes=None))
    every = math.ceil(path.stat().st_size / budget)
    assert sampled.training.sampled_examples == math.ceil(400 / every)
    assert thorough.training.sampled_examples == 400


def test_report_json_is_camel_case_and_complete(
    jsonl: Callable[..., Path], flash: BaseModel
) -> None:
    """to_dict() is JSON-ready: verdict, counts, camelCase statistics, recommendation."""
    report = check_dataset(str(jsonl(distinct_examples(30))), model=flash)
    document = json.loads(json.dumps(report.to_dict()))
    assert document["verdict"] == "warnings"
    assert document["training"]["stats"]["tokensP95"] > 0
    assert document["recommendation"]["adapterSize"] == 4
    assert {f["kind"] for f in document["findings"]} == {"few-examples", "no-validation-set"}


def test_the_report_names_the_file_format(jsonl: Callable[..., Path], flash: BaseModel) -> None:
    """Vertex, Gemini API (mostly `text_input`/`output` lines) or unknown (no valid example)."""
    vertex = jsonl(distinct_examples(3), name="v.jsonl")
    gemini = jsonl([{"text_input": "q", "output": "a"}] * 3, name="g.jsonl")
    broken = jsonl(["[]\n"], name="b.jsonl")
    formats = [check_dataset(str(p), model=flash).training.format.value
               for p in (vertex, gemini, broken)]
    assert formats == ["vertex", "gemini-api", "unknown"]


def _image_example(i: int) -> dict[str, object]:
    return {"contents": [
        {"role": "user", "parts": [{"text": f"describe picture {i}"},
                                   {"fileData": {"mimeType": "image/png",
                                                 "fileUri": f"gs://pics/{i}.png"}}]},
        {"role": "model", "parts": [{"text": f"picture {i}"}]}]}


@pytest.mark.parametrize(("training", "validation", "too_many"), [
    (30, 5, False),   # at the fixed maximum
    (30, 6, False),   # 30 % of 30 training examples = 9 is more than 5
    (30, 9, False),
    (30, 10, True),   # over both
    (10, 6, True),    # 30 % of 10 = 3: the fixed 5 holds
])
def test_validation_set_size_follows_the_5000_or_30_percent_rule(
    jsonl: Callable[..., Path], flash: BaseModel, training: int, validation: int,
    too_many: bool,
) -> None:
    """The validation limit is the model's fixed maximum, or its share of the training set when
    that is more (5,000 / 30 % in the catalog; 5 / 30 % here, to keep files small)."""
    model = dataclasses.replace(flash, max_validation_examples=5,
                                validation_share_of_training=0.3)
    train = distinct_examples(training)
    val = jsonl(distinct_examples(validation, seed=9), name="val.jsonl")
    report = check_dataset(str(jsonl(train)), str(val), model=model)
    assert (FindingKind.TOO_MANY_VALIDATION_EXAMPLES in kinds(report)) is too_many
    if too_many:
        (finding,) = [f for f in report.findings
                      if f.kind is FindingKind.TOO_MANY_VALIDATION_EXAMPLES]
        assert f"with {training:,} training examples" in finding.message
        assert "catalog rule: validation-set size" in finding.message


@pytest.mark.parametrize(("multimodal", "limit_text", "limit_multimodal", "too_many"), [
    (False, 25, 100, True),
    (False, 30, 10, False),
    (True, 10, 25, True),
    (True, 5, 30, False),
])
def test_training_examples_limit_depends_on_modality(
    jsonl: Callable[..., Path], flash: BaseModel, multimodal: bool, limit_text: int,
    limit_multimodal: int, too_many: bool,
) -> None:
    """A text-only dataset is held to the text limit, one with file parts to the multimodal one."""
    model = dataclasses.replace(flash, max_training_examples_text=limit_text,
                                max_training_examples_multimodal=limit_multimodal)
    lines = [_image_example(i) for i in range(30)] if multimodal else distinct_examples(30)
    report = check_dataset(str(jsonl(lines)), model=model)
    assert (FindingKind.TOO_MANY_TRAINING_EXAMPLES in kinds(report)) is too_many
