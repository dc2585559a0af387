"""Reports people look at: one job's curves, diagnosis, evaluation gate and data, drawn.

Public surface: `load_report(state_dir, name)` reads what the operator recorded into a frozen
`Report`; `render_html(report)` makes one self-contained HTML file (charts as inline SVG, drawn
by matplotlib); `render_markdown(report)` makes a pull-request comment (Mermaid charts, tables)
that stays under the comment size limit. This package only reads the state directory: it never
calls Vertex, and it imports matplotlib only inside the function that draws.
"""

from tuning_operator.reporting.html_page import render_html
from tuning_operator.reporting.loading import load_report
from tuning_operator.reporting.markdown_comment import render_markdown
from tuning_operator.reporting.model import (
    Checkpoint,
    DataStats,
    Diagnosis,
    Evaluation,
    ExampleFailure,
    MetricScore,
    Report,
    TrainingCurves,
)

__all__ = [
    "Checkpoint",
    "DataStats",
    "Diagnosis",
    "Evaluation",
    "ExampleFailure",
    "MetricScore",
    "Report",
    "TrainingCurves",
    "load_report",
    "render_html",
    "render_markdown",
]
