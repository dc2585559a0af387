"""tuning_data_stats from the real training file when a local Cloud Storage emulator serves it."""

from __future__ import annotations

import random
import socket
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from google.cloud import aiplatform_v1

from tests.support.dataset_examples import distinct_examples, example
from tests.support.emulator_process import sample_job
from tuning_operator.datasets.examples import ExampleRules
from tuning_operator.datasets.findings import DatasetRole, FindingLog
from tuning_operator.emulator import VertexEmulator
from tuning_operator.emulator.datastats import EXAMPLES_LABEL, TRUNCATED_LABEL
from tuning_operator.emulator.store import JobStore, StoreSettings
from tuning_operator.emulator.training_data import TrainingDataReader, count_examples
from tuning_operator.specs.catalog import default_catalog
from tuning_operator.specs.tokens import FILE_PART_TOKENS

PARENT = "projects/p/locations/us-central1"


def _lines(examples: list[Any]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in examples)


def _with_file(prompt: str) -> dict[str, Any]:
    line = example(prompt, "billing", system="Route the ticket.")
    line["contents"][0]["parts"].append(
        {"fileData": {"mimeType": "image/png", "fileUri": "gs://b/screenshot.png"}})
    return line


def test_the_token_estimate_is_the_pre_flights() -> None:
    """Per example, the emulator's estimate equals the dataset pre-flight's (bytes / 4 rounded
    up, plus the cost of a file part), non-ASCII text and system instructions included."""
    examples = [*distinct_examples(20), _with_file("Écran bloqué: 画面が固まった"),
                example("x" * 41, "y", system="kurz")]
    model = default_catalog().get("gemini-2.5-flash")
    assert model is not None
    rules = ExampleRules(model)
    expected = []
    for line, item in enumerate(examples, 1):
        facts = rules.check(item, line, FindingLog(DatasetRole.TRAINING))
        assert facts is not None
        expected.append(facts[0])
    counted = count_examples(_lines(examples) + b"\n   \nnot json\n[1, 2]\n")
    assert counted.example_tokens == tuple(expected)
    assert counted.example_tokens[20] > FILE_PART_TOKENS  # the file part is counted


def _wait_running(emulator: VertexEmulator, name: str) -> aiplatform_v1.TuningJob:
    deadline = time.monotonic() + 10
    while True:
        job = emulator.store.get(name)
        if job.start_time or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def _job(uri: str, labels: dict[str, str] | None = None) -> aiplatform_v1.TuningJob:
    return sample_job(training=uri, labels=labels)


def test_stats_count_the_real_file_and_labels_still_override(gcs_bucket: Any) -> None:
    """37 examples on fake-gcs-server: 37 counted, tokens the sum of the estimates, billable
    = tokens × epochs, one example over the model's limit truncated (its tokens past the
    limit neither trained on nor billed); labels still win."""
    examples = distinct_examples(36)
    examples.append(example("word " * 110_000, "billing"))  # > 131,072 tokens: truncated
    data = _lines(examples)
    gcs_bucket.blob("support/train.jsonl").upload_from_string(data)
    uri = f"gs://{gcs_bucket.name}/support/train.jsonl"
    counted_file = count_examples(data)
    tokens = counted_file.trained(131_072)
    assert tokens < counted_file.tokens  # the long example is cut at the limit
    with VertexEmulator(job_seconds=0.5) as emulator:
        counted = emulator.store.create(PARENT, _job(uri))
        scripted = emulator.store.create(
            PARENT, _job(uri, {EXAMPLES_LABEL: "5", TRUNCATED_LABEL: "0"}))
        missing = emulator.store.create(PARENT, _job(f"gs://{gcs_bucket.name}/none.jsonl"))
        stats = _wait_running(emulator, counted.name).tuning_data_stats
        overridden = _wait_running(emulator, scripted.name).tuning_data_stats
        defaults = _wait_running(emulator, missing.name).tuning_data_stats
    sft = stats.supervised_tuning_data_stats
    assert sft.tuning_dataset_example_count == 37
    assert sft.total_billable_token_count == tokens * 3
    assert sft.total_truncated_example_count == 1
    assert sft.total_tuning_character_count == sum(
        len(p["text"]) for e in examples for c in e["contents"] for p in c["parts"])
    mine = overridden.supervised_tuning_data_stats
    assert (mine.tuning_dataset_example_count, mine.total_truncated_example_count) == (5, 0)
    assert mine.total_billable_token_count == 5 * round(tokens / 37) * 3  # counted mean
    assert defaults.supervised_tuning_data_stats.tuning_dataset_example_count == 100


def test_counted_stats_survive_a_restart(gcs_bucket: Any, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The counted figures are kept in the state file: a restarted emulator reports them even
    when the storage emulator is gone."""
    gcs_bucket.blob("t.jsonl").upload_from_string(_lines(distinct_examples(21)))
    state = tmp_path / "emulator.json"
    with VertexEmulator(job_seconds=0.3, state_file=state) as emulator:
        name = emulator.store.create(PARENT, _job(f"gs://{gcs_bucket.name}/t.jsonl")).name
    monkeypatch.delenv("STORAGE_EMULATOR_HOST")
    with VertexEmulator(job_seconds=0.3, state_file=state) as emulator:
        job = _wait_running(emulator, name)
    assert job.tuning_data_stats.supervised_tuning_data_stats.tuning_dataset_example_count == 21


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_reading_is_bounded_and_never_fails_a_create(gcs_bucket: Any, fake_gcs: Any) -> None:
    """Too large, absent, not on gs://, a server that is down or answers garbage: no figures
    (the defaults), never an error."""
    gcs_bucket.blob("big.jsonl").upload_from_string(_lines(distinct_examples(50)))
    big = f"gs://{gcs_bucket.name}/big.jsonl"
    assert TrainingDataReader(host=fake_gcs.url).read(big) is not None
    assert TrainingDataReader(host=fake_gcs.url, max_bytes=1024).read(big) is None
    assert TrainingDataReader(host=fake_gcs.url).read(f"gs://{gcs_bucket.name}/x.jsonl") is None
    assert TrainingDataReader(host=fake_gcs.url).read("https://example.com/t.jsonl") is None
    assert TrainingDataReader(host=f"127.0.0.1:{_closed_port()}", timeout=1).read(big) is None
    assert TrainingDataReader(host="").read(big) is None

    def lying(url: str, most: int, timeout: float) -> bytes:
        del timeout
        if "alt=media" not in url:
            return b'{"size": "10", "generation": "1"}'
        return random.Random(1).randbytes(most + 1)  # more than announced, and not JSONL

    assert TrainingDataReader(host="h", fetch=lying, max_bytes=1000).read(big) is None
    assert TrainingDataReader(host="h", fetch=lambda *_: b"not json").read(big) is None

    store = JobStore(StoreSettings(job_seconds=0.0), catalog=default_catalog(),
                     clock=time.time, rng=random.Random(1),
                     training_data=TrainingDataReader(host="h", fetch=lying, max_bytes=1000))
    job = store.create(PARENT, _job(big))
    assert job.tuning_data_stats.supervised_tuning_data_stats.tuning_dataset_example_count == 100
