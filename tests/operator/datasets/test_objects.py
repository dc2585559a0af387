"""Reading datasets: local files, and gs:// over the wire against fake-gcs-server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.dataset_examples import distinct_examples, write_jsonl
from tuning_operator.datasets import (
    DatasetCheckCache,
    DatasetNotFound,
    DatasetObjects,
    FindingKind,
    Verdict,
    check_dataset,
)
from tuning_operator.datasets.objects import iter_chunk_lines, split_gcs_uri
from tuning_operator.errors import TemporaryError
from tuning_operator.specs.catalog import BaseModel


@pytest.mark.parametrize(
    ("chunks", "lines"),
    [
        ([b"a\nb", b"c\n", b"d"], [b"a", b"bc", b"d"]),
        ([b"a\n", b"\n", b"b\n"], [b"a", b"", b"b"]),
        ([b"", b"x"], [b"x"]),
        ([], []),
    ],
)
def test_chunks_split_into_lines(chunks: list[bytes], lines: list[bytes]) -> None:
    """Lines may span chunks; a final newline adds no empty line."""
    assert list(iter_chunk_lines(iter(chunks))) == lines


@pytest.mark.parametrize("uri", ["gs://bucket", "gs:///x.jsonl", "s3://b/x.jsonl"])
def test_malformed_gcs_uris_are_not_found(uri: str) -> None:
    """A URI without bucket and object is a permanent error, not a crash."""
    with pytest.raises(DatasetNotFound):
        split_gcs_uri(uri)


def test_local_version_is_mtime_and_size(jsonl: Callable[..., Path]) -> None:
    """A local file's generation changes with its content."""
    path = jsonl(distinct_examples(3))
    objects = DatasetObjects()
    before = objects.stat(str(path))
    write_jsonl(path, distinct_examples(4))
    after = objects.stat(str(path))
    assert before.size < after.size and before.generation != after.generation
    with pytest.raises(DatasetNotFound, match="not a regular file"):
        objects.stat(str(path.parent))


def upload(bucket: Any, name: str, lines: list[Any], tmp_path: Path) -> str:
    local = write_jsonl(tmp_path / name.replace("/", "_"), lines)
    bucket.blob(name).upload_from_filename(str(local))
    return f"gs://{bucket.name}/{name}"


@pytest.mark.emulator
def test_gcs_dataset_is_checked_over_the_wire(
    gcs_bucket: Any, tmp_path: Path, flash: BaseModel
) -> None:
    """The default client (STORAGE_EMULATOR_HOST) reads both files; leakage is found across."""
    train = distinct_examples(120)
    train_uri = upload(gcs_bucket, "team/train.jsonl", train, tmp_path)
    val_uri = upload(gcs_bucket, "team/val.jsonl", [*distinct_examples(19, seed=9), train[7]],
                     tmp_path)
    report = check_dataset(train_uri, val_uri, model=flash,
                           objects=DatasetObjects(chunk_bytes=4096))
    assert report.training.stats.examples == 120
    assert report.training.object is not None and report.training.object.generation.isdigit()
    (leak,) = [f for f in report.findings if f.kind is FindingKind.LEAKAGE_EXACT]
    assert (leak.line, "validation line 20" in leak.message) == (8, True)


@pytest.mark.emulator
def test_gcs_cache_follows_the_object_generation(
    gcs_bucket: Any, tmp_path: Path, flash: BaseModel
) -> None:
    """Re-uploading the object (a new generation) invalidates the cached report."""
    uri = upload(gcs_bucket, "train.jsonl", distinct_examples(120), tmp_path)
    cache = DatasetCheckCache()
    first = check_dataset(uri, model=flash, cache=cache)
    assert check_dataset(uri, model=flash, cache=cache) is first
    upload(gcs_bucket, "train.jsonl", distinct_examples(10), tmp_path)
    second = check_dataset(uri, model=flash, cache=cache)
    assert second is not first
    assert second.verdict is Verdict.ERRORS and second.training.stats.examples == 10


@pytest.mark.emulator
def test_gcs_object_replaced_while_read_is_a_temporary_error(
    gcs_bucket: Any, tmp_path: Path
) -> None:
    """Reads are pinned to the stat'ed generation: a replaced object is retried, not mixed."""
    uri = upload(gcs_bucket, "train.jsonl", distinct_examples(200), tmp_path)
    objects = DatasetObjects(chunk_bytes=2048)
    obj = objects.stat(uri)
    with objects.open_lines(obj) as lines:
        next(lines)
        upload(gcs_bucket, "train.jsonl", distinct_examples(200, seed=3), tmp_path)
        with pytest.raises(TemporaryError, match="replaced or deleted while being read"):
            list(lines)


@pytest.mark.emulator
def test_gcs_missing_object_and_oversize_object_are_findings(
    gcs_bucket: Any, tmp_path: Path, flash: BaseModel
) -> None:
    """No object: unreadable; an object over the size limit: never downloaded."""
    missing = check_dataset(f"gs://{gcs_bucket.name}/none.jsonl", model=flash)
    assert FindingKind.UNREADABLE in {t.kind for t in missing.totals}
    uri = upload(gcs_bucket, "big.jsonl", distinct_examples(50), tmp_path)
    small_limit = BaseModel(**{**flash.__dict__, "max_training_file_bytes": 1000})
    report = check_dataset(uri, model=small_limit)
    assert not report.training.read
    assert FindingKind.FILE_TOO_LARGE in {t.kind for t in report.totals}
