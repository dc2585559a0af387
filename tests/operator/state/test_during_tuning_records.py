"""Vertex's evaluation during tuning in the record: stored per checkpoint, read back typed,
absent from older files, and shown under `evaluation.duringTuning` by `status`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tuning_operator.cli import main
from tuning_operator.cli.status import job_json
from tuning_operator.planning.model import TuningEvaluationRun
from tuning_operator.state.records import Evaluation
from tuning_operator.state.store import FileStatusStore, JobRecord

GOLDEN = Path(__file__).parent / "golden"
RUNS = (TuningEvaluationRun("1", {"exactMatch": 0.62, "rougeL": 0.651}),
        TuningEvaluationRun("ckpt_2", {}, "code 13: evaluation failed"),
        TuningEvaluationRun(None, {"bleu": 0.5}))


def test_runs_round_trip_through_the_store(tmp_path: Path) -> None:
    """Each checkpoint's metrics and error are stored keyed by its id and read back typed."""
    FileStatusStore(tmp_path).store({"a": JobRecord(name="a", first_seen=1.0,
                                                    during_tuning=RUNS)})
    stored = json.loads((tmp_path / FileStatusStore.FILE).read_text())["jobs"]["a"]
    assert stored["during_tuning"] == {
        "1": {"metrics": {"exactMatch": 0.62, "rougeL": 0.651}},
        "ckpt_2": {"metrics": {}, "error": "code 13: evaluation failed"},
        "default": {"metrics": {"bleu": 0.5}}}
    assert FileStatusStore(tmp_path).fetch()["a"].during_tuning == RUNS


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.glob("status-*.json")))
def test_an_older_file_loads_without_runs(tmp_path: Path, name: str) -> None:
    """A status file written before duringTuning existed loads whole, with no runs."""
    shutil.copy(GOLDEN / name, tmp_path / FileStatusStore.FILE)
    store = FileStatusStore(tmp_path, recover=True)
    records = store.fetch()
    assert store.recovered is None and records
    assert all(r.during_tuning == () for r in records.values())


@pytest.mark.parametrize("damaged", ["nope", ["1"], {"1": "x"},
                                     {"1": {"metrics": {"bleu": "high", "rougeL": None}}}])
def test_a_damaged_entry_is_left_out_and_the_record_loads(damaged: object) -> None:
    """Odd stored runs cost the entry or the figure, never the record."""
    record = JobRecord.from_dict({"name": "a", "first_seen": 1.0, "during_tuning": damaged})
    assert all(run.metrics == {} for run in record.during_tuning)


def test_a_newer_file_loads_in_a_record_that_ignores_unknown_keys() -> None:
    """The key is one more field: a reader that does not know it drops it (as older ones do)."""
    document = JobRecord(name="a", first_seen=1.0, during_tuning=RUNS).to_dict()
    known = {k: v for k, v in document.items() if k != "during_tuning"}
    assert JobRecord.from_dict({**known, "unknown_later_field": {"x": 1}}).name == "a"


def test_status_shows_the_runs_inside_the_evaluation_block() -> None:
    """`evaluation.duringTuning` beside the operator's own verdict, checkpoint ids untouched."""
    evaluated = JobRecord(name="a", first_seen=1.0, during_tuning=RUNS,
                          evaluation=Evaluation(verdict="passed", reason="ok"))
    shown = job_json(evaluated.to_dict())
    assert "duringTuning" not in shown
    assert shown["evaluation"]["verdict"] == "passed"
    assert list(shown["evaluation"]["duringTuning"]) == ["1", "ckpt_2", "default"]
    alone = job_json(JobRecord(name="a", first_seen=1.0, during_tuning=RUNS).to_dict())
    assert alone["evaluation"] == {"duringTuning": shown["evaluation"]["duringTuning"]}
    assert job_json(JobRecord(name="a", first_seen=1.0).to_dict())["evaluation"] is None


def test_status_json_prints_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Through the command: `status --format json` carries the per-checkpoint figures."""
    FileStatusStore(tmp_path).store({"a": JobRecord(name="a", first_seen=1.0,
                                                    during_tuning=RUNS)})
    assert main(["status", "--state-dir", str(tmp_path), "--format", "json"]) == 0
    (job,) = json.loads(capsys.readouterr().out)["jobs"]
    assert job["evaluation"]["duringTuning"]["1"]["metrics"]["exactMatch"] == 0.62
