"""load_report: what the operator recorded, read leniently; nothing recorded is an error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.report_state import write_job
from tuning_operator.errors import ReportUnavailable
from tuning_operator.reporting import Checkpoint, DataStats, load_report


def test_finished_job_reads_every_part(state: Path) -> None:
    """The diagnosis, gate, data statistics, pre-flight summary and curves all arrive."""
    report = load_report(state, "ticket-classifier-v3")
    assert report.phase == "Succeeded" and report.team == "support"
    assert report.diagnosis is not None and report.diagnosis.verdict == "overfitting"
    assert report.best_checkpoint == Checkpoint(
        id="3", epoch=3, step=6000, endpoint="projects/1/locations/us-central1/endpoints/103")
    assert report.evaluation is not None and report.evaluation.verdict == "passed"
    assert [m.name for m in report.evaluation.metrics] == ["exactMatch", "bleu", "rougeL"]
    assert report.data_stats == DataStats(examples=1200, billable_tokens=1834000,
                                          truncated_examples=2, estimated_tokens=1790000)
    assert report.dataset is not None and report.dataset.startswith("gs://datasets/support")
    assert report.curves is not None and len(report.curves.points("/train_total_loss")) == 10000
    assert report.curves_note == ""


@pytest.mark.parametrize(
    "broken", ["NaN", "Infinity", "-Infinity", None, float("nan"), float("inf")],
    ids=["NaN", "Infinity", "-Infinity", "null", "lax-nan", "lax-inf"])
def test_a_curve_that_stops_being_finite_says_from_which_step(tmp_path: Path,
                                                              broken: Any) -> None:
    """NaN or ±inf however spelled: the series keeps its finite points before the first one and
    records that step; a series never finite is recorded too, not reported as missing."""
    series = {"/train_total_loss": [[1, 2.0], [2, 1.5], [3, broken], [4, 0.5], [5, broken]],
              "/eval_total_loss": [[1, broken], [2, broken]]}
    write_job(tmp_path, "a", {"phase": "Succeeded"}, {"series": series})
    report = load_report(tmp_path, "a")
    assert report.curves is not None and report.curves_note == ""
    assert report.curves.points("/train_total_loss") == ((1, 2.0), (2, 1.5))
    assert report.curves.points("/eval_total_loss") == ()
    assert report.curves.not_finite_from == {"/train_total_loss": 3, "/eval_total_loss": 1}


@pytest.mark.parametrize(
    ("record", "metrics", "note"),
    [
        ({"phase": "Running"}, None, "no metrics read yet"),
        ({"phase": "Running"}, "{not json", "metrics file is not valid JSON"),
        ({"phase": "Running"}, "[1, 2]", "metrics file holds no metrics object"),
        ({"phase": "Running"}, '{"series": {}}', "no time series in the job's Experiment yet"),
    ],
    ids=["no-file", "torn-file", "not-an-object", "no-series"],
)
def test_missing_or_broken_metrics_are_a_note(tmp_path: Path, record: dict[str, Any],
                                              metrics: str | None, note: str) -> None:
    """A job without readable metrics still has a report, which says why there is no curve."""
    write_job(tmp_path, "a", record)
    if metrics is not None:
        (tmp_path / "metrics").mkdir()
        (tmp_path / "metrics" / "a.json").write_text(metrics)
    report = load_report(tmp_path, "a")
    assert report.curves_note.startswith(note)
    assert report.diagnosis is None and report.evaluation is None and report.data_stats is None


@pytest.mark.parametrize(
    ("record", "check"),
    [
        ({"diagnosis": "overfitting"}, lambda r: r.diagnosis is None),
        ({"diagnosis": {"bestCheckpoint": {"id": "2"}}}, lambda r: r.diagnosis is None),
        ({"diagnosis": {"verdict": "healthy", "bestCheckpoint": {"epoch": 2},
                        "finalTrainLoss": float("nan"), "finalEvalLoss": "low"}},
         lambda r: r.diagnosis.verdict == "healthy" and r.best_checkpoint is None
         and (r.diagnosis.final_train_loss, r.diagnosis.final_eval_loss) == (None, None)),
        ({"evaluation": {"metrics": {"bleu": {"tuned": 0.5}}}}, lambda r: r.evaluation is None),
        ({"evaluation": {"verdict": "pending",
                         "metrics": {"bleu": {"tuned": "high", "gain": float("nan")}}}},
         lambda r: r.evaluation.verdict == "pending"
         and (r.evaluation.metrics[0].tuned, r.evaluation.metrics[0].gain) == (None, None)),
        ({"evaluation": {"verdict": "error", "failures": [None, {"example": 3}],
                         "checkpoint": {"id": "c7"}}},
         lambda r: [f.example for f in r.evaluation.failures] == ["3"]
         and r.evaluation.checkpoint == "c7"),
        ({"data_stats": {"examples": 10, "billable_tokens": 2.5, "truncated_examples": "x"}},
         lambda r: r.data_stats == DataStats(examples=10)),
        ({"data_stats": {"examples": True}}, lambda r: r.data_stats is None),
        ({"preflight": {"summary": ["not", "text"], "estimated_tokens": True}},
         lambda r: r.dataset is None and r.data_stats == DataStats()),
    ],
    ids=["diagnosis-not-an-object", "diagnosis-without-verdict", "checkpoint-without-id",
         "evaluation-without-verdict", "metric-values-not-numbers", "failures-partly-malformed",
         "counts-not-whole-numbers", "data-stats-incomplete", "preflight-not-text"],
)
def test_malformed_fields_become_absent(tmp_path: Path, record: dict[str, Any],
                                        check: Any) -> None:
    """A field of the wrong type is left out of the report instead of failing it."""
    write_job(tmp_path, "a", record)
    assert check(load_report(tmp_path, "a"))


def test_best_checkpoint_takes_its_step_from_the_experiment(tmp_path: Path) -> None:
    """A diagnosis naming only a checkpoint id gets its epoch and step from the metrics file."""
    write_job(tmp_path, "a", {"diagnosis": {"verdict": "healthy", "bestCheckpoint": {"id": "2"}}},
              {"checkpoints": [{"id": "1", "epoch": 1, "step": 50},
                               {"id": "2", "epoch": 2, "step": 100}]})
    assert load_report(tmp_path, "a").best_checkpoint == Checkpoint(id="2", epoch=2, step=100)


def test_metrics_points_are_sorted_and_cleaned(tmp_path: Path) -> None:
    """Points out of order are sorted; points that are not two finite numbers are dropped."""
    write_job(tmp_path, "a", {}, {"series": {"/train_total_loss": [
        [3, 0.5], [1, 2.0], [2], ["x", 1.0], [4, None], [5, float("inf")], [2, 1.0]]}})
    report = load_report(tmp_path, "a")
    assert report.curves is not None
    assert report.curves.points("/train_total_loss") == ((1.0, 2.0), (2.0, 1.0), (3.0, 0.5))


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "no state directory"),
        (lambda d: d.mkdir(), "no job 'ghost' recorded"),
        (lambda d: write_job(d, "real-job", {}), "(jobs there: real-job)"),
        (lambda d: (d.mkdir(), (d / "status.json").write_text("{torn")), "is unreadable"),
    ],
    ids=["no-directory", "empty-directory", "other-jobs", "torn-status-file"],
)
def test_nothing_recorded_is_an_error_naming_the_fix(tmp_path: Path, setup: Any,
                                                     message: str) -> None:
    """An unknown job or state directory raises ReportUnavailable that says what to check."""
    directory = tmp_path / "state"
    setup(directory)
    with pytest.raises(ReportUnavailable, match=r"state-dir|run --once") as raised:
        load_report(directory, "ghost")
    assert message in str(raised.value)


def test_a_continuing_job_says_what_it_continued_from(tmp_path: Path) -> None:
    """The recorded lineage is a line of the report: parent job, tuned model, checkpoint."""
    write_job(tmp_path, "a", {"lineage": {
        "tunedModel": "projects/p/locations/us-central1/models/7@1", "checkpointId": "2",
        "baseModel": "gemini-2.5-flash", "job": "parent", "checkpoint": "best"}})
    shown = load_report(tmp_path, "a").continued_from
    assert shown is not None and "job 'parent' (checkpoint: best)" in shown
    assert "models/7@1 checkpoint 2" in shown and "gemini-2.5-flash" in shown
    write_job(tmp_path, "b", {"lineage": {"job": "parent"}})
    assert load_report(tmp_path, "b").continued_from is None
