"""The report as one self-contained HTML file: charts inline as SVG, no script, no fetch.

Every string that came from a file or a service passes through `html.escape`; the page also
carries a Content-Security-Policy that allows no script and no network, so a string that slipped
through could still not run or call out. The SVG charts are drawn by `charts` (matplotlib).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from tuning_operator.reporting import wording
from tuning_operator.reporting.charts import TRAIN_COLOUR, VALIDATION_COLOUR, Line, line_chart_svg
from tuning_operator.reporting.model import (
    EVAL_ACCURACY,
    EVAL_LOSS,
    TRAIN_ACCURACY,
    TRAIN_LOSS,
    Report,
)

_NUM = ' class="num"'
MAX_TEXT = 2000  # characters of one author-controlled string shown; the rest is cut
MAX_BLOCK = 20_000  # the pre-flight summary: many lines of findings

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;
 margin:0 auto;max-width:1100px;padding:24px 32px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;
 border-bottom:1px solid #e4e7eb;padding-bottom:4px}
.sub{color:#57606a;margin:0 0 12px}
.badge{display:inline-block;padding:1px 10px;border-radius:10px;font-weight:600;font-size:13px;
 margin-right:6px;border:1px solid}
.good{background:#dafbe1;color:#116329;border-color:#8ddb9c}
.bad{background:#ffebe9;color:#a40e26;border-color:#ff8182}
.neutral{background:#f3f4f6;color:#424a53;border-color:#d0d7de}
table{border-collapse:collapse;margin:8px 0}td,th{padding:4px 12px 4px 0;text-align:left;
 vertical-align:top}th{color:#57606a;font-weight:600}
table.grid td,table.grid th{border-bottom:1px solid #eaeef2;padding-right:20px}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.chart svg{width:100%;height:auto;max-width:900px}
.note{color:#57606a;font-style:italic}
pre{background:#f6f8fa;padding:10px;border-radius:6px;white-space:pre-wrap;overflow-wrap:anywhere}
"""


def render_html(report: Report) -> str:
    """The whole page; matplotlib draws the charts (imported only when there is a curve)."""
    e = _escape
    badges = [_badge("phase", report.phase or "unknown", "neutral")]
    if report.diagnosis is not None:
        verdict = report.diagnosis.verdict
        badges.append(_badge("diagnosis", verdict, wording.tone(verdict)))
    if report.evaluation is not None:
        verdict = report.evaluation.verdict
        badges.append(_badge("gate", verdict, wording.tone(verdict)))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';'
        ' style-src \'unsafe-inline\'; img-src data:">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>tuning-operator report: {e(report.job)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{e(report.job)}</h1>",
        f'<p class="sub">tuning-operator report{" · team " + e(report.team) if report.team else ""}'
        "</p>",
        "<p>" + "".join(badges) + "</p>",
        *_training(report),
        *_evaluation(report),
        *_data(report),
        '<h2 id="job">Job</h2>',
        _pairs(wording.overview_rows(report)),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _training(report: Report) -> list[str]:
    parts = ['<h2 id="training">Training</h2>']
    curves = report.curves
    if curves is not None and curves.experiment:
        parts.append(f'<p class="sub">Experiment {_escape(curves.experiment)}</p>')
    charts = [("Loss", "loss", TRAIN_LOSS, EVAL_LOSS, report.best_checkpoint),
              ("Next-token accuracy", "fraction correct", TRAIN_ACCURACY, EVAL_ACCURACY, None)]
    drawn = 0
    for title, y_label, train, validation, best in charts:
        lines = [Line(label, curves.points(name), colour) for label, name, colour in
                 (("train", train, TRAIN_COLOUR), ("validation", validation, VALIDATION_COLOUR))
                 if curves is not None and curves.points(name)]
        if lines:
            stop = wording.not_finite_from(curves, train, validation)
            svg = line_chart_svg(title=title, y_label=y_label, lines=lines, best=best,
                                 not_finite_from=stop)
            parts.append(f'<figure class="chart" id="chart-{y_label.split()[0]}">{svg}</figure>')
            drawn += 1
    if not drawn:
        parts.append(f'<p class="note">{_escape(report.curves_note or "no curves")}</p>')
    elif report.curves_note:
        parts.append(f'<p class="note">{_escape(report.curves_note)}</p>')
    parts.extend(f'<p class="note not-finite">{_escape(note)}</p>'
                 for note in wording.not_finite_notes(curves))
    parts.append("<h3>Diagnosis</h3>")
    rows = wording.diagnosis_rows(report)
    parts.append(_pairs(rows) if rows else '<p class="note">not diagnosed yet</p>')
    if curves is not None and curves.checkpoints:
        chosen = report.best_checkpoint.id if report.best_checkpoint else None
        shown = curves.checkpoints[: wording.MAX_CHECKPOINTS]
        parts.append(_grid(("checkpoint", "epoch", "step", ""),
                           [(c.id, wording.whole(c.epoch), wording.whole(c.step),
                             "best" if c.id == chosen else "") for c in shown]))
        if len(curves.checkpoints) > len(shown):
            parts.append(f'<p class="note">… and {len(curves.checkpoints) - len(shown)}'
                         " more checkpoints</p>")
    return parts


def _evaluation(report: Report) -> list[str]:
    parts = ['<h2 id="evaluation">Evaluation</h2>']
    evaluation = report.evaluation
    if evaluation is None:
        return [*parts, '<p class="note">no evaluation recorded yet</p>', *_during(report)]
    parts.append(_pairs(wording.evaluation_rows(evaluation)))
    if evaluation.metrics:
        parts.append(_grid(wording.metric_columns(evaluation), wording.metric_rows(evaluation),
                           numeric=True))
    if evaluation.checkpoints:
        parts.append("<h3>Checkpoints</h3>")
        parts.append(_grid(wording.checkpoint_columns(evaluation),
                           wording.checkpoint_rows(evaluation), numeric=True))
    if evaluation.worst:
        parts.append("<h3>Lowest-scored examples</h3><ul>")
        parts.extend(f"<li>{_escape(line)}</li>" for line in wording.worst_lines(evaluation))
        parts.append("</ul>")
    if evaluation.failures:
        parts.append("<h3>Failed examples</h3><ul>")
        parts.extend(f"<li><b>{_escape(f.example)}</b>: {_escape(f.error)}</li>"
                     for f in evaluation.failures[: wording.MAX_FAILURES])
        parts.append("</ul>")
        if note := wording.failure_note(evaluation):
            parts.append(f'<p class="note">{_escape(note)}</p>')
    return [*parts, *_during(report)]


def _during(report: Report) -> list[str]:
    """Vertex's own evaluation of each checkpoint while it tuned (`duringTuning`), if any."""
    if not report.during_tuning:
        return []
    return ["<h3>During tuning (Vertex)</h3>",
            _grid(wording.during_columns(report.during_tuning),
                  wording.during_rows(report.during_tuning), numeric=True)]


def _data(report: Report) -> list[str]:
    parts = ['<h2 id="data">Data</h2>']
    if report.dataset:
        parts.append(f"<pre>{_escape(report.dataset, MAX_BLOCK)}</pre>")
    if report.data_stats is not None:
        parts.append(_grid(wording.DATA_COLUMNS, wording.data_rows(report.data_stats),
                           numeric=True))
        if note := wording.estimate_note(report.data_stats):
            parts.append(f"<p>{_escape(note)}</p>")
    if len(parts) == 1:
        parts.append('<p class="note">no dataset statistics recorded yet</p>')
    return parts


def _escape(value: str, limit: int = MAX_TEXT) -> str:
    if len(value) > limit:
        value = value[:limit] + "…"
    return html.escape(value, quote=True)


def _badge(label: str, value: str, tone: str) -> str:
    return f'<span class="badge {tone}">{_escape(label)}: {_escape(value)}</span>'


def _pairs(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_escape(k)}</th><td>{_escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _grid(columns: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: bool = False) -> str:
    head = "".join(f"<th>{_escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f'<td{_NUM if numeric and i else ""}>{_escape(cell)}</td>'
                         for i, cell in enumerate(row)) + "</tr>"
        for row in rows)
    return f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
