"""What the report says, as plain-text rows both renderers share; they differ only in markup.

Every value here is raw text: the HTML renderer escapes it for HTML, the Markdown renderer for
Markdown. Keeping the wording in one place means the PR comment and the HTML page never tell a
reader two different things about the same job.
"""

from __future__ import annotations

from collections.abc import Sequence

from tuning_operator.reporting.model import (
    EVAL_ACCURACY,
    EVAL_LOSS,
    TRAIN_ACCURACY,
    TRAIN_LOSS,
    Checkpoint,
    DataStats,
    DuringTuningRun,
    Evaluation,
    MetricScore,
    Report,
    TrainingCurves,
)

Row = tuple[str, str]

GOOD = frozenset({"healthy", "passed"})
BAD = frozenset({"overfitting", "underfitting", "data-problem", "diverged", "failed", "error"})
MAX_FAILURES = 10  # failed examples listed; the rest are counted
MAX_CHECKPOINTS = 20


def tone(verdict: str) -> str:
    """good, bad or neutral: how a verdict is coloured."""
    return "good" if verdict in GOOD else "bad" if verdict in BAD else "neutral"


def loss(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def score(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def gain(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3f}"


def whole(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def checkpoint(best: Checkpoint | None) -> str:
    if best is None:
        return "none chosen"
    where = [f"epoch {best.epoch}" if best.epoch is not None else "",
             f"step {best.step:,}" if best.step is not None else ""]
    detail = ", ".join(w for w in where if w)
    return best.id + (f" ({detail})" if detail else "")


def overview_rows(report: Report) -> list[Row]:
    rows = [("phase", report.phase or "unknown"), ("team", report.team or "")]
    if report.vertex_state:
        rows.append(("Vertex state", report.vertex_state.removeprefix("JOB_STATE_")))
    rows += [("Vertex job", report.vertex_name or ""), ("tuned model", report.tuned_model or ""),
             ("continued from", report.continued_from or ""),
             ("endpoint", report.endpoint or ""), ("reason", report.reason or ""),
             ("last error", report.last_error or "")]
    return [(label, value) for label, value in rows if value]


SERIES_NAMES = {TRAIN_LOSS: "training loss", EVAL_LOSS: "validation loss",
                TRAIN_ACCURACY: "training accuracy", EVAL_ACCURACY: "validation accuracy"}


def not_finite_from(curves: TrainingCurves | None, *names: str) -> float | None:
    """The first step at which any of the named series stopped being finite, if one did."""
    if curves is None:
        return None
    return min((curves.not_finite_from[n] for n in names if n in curves.not_finite_from),
               default=None)


def step(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def not_finite_notes(curves: TrainingCurves | None) -> list[str]:
    """One line per series that turned NaN or ±inf: the chart stops there, and says so."""
    if curves is None:
        return []
    return [f"{SERIES_NAMES.get(name, name)} not finite (NaN or ±inf) from step {step(at)}:"
            " the curve stops there"
            for name, at in sorted(curves.not_finite_from.items(), key=lambda item: item[1])]


def diagnosis_rows(report: Report) -> list[Row]:
    diagnosis = report.diagnosis
    if diagnosis is None:
        return []
    rows = [("verdict", diagnosis.verdict), ("reason", diagnosis.reason or ""),
            ("mitigation", diagnosis.mitigation or ""),
            ("best checkpoint", checkpoint(report.best_checkpoint)),
            ("final train loss", loss(diagnosis.final_train_loss)),
            ("final validation loss", loss(diagnosis.final_eval_loss))]
    return [(label, value) for label, value in rows if value]


def evaluation_rows(evaluation: Evaluation) -> list[Row]:
    rows = [("gate", evaluation.verdict), ("reason", evaluation.reason or ""),
            ("examples", whole(evaluation.examples)),
            ("checkpoint", evaluation.checkpoint or "")]
    return [(label, value) for label, value in rows if value]


def metric_columns(evaluation: Evaluation) -> tuple[str, ...]:
    """metric, tuned, the baselines (named by their shots when there is a few-shot one), the
    gain, and the autorater's agreement with people when any metric was rated."""
    few = evaluation.few_shot
    baselines = (("baseline (zero-shot)", f"baseline ({few}-shot)") if few else ("baseline",))
    agreement = ("agreement (κ, within ±1)",) if _rated(evaluation) else ()
    return ("metric", "tuned", *baselines, "gain", *agreement)


def metric_rows(evaluation: Evaluation) -> list[tuple[str, ...]]:
    """One row per metric, in the columns of `metric_columns`."""
    rows = []
    for m in evaluation.metrics:
        few = (score(m.few_shot),) if evaluation.few_shot else ()
        agreement = (_agreement(m),) if _rated(evaluation) else ()
        rows.append((m.name, score(m.tuned), score(m.baseline), *few, gain(m.gain), *agreement))
    return rows


def checkpoint_columns(evaluation: Evaluation) -> tuple[str, ...]:
    """checkpoint, step, verdict and each metric's tuned score (`checkpoints: all`)."""
    first = evaluation.checkpoints[0] if evaluation.checkpoints else None
    return ("checkpoint", "step", "verdict", *(name for name, _ in first.scores)) if first else ()


def checkpoint_rows(evaluation: Evaluation) -> list[tuple[str, ...]]:
    """One row per evaluated checkpoint; the chosen one is marked."""
    return [(c.checkpoint + (" (chosen)" if c.checkpoint == evaluation.checkpoint else ""),
             whole(c.step), c.verdict, *(score(value) for _, value in c.scores))
            for c in evaluation.checkpoints]


def during_columns(runs: Sequence[DuringTuningRun]) -> tuple[str, ...]:
    """checkpoint, each metric Vertex reported (first seen first), and the run's error."""
    metrics = dict.fromkeys(name for run in runs for name, _ in run.scores)
    return ("checkpoint", *metrics, "error")


def during_rows(runs: Sequence[DuringTuningRun]) -> list[tuple[str, ...]]:
    """One row per checkpoint Vertex evaluated while tuning."""
    metrics = during_columns(runs)[1:-1]
    return [(run.checkpoint, *(score(dict(run.scores).get(name)) for name in metrics),
             run.error or "") for run in runs]


def worst_lines(evaluation: Evaluation) -> list[str]:
    """The lowest-scored answers per model-based metric, with the autorater's explanation."""
    return [f"{w.metric} · example {w.example} · {score(w.score)}: {w.explanation}"
            for w in evaluation.worst]


def _rated(evaluation: Evaluation) -> bool:
    return any(m.kappa is not None for m in evaluation.metrics)


def _agreement(metric: MetricScore) -> str:
    if metric.kappa is None:
        return "–"
    within = "" if metric.within_one is None else f", {metric.within_one:.0%}"
    rated = "" if metric.rated is None else f" on {metric.rated}"
    return f"{metric.kappa:.2f}{within}{rated}"


DATA_COLUMNS = ("", "pre-flight estimate", "Vertex")


def data_rows(stats: DataStats) -> list[tuple[str, str, str]]:
    return [("examples", "–", whole(stats.examples)),
            ("tokens", whole(stats.estimated_tokens), whole(stats.billable_tokens)
             + (" billable" if stats.billable_tokens is not None else "")),
            ("truncated examples", "–", whole(stats.truncated_examples))]


def estimate_note(stats: DataStats) -> str:
    """How far the pre-flight's token estimate was from what Vertex bills, when both are known."""
    if not stats.estimated_tokens or stats.billable_tokens is None:
        return ""
    ratio = stats.billable_tokens / stats.estimated_tokens
    return f"Vertex bills {ratio:.2f}× the pre-flight estimate."


def failure_note(evaluation: Evaluation) -> str:
    hidden = len(evaluation.failures) - MAX_FAILURES
    return f"… and {hidden} more failed examples" if hidden > 0 else ""
