"""The typed sub-records: stored with the keys of version 1, read back typed, dropped if damaged."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tuning_operator.judging import Checkpoint, Diagnosis
from tuning_operator.judging.usage import Usage
from tuning_operator.specs.money import Prices
from tuning_operator.state.ledger import ledger
from tuning_operator.state.records import (
    Evaluation,
    ExampleFailure,
    Lineage,
    MetricFigures,
    SmokeTestResult,
)
from tuning_operator.state.store import FileStatusStore, JobRecord, MemoryStatusStore

GOLDEN = Path(__file__).parent / "golden"
SUB_RECORDS = ("checkpoints", "smoke_test", "diagnosis", "evaluation", "data_stats", "preflight")
ENDPOINT = "projects/local-project/locations/us-central1/endpoints/5703819639869067001"


def jobs_in(path: Path) -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["jobs"]
    return jobs


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.glob("status-*.json")))
def test_a_rewritten_file_stores_each_sub_record_as_version_1_did(tmp_path: Path,
                                                                  name: str) -> None:
    """Fetched and stored again, every sub-record's JSON equals the earlier release's."""
    shutil.copy(GOLDEN / name, tmp_path / FileStatusStore.FILE)
    records = FileStatusStore(tmp_path).fetch()
    for record in records.values():
        record.updated += 1
    FileStatusStore(tmp_path).store(records)
    golden, again = jobs_in(GOLDEN / name), jobs_in(tmp_path / FileStatusStore.FILE)
    for job, fields in golden.items():
        for key in SUB_RECORDS:
            assert again[job][key] == fields.get(key, [] if key == "checkpoints" else None), key


def test_the_demo_record_reads_as_typed_values(tmp_path: Path) -> None:
    """Checkpoints, smoke test, diagnosis and evaluation of the 0.1 demo arrive typed."""
    shutil.copy(GOLDEN / "status-v1-demo.json", tmp_path / FileStatusStore.FILE)
    record = FileStatusStore(tmp_path).fetch()["ticket-classifier-v3"]
    best = Checkpoint("5", epoch=5, step=100, endpoint=ENDPOINT)
    assert len(record.checkpoints) == 5 and record.checkpoints[-1] == best
    assert record.smoke_test == SmokeTestResult(endpoint="healthy", at=1796526262.3893645)
    assert record.diagnosis is not None
    assert (record.diagnosis.verdict, record.diagnosis.best_checkpoint) == ("healthy", best)
    assert record.evaluation is not None and record.evaluation.final
    assert record.evaluation.metrics["exactMatch"] == MetricFigures(0.9, 0.35, 0.55)
    assert (record.evaluation.checkpoint, record.evaluation.key) == ("5", "75a4910ce31aae17")


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ({"checkpoints": "all of them"}, {"checkpoints": ()}),
        ({"checkpoints": [{"id": "1"}, {"id": "2", "epoch": 1, "step": 9}]},
         {"checkpoints": (Checkpoint("2", epoch=1, step=9),)}),
        ({"smoke_test": {"endpoint": "maybe", "at": 1.0}}, {"smoke_test": None}),
        ({"smoke_test": "healthy"}, {"smoke_test": None}),
        ({"diagnosis": {"verdict": "great", "reason": "x"}}, {"diagnosis": None}),
        ({"diagnosis": ["healthy"]}, {"diagnosis": None}),
        ({"evaluation": {"reason": "no verdict"}}, {"evaluation": None}),
        ({"evaluation": {"verdict": "failed", "metrics": "x", "failures": {"a": 1}}},
         {"evaluation": Evaluation(verdict="failed", reason="")}),
    ],
    ids=["checkpoints-not-a-list", "checkpoint-without-step", "smoke-unknown-word",
         "smoke-not-an-object", "diagnosis-unknown-verdict", "diagnosis-not-an-object",
         "evaluation-without-verdict", "evaluation-parts-not-objects"],
)
def test_a_damaged_sub_record_is_dropped_and_the_record_loads(
        tmp_path: Path, stored: dict[str, Any], expected: dict[str, Any]) -> None:
    """The damaged part is absent (or left out); the rest of the record and the store are fine."""
    document = {"version": 1, "jobs": {"a": {"name": "a", "first_seen": 1.0, "phase": "Running",
                                             **stored}}}
    (tmp_path / FileStatusStore.FILE).write_text(json.dumps(document))
    store = FileStatusStore(tmp_path)
    record = store.fetch()["a"]
    assert store.recovered is None and record.phase == "Running"
    for key, value in expected.items():
        assert getattr(record, key) == value


def test_the_memory_store_keeps_typed_sub_records_through_their_stored_form() -> None:
    """The test store goes through the same JSON form, so a test sees what a restart sees."""
    record = JobRecord(
        name="a", first_seen=1.0, checkpoints=(Checkpoint("1", epoch=1, step=5),),
        smoke_test=SmokeTestResult(endpoint="unhealthy", error="404", at=2.0),
        diagnosis=Diagnosis(verdict="overfitting", reason="rose", mitigation="fewer epochs",
                            best_checkpoint=Checkpoint("1", epoch=1, step=5),
                            final_train_loss=0.3, final_eval_loss=0.9),
        evaluation=Evaluation(verdict="error", reason="1 of 2 unanswered", examples=1,
                              metrics={"bleu": MetricFigures(0.5)}, checkpoint="1",
                              failures=(ExampleFailure(example=1, error="busy"),), key="k"))
    store = MemoryStatusStore()
    store.store({"a": record})
    assert store.fetch() == {"a": record}
    assert record.to_dict()["smoke_test"] == {"endpoint": "unhealthy", "error": "404", "at": 2.0}
    assert record.to_dict()["evaluation"]["failures"] == [{"example": 1, "error": "busy"}]


def test_billed_prediction_tokens_are_stored_with_the_smoke_test_and_the_evaluation() -> None:
    """`predictionTokens {input, output}` beside each result, read back typed; the ledger
    adds them (the evaluation's and the smoke test's answers)."""
    record = JobRecord(
        name="a", first_seen=1.0, vertex_name="v/a",
        smoke_test=SmokeTestResult(endpoint="healthy", at=2.0, usage=Usage(4, 1)),
        evaluation=Evaluation(verdict="passed", reason="", usage=Usage(300, 120)))
    store = MemoryStatusStore()
    store.store({"a": record})
    assert store.fetch() == {"a": record}
    assert record.to_dict()["evaluation"]["predictionTokens"] == {"input": 300, "output": 120}
    assert record.to_dict()["smoke_test"]["predictionTokens"] == {"input": 4, "output": 1}
    (row,) = ledger([record])
    assert row.billed_prediction == Usage(304, 121)
    prices = Prices.model_validate({"training": {"gemini-2.5-flash": 5.0}, "prediction": {
        "gemini-2.5-flash": {"input": 1.0, "output": 10.0}}})
    billed = replace(row, model="gemini-2.5-flash", billed_tokens=1_000_000,
                     prediction_tokens=10**6)  # the estimate: not what is billed
    assert billed.cost(prices, billed=True) == pytest.approx(5.0 + (304 + 1210) / 1e6)
    assert billed.cost(prices, billed=False) is None  # no training estimate to price


@pytest.mark.parametrize("lineage", [
    Lineage("projects/p/locations/europe-west4/models/7@1", "2",
            base_model="gemini-2.5-flash", job="parent", checkpoint="best"),
    Lineage("projects/p/locations/us-central1/models/7"),
])
def test_the_lineage_is_stored_in_camel_case_and_read_back_typed(
        tmp_path: Path, lineage: Lineage) -> None:
    """The parent a job was created from survives a restart; its stored keys are the words of
    `status --format json` (tunedModel, checkpointId, baseModel, job, checkpoint)."""
    FileStatusStore(tmp_path).store({"a": JobRecord(name="a", first_seen=1.0,
                                                    lineage=lineage)})
    stored = jobs_in(tmp_path / FileStatusStore.FILE)["a"]["lineage"]
    assert stored["tunedModel"] == lineage.tuned_model
    assert set(stored) <= {"tunedModel", "checkpointId", "baseModel", "job", "checkpoint"}
    assert FileStatusStore(tmp_path).fetch()["a"].lineage == lineage


@pytest.mark.parametrize("damaged", ["parent", {"job": "parent"}, {"tunedModel": 7}])
def test_a_lineage_without_its_tuned_model_is_dropped(tmp_path: Path, damaged: Any) -> None:
    """Nothing but the tuned model identifies a parent: without it the lineage is absent."""
    document = {"version": 1, "jobs": {"a": {"name": "a", "first_seen": 1.0,
                                             "lineage": damaged}}}
    (tmp_path / FileStatusStore.FILE).write_text(json.dumps(document))
    assert FileStatusStore(tmp_path).fetch()["a"].lineage is None
