"""The shared answers in the artifacts bucket, over the wire against fake-gcs-server."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import orjson
import pytest

from tuning_operator.datasets.local_gcs import LocalGcsServer
from tuning_operator.errors import ConfigError
from tuning_operator.judging.usage import Answer, Usage
from tuning_operator.state.artifacts import SharedArtifacts, open_artifacts, parse_artifacts
from tuning_operator.state.records import Evaluation

pytestmark = pytest.mark.emulator  # fake-gcs-server


def artifacts(fake_gcs: LocalGcsServer, bucket: Any, state: Path | None,
              prefix: str = "team/operator") -> SharedArtifacts:
    shared = open_artifacts(f"gs://{bucket.name}/{prefix}", state_dir=state,
                            storage_client=fake_gcs.client())
    assert shared is not None
    return shared


def objects(bucket: Any, prefix: str) -> list[str]:
    return sorted(b.name for b in bucket.client.list_blobs(bucket.name, prefix=prefix))


def test_answers_round_trip_through_the_bucket_by_digest(
        fake_gcs: LocalGcsServer, gcs_bucket: Any, tmp_path: Path) -> None:
    """Answers come back for their digest only, from readable JSON lines under the job's
    answers folder."""
    store = artifacts(fake_gcs, gcs_bucket, tmp_path / "a").answers("job-a")
    store.append(digest="d1", model="m", example="e0", answer="zero", index=0)
    store.append(digest="d1", model="b", example="e0", answer="ZERO", index=0)
    store.append(digest="d2", model="m", example="e1", answer="other config")
    store.close()
    fresh = artifacts(fake_gcs, gcs_bucket, None).answers("job-a")
    assert fresh.load("d1") == {("m", "e0"): "zero", ("b", "e0"): "ZERO"}
    assert fresh.load("d3") == {}
    names = objects(gcs_bucket, "team/operator/evaluations/job-a/answers/")
    assert len(names) == 3 and all(n.endswith(".jsonl") for n in names)
    first = gcs_bucket.blob(names[0]).download_as_bytes().decode()
    assert orjson.loads(first)["answer"] in ("zero", "ZERO", "other config")
    store.append(digest="d1", model="m", example="e1", answer=Answer("one", Usage(7, 3)))
    billed = artifacts(fake_gcs, gcs_bucket, None).answers("job-a").load("d1")[("m", "e1")]
    assert isinstance(billed, Answer) and billed.usage == Usage(7, 3)  # what the ledger reads


def test_concurrent_appends_share_their_objects(
        fake_gcs: LocalGcsServer, gcs_bucket: Any) -> None:
    """Group commit: 8 askers appending 160 answers write fewer objects than answers, and each
    answer is in the bucket when its append returns."""
    store = artifacts(fake_gcs, gcs_bucket, None).answers("job-g")
    reader = artifacts(fake_gcs, gcs_bucket, None).answers("job-g")
    start, missing = threading.Barrier(8), []

    def ask(worker: int) -> None:
        start.wait()
        for n in range(20):
            store.append(digest="d", model=f"m{worker}", example=f"e{n}", answer=str(n))
            if n % 5 == 4 and (f"m{worker}", f"e{n}") not in reader.load("d"):
                missing.append((worker, n))

    threads = [threading.Thread(target=ask, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert missing == []
    assert len(reader.load("d")) == 160
    written = objects(gcs_bucket, "team/operator/evaluations/job-g/answers/")
    assert len(written) == store.objects and 1 <= store.objects < 160


def test_two_replicas_on_one_prefix_see_each_others_answers(
        fake_gcs: LocalGcsServer, gcs_bucket: Any, tmp_path: Path) -> None:
    """What one replica paid for, the other loads: each keeps its own state directory."""
    one = artifacts(fake_gcs, gcs_bucket, tmp_path / "one").answers("job-r")
    two = artifacts(fake_gcs, gcs_bucket, tmp_path / "two").answers("job-r")
    one.append(digest="d", model="m", example="e0", answer="from one")
    two.append(digest="d", model="m", example="e1", answer="from two")
    expected = {("m", "e0"): "from one", ("m", "e1"): "from two"}
    assert one.load("d") == expected
    assert two.load("d") == expected
    assert one.holder != two.holder


def test_garbage_objects_and_lines_are_skipped(
        fake_gcs: LocalGcsServer, gcs_bucket: Any, tmp_path: Path) -> None:
    """A foreign, torn or binary object under the answers folder costs its own lines only."""
    store = artifacts(fake_gcs, gcs_bucket, tmp_path / "s").answers("job-x")
    store.append(digest="d", model="m", example="e0", answer="kept")
    folder = "team/operator/evaluations/job-x/answers"
    gcs_bucket.blob(f"{folder}/garbage.jsonl").upload_from_string(
        b'not json\n{"digest": "d", "model": "m", "exa\n[1, 2]\n'
        b'{"digest": "d", "model": "m", "example": "e1", "answer": 7}\n'
        b'{"digest": "d", "model": "m", "example": "e2", "answer": "also kept"}\n')
    gcs_bucket.blob(f"{folder}/binary.bin").upload_from_string(bytes(range(256)) * 4)
    gcs_bucket.blob(f"{folder}/nested/odd name.jsonl").upload_from_string(b"{}\n")
    expected = {("m", "e0"): "kept", ("m", "e2"): "also kept"}
    assert store.load("d") == expected
    assert artifacts(fake_gcs, gcs_bucket, None).answers("job-x").load("d") == expected


def test_a_restart_reads_the_objects_it_has_seen_from_its_state_directory(
        fake_gcs: LocalGcsServer, gcs_bucket: Any, tmp_path: Path) -> None:
    """The state directory caches each object (immutable) by generation: loading again
    downloads only new objects, and an object that left the bucket leaves the answers."""
    state = tmp_path / "state"
    store = artifacts(fake_gcs, gcs_bucket, state).answers("job-c")
    store.append(digest="d", model="m", example="e0", answer="zero")
    other = artifacts(fake_gcs, gcs_bucket, tmp_path / "other").answers("job-c")
    other.append(digest="d", model="m", example="e1", answer="one")
    assert store.load("d") == {("m", "e0"): "zero", ("m", "e1"): "one"}
    cached = sorted((state / "evaluations" / "job-c" / "artifacts").iterdir())
    assert len(cached) == 2
    for path in cached:  # a copy the next load trusts: it is the cache that answers
        path.write_bytes(path.read_bytes().replace(b'"zero"', b'"cached zero"'))
    restarted = artifacts(fake_gcs, gcs_bucket, state).answers("job-c")
    assert restarted.load("d") == {("m", "e0"): "cached zero", ("m", "e1"): "one"}
    for name in objects(gcs_bucket, "team/operator/evaluations/job-c/answers/"):
        if "one" in gcs_bucket.blob(name).download_as_bytes().decode():
            gcs_bucket.blob(name).delete()
    assert restarted.load("d") == {("m", "e0"): "cached zero"}


def test_a_final_verdict_is_kept_once_with_its_per_example_answers(
        fake_gcs: LocalGcsServer, gcs_bucket: Any) -> None:
    """verdict-<key>.json holds the verdict and each example's answers; written once."""
    store = artifacts(fake_gcs, gcs_bucket, None, prefix="p").answers("job-v")
    store.load("d")
    store.append(digest="d", model="tuned", example="x0", answer="A0", index=0)
    store.append(digest="d", model="base", example="x0", answer="B0", index=0)
    passed = Evaluation(verdict="passed", reason="exactMatch 1.0 >= 0.5", examples=1)
    store.keep_verdict(key="k1", evaluation=passed, examples={0: "x0", 1: "x1"})
    store.keep_verdict(key="k1", evaluation=Evaluation(verdict="failed", reason="later"),
                       examples={})
    document = orjson.loads(gcs_bucket.blob("p/evaluations/job-v/verdict-k1.json")
                            .download_as_bytes())
    assert document["verdict"] == "passed" and document["key"] == "k1"
    assert document["examples"] == [
        {"index": 0, "example": "x0", "answers": {"base": "B0", "tuned": "A0"}},
        {"index": 1, "example": "x1", "answers": {}}]


@pytest.mark.parametrize("uri", ["gs://bucket", "gs://bucket/", "gs://my.bucket/a/b/"])
def test_artifact_uris_name_a_bucket_and_an_optional_folder(uri: str) -> None:
    """gs://BUCKET with or without a folder; slashes at the folder's ends do not count."""
    bucket, prefix = parse_artifacts(uri)
    assert bucket in ("bucket", "my.bucket") and not prefix.startswith("/")
    assert not prefix.endswith("/")


@pytest.mark.parametrize("uri", ["s3://b/p", "gs://", "gs://B/p", "gs://b/a//c", "gs://b/../x"])
def test_bad_artifact_uris_are_refused_with_the_form(uri: str) -> None:
    """Anything else is a ConfigError that names the flag and the form."""
    with pytest.raises(ConfigError, match=r"--artifacts .*gs://BUCKET/PREFIX"):
        parse_artifacts(uri)


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden"])
def test_job_names_that_would_leave_the_folder_are_refused(tmp_path: Path, name: str) -> None:
    """A job's objects and cache are always one folder per job under evaluations/."""
    for state in (tmp_path, None):
        with pytest.raises(ValueError):
            SharedArtifacts(bucket=None, prefix="p", state_dir=state).answers(name)
