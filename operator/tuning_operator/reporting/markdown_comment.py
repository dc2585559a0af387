"""The report as a pull-request comment: Markdown tables and Mermaid `xychart-beta` charts.

A PR comment must stay under GitHub's size limit and must not let a job's strings change the
page: every author-controlled string is cut, put on one line, HTML-escaped (so `<!--` cannot
hide the rest of the comment) and has inline Markdown punctuation backslash-escaped (so `|`
cannot break a table, nor `[x](y)` make a link, nor `$` start math); `@name` pings no one.
Block syntax needs no escape: author text never starts a line (it follows a `| ` or a label).
Multi-line text goes into a code block whose fence is longer than any run of backticks inside
it. Curves are averaged onto at most `curves.MAX_POINTS` steps, and sections that would pass
the limit are left out whole.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence

from tuning_operator.planning.render import MARKDOWN_LIMIT
from tuning_operator.reporting import wording
from tuning_operator.reporting.charts import TRAIN_COLOUR, VALIDATION_COLOUR
from tuning_operator.reporting.curves import MAX_POINTS, even_grid, on_grid
from tuning_operator.reporting.model import (
    EVAL_ACCURACY,
    EVAL_LOSS,
    TRAIN_ACCURACY,
    TRAIN_LOSS,
    Checkpoint,
    Points,
    Report,
)

MAX_CELL = 300  # characters of one author string in a table cell or a line
MAX_BLOCK = 4000  # characters of a multi-line text shown in a code block
MAX_METRICS = 50
_INLINE = re.compile(r"([\\`*_\[\]|~$])")  # what can start an inline construct (or math)
_MENTION = re.compile(r"(?<!\w)@")
_ICON = {"good": "✅", "bad": "❌", "neutral": "⏳"}


def render_markdown(report: Report, *, limit: int = MARKDOWN_LIMIT) -> str:
    """The comment, always shorter than `limit` characters."""
    badges = [f"**phase** {_md(report.phase or 'unknown')}"]
    if report.diagnosis is not None:
        badges.append(f"**diagnosis** {_verdict(report.diagnosis.verdict)}")
    if report.evaluation is not None:
        badges.append(f"**gate** {_verdict(report.evaluation.verdict)}")
    head = f"### tuning-operator report: {_md(report.job)}\n\n" + " · ".join(badges) + "\n"
    diagnosis = wording.diagnosis_rows(report)
    sections = [("training", _training(report)),
                ("diagnosis", _pairs("Diagnosis", diagnosis) if diagnosis else
                 "#### Diagnosis\n\n_not diagnosed yet_\n"),
                ("evaluation", _evaluation(report)), ("data", _data(report)),
                ("job", _pairs("Job", wording.overview_rows(report)))]
    room = 300  # for the note on omitted sections
    body, left_out = [head], []
    size = len(head)
    for name, section in sections:
        if size + len(section) + 1 + room > limit:
            left_out.append(name)
            continue
        body.append(section)
        size += len(section) + 1
    if left_out:
        body.append(f"_Left out to fit a comment: {', '.join(left_out)}. Run `tuning-operator"
                    " report NAME --format html` for the whole report._\n")
    return "\n".join(body)


def _training(report: Report) -> str:
    lines = ["#### Training", ""]
    curves = report.curves
    if curves is not None and curves.experiment:
        lines += [f"Experiment {_md(curves.experiment)}", ""]
    drawn = False
    charts = (("Loss", "loss", TRAIN_LOSS, EVAL_LOSS, report.best_checkpoint),
              ("Next-token accuracy", "fraction correct", TRAIN_ACCURACY, EVAL_ACCURACY, None))
    for title, y_label, train, validation, best in charts:
        named = [(label, curves.points(name)) for label, name in
                 (("train", train), ("validation", validation))
                 if curves is not None and curves.points(name)]
        if named:
            lines += [*_chart(title, y_label, named, best), ""]
            drawn = True
    if not drawn or report.curves_note:
        lines += [f"_{_md(report.curves_note or 'no curves')}_", ""]
    lines += [line for note in wording.not_finite_notes(curves) for line in (f"_{_md(note)}_", "")]
    return "\n".join(lines)


def _chart(title: str, y_label: str, named: Sequence[tuple[str, Points]],
           best: Checkpoint | None) -> list[str]:
    grid = even_grid([points for _, points in named], points=MAX_POINTS)
    colours = [TRAIN_COLOUR if label == "train" else VALIDATION_COLOUR for label, _ in named]
    theme = {"themeVariables": {"xyChart": {"plotColorPalette": ", ".join(colours)}}}
    lines = ["```mermaid",
             f"%%{{init: {json.dumps(theme)}}}%%",
             "xychart-beta",
             f'    title "{title}"',
             f'    x-axis "step" {_number(grid[0])} --> {_number(grid[-1])}',
             f'    y-axis "{y_label}"']
    lines += [f"    line [{', '.join(_number(v) for v in on_grid(points, grid))}]"
              for _, points in named]
    lines.append("```")
    legend = " · ".join(f"{'blue' if c == TRAIN_COLOUR else 'orange'}: {label}"
                        for c, (label, _) in zip(colours, named, strict=True))
    longest = max(len(points) for _, points in named)
    if longest > len(grid):
        legend += f" · {len(grid)} points, each the mean of about {math.ceil(longest / len(grid))}"
        legend += " logged steps"
    if best is not None and best.step is not None:
        legend += f" · best checkpoint {_md(best.id)} at step {best.step:,}"
    return [*lines, f"<sub>{legend}</sub>"]


def _evaluation(report: Report) -> str:
    evaluation = report.evaluation
    during = _during(report)
    if evaluation is None:
        return "\n".join(["#### Evaluation\n\n_no evaluation recorded yet_\n", *during])
    lines = [_pairs("Evaluation", wording.evaluation_rows(evaluation))]
    rows = wording.metric_rows(evaluation)
    if rows:
        lines.append(_table(wording.metric_columns(evaluation), rows[:MAX_METRICS]))
        if len(rows) > MAX_METRICS:
            lines.append(f"_… and {len(rows) - MAX_METRICS} more metrics_\n")
    if evaluation.checkpoints:
        lines.append(_table(wording.checkpoint_columns(evaluation),
                            wording.checkpoint_rows(evaluation)[:MAX_METRICS]))
    if evaluation.worst:
        lines.append("Lowest-scored examples:\n")
        lines += [f"- {_md(line)}" for line in wording.worst_lines(evaluation)]
        lines.append("")
    if evaluation.failures:
        lines.append("Failed examples:\n")
        lines += [f"- **{_md(f.example)}**: {_md(f.error)}"
                  for f in evaluation.failures[: wording.MAX_FAILURES]]
        if note := wording.failure_note(evaluation):
            lines.append(f"- _{_md(note)}_")
        lines.append("")
    return "\n".join([*lines, *during])


def _during(report: Report) -> list[str]:
    """Vertex's own evaluation of each checkpoint while it tuned (`duringTuning`), if any."""
    runs = report.during_tuning
    if not runs:
        return []
    return ["During tuning (Vertex):\n",
            _table(wording.during_columns(runs), wording.during_rows(runs)[:MAX_METRICS])]


def _data(report: Report) -> str:
    lines = ["#### Data", ""]
    if report.dataset:
        lines += [*_code_block(report.dataset), ""]
    if report.data_stats is not None:
        lines.append(_table(wording.DATA_COLUMNS, wording.data_rows(report.data_stats)))
        if note := wording.estimate_note(report.data_stats):
            lines += [_md(note), ""]
    if len(lines) == 2:
        lines += ["_no dataset statistics recorded yet_", ""]
    return "\n".join(lines)


def _pairs(title: str, rows: Sequence[tuple[str, str]]) -> str:
    return f"#### {title}\n\n" + _table(("", ""), rows)


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(_md(c) for c in columns) + " |",
             "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _verdict(verdict: str) -> str:
    return f"{_ICON[wording.tone(verdict)]} {_md(verdict)}"


def _md(value: str, limit: int = MAX_CELL) -> str:
    """One line of inert Markdown text: cut, HTML-escaped, punctuation escaped, no mentions."""
    value = " ".join(value.split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    value = _INLINE.sub(r"\\\1", html.escape(value, quote=False))
    return _MENTION.sub("@\u2060", value)


def _code_block(value: str) -> list[str]:
    if len(value) > MAX_BLOCK:
        value = value[:MAX_BLOCK] + "\n…"
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", value.rstrip("\n"), fence]


def _number(value: float) -> str:
    """A number Mermaid parses: plain decimal, four significant digits, no exponent."""
    if value == 0 or not math.isfinite(value):
        return "0"
    decimals = min(8, max(0, 3 - math.floor(math.log10(abs(value)))))
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
