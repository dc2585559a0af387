"""Read one job's report from the operator's state directory; the only module here that reads.

The record comes through the status store (`FileStatusStore.fetch`), so a report sees what
`status` sees. The metrics file `metrics/<job>.json` is optional: a job that has not run yet,
or whose Experiment has not been read, has none, and its report says so instead of failing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tuning_operator import judging
from tuning_operator.errors import ReportUnavailable
from tuning_operator.reporting.model import (
    Checkpoint,
    CheckpointScores,
    DataStats,
    Diagnosis,
    DuringTuningRun,
    Evaluation,
    ExampleFailure,
    MetricScore,
    Report,
    TrainingCurves,
    WorstExample,
    count,
    number,
    parse_curves,
    text,
)
from tuning_operator.state import records as recorded
from tuning_operator.state.store import FileStatusStore, JobRecord

METRICS_DIR = "metrics"


def load_report(state_dir: str | os.PathLike[str], name: str) -> Report:
    """Everything the operator recorded about job `name`; raises ReportUnavailable if nothing."""
    directory = Path(state_dir)
    if not directory.is_dir():
        raise ReportUnavailable(
            f"no state directory {str(directory)!r}: pass the operator's --state-dir"
            " (the one `tuning-operator run` was given)")
    store = FileStatusStore(directory)
    records = store.fetch()
    if store.recovered and not records:
        raise ReportUnavailable(
            f"the status store in {str(directory)!r} is unreadable ({store.recovered}); let the"
            " operator rewrite it with one pass (`tuning-operator run --once`)")
    record = records.get(name)
    if record is None:
        known = ", ".join(sorted(records)[:5]) or "none"
        raise ReportUnavailable(
            f"no job {name!r} recorded in {str(directory)!r} (jobs there: {known});"
            " check the name with `tuning-operator status --state-dir "
            f"{directory!s}`")
    if "/" in name or "\\" in name or name.startswith("."):
        curves, note = None, "the job name is not a file name: no metrics file looked up"
    else:
        curves, note = _read_curves(directory / METRICS_DIR / f"{name}.json")
    return Report(
        job=name,
        phase=record.phase,
        team=record.team,
        reason=record.reason,
        vertex_name=record.vertex_name,
        vertex_state=record.vertex_state,
        tuned_model=record.tuned_model,
        endpoint=record.endpoint,
        last_error=record.last_error,
        continued_from=text(record.lineage.describe()) if record.lineage else None,
        diagnosis=diagnosis_of(record.diagnosis),
        evaluation=evaluation_of(record.evaluation),
        data_stats=data_stats(record),
        dataset=text(record.preflight.summary) if record.preflight else None,
        curves=curves,
        curves_note=note,
        during_tuning=tuple(
            DuringTuningRun(checkpoint=run.checkpoint_id or "default",
                            scores=tuple((m, number(v)) for m, v in run.metrics.items()),
                            error=text(run.error))
            for run in record.during_tuning),
    )


def data_stats(record: JobRecord) -> DataStats | None:
    """Vertex's count of the training data beside the pre-flight's estimate, when either is."""
    vertex, preflight = record.data_stats, record.preflight
    if vertex is None and preflight is None:
        return None
    return DataStats(
        examples=count(vertex.examples) if vertex else None,
        billable_tokens=count(vertex.billable_tokens) if vertex else None,
        truncated_examples=count(vertex.truncated_examples) if vertex else None,
        estimated_tokens=count(preflight.estimated_tokens) if preflight else None)


def diagnosis_of(found: judging.Diagnosis | None) -> Diagnosis | None:
    """The record's diagnosis as the report shows it (a loss that is not a number: absent)."""
    if found is None:
        return None
    return Diagnosis(verdict=found.verdict, reason=text(found.reason) or None,
                     mitigation=text(found.mitigation) or None,
                     best_checkpoint=_checkpoint(found.best_checkpoint),
                     final_train_loss=number(found.final_train_loss),
                     final_eval_loss=number(found.final_eval_loss))


def _checkpoint(found: judging.Checkpoint | None) -> Checkpoint | None:
    if found is None:
        return None
    return Checkpoint(id=found.checkpoint_id, epoch=count(found.epoch), step=count(found.step),
                      endpoint=text(found.endpoint))


def evaluation_of(found: recorded.Evaluation | None) -> Evaluation | None:
    """The record's evaluation as the report shows it (odd figures and counts: absent)."""
    if found is None:
        return None
    return Evaluation(
        verdict=found.verdict,
        examples=count(found.examples),
        metrics=tuple(MetricScore(name=name, tuned=number(m.tuned), baseline=number(m.baseline),
                                  gain=number(m.gain), few_shot=number(m.few_shot),
                                  kappa=number(m.kappa), within_one=number(m.within_one),
                                  rated=count(m.rated))
                      for name, m in found.metrics.items()),
        few_shot=found.few_shot,
        checkpoints=tuple(CheckpointScores(
            checkpoint=c.checkpoint, step=count(c.step), verdict=c.verdict,
            scores=tuple((name, number(m.tuned)) for name, m in c.metrics.items()))
            for c in found.checkpoints),
        worst=tuple(WorstExample(metric=w.metric, example=w.example, score=number(w.score),
                                 explanation=text(w.explanation) or "")
                    for w in found.worst),
        checkpoint=found.checkpoint,
        failures=tuple(ExampleFailure(example=text(f.example) or "?", error=text(f.error) or "")
                       for f in found.failures),
        reason=text(found.reason) or None)


def _read_curves(path: Path) -> tuple[TrainingCurves | None, str]:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, "no metrics read yet"
    except OSError as error:
        return None, f"metrics file unreadable: {error.strerror or error}"
    try:
        curves = parse_curves(json.loads(raw))
    except ValueError as error:
        return None, f"metrics file is not valid JSON: {error}"
    if curves is None:
        return None, "metrics file holds no metrics object"
    if not curves.series and not curves.not_finite_from:
        return curves, "no time series in the job's Experiment yet"
    return curves, ""
