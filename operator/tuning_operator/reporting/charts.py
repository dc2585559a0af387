"""Line charts as inline SVG, drawn with matplotlib; the only module that imports it.

matplotlib is imported inside `line_chart_svg`, so `validate`, `plan` and the operator never
pay for it. The figure is drawn through `matplotlib.figure.Figure` directly (no pyplot, so no
GUI backend and no global figure state) and saved with the SVG backend. Text is drawn as paths:
the SVG has no font dependency and no author-controlled text reaches the markup.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

from tuning_operator.reporting.curves import thin
from tuning_operator.reporting.model import Checkpoint, Points

TRAIN_COLOUR = "#1f77b4"
VALIDATION_COLOUR = "#ff7f0e"
MARKER_COLOUR = "#2ca02c"
NOT_FINITE_COLOUR = "#d62728"
MAX_DRAWN_POINTS = 1000  # per line: keeps a 10,000-step run's SVG small, invisible at 8 inches
_PROLOGUE = re.compile(r"\A\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?")
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)  # RDF boilerplate


@dataclass(frozen=True)
class Line:
    """One curve of a chart, with its legend label and colour."""

    label: str
    points: Points
    colour: str


def line_chart_svg(*, title: str, y_label: str, lines: Sequence[Line],
                   best: Checkpoint | None = None, not_finite_from: float | None = None) -> str:
    """An `<svg>` element: the lines over steps, the best checkpoint's step marked if known.

    `not_finite_from`, when a line turned NaN or ±inf, is marked by a red dotted vertical
    line: the lines end there because there is no number to draw, not because training did.
    """
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.hashsalt": "tuning-operator", "svg.fonttype": "path",
                                "font.size": 9}):
        figure = Figure(figsize=(8, 3.4), layout="constrained")
        axes = figure.add_subplot()
        for line in lines:
            points = thin(line.points, points=MAX_DRAWN_POINTS)
            steps, values = [p[0] for p in points], [p[1] for p in points]
            style = "o-" if len(points) < 30 else "-"
            axes.plot(steps, values, style, color=line.colour, label=line.label,
                      linewidth=1.4, markersize=3)
        if best is not None and best.step is not None:
            label = f"best checkpoint {_short(best.id)}".replace("$", r"\$")  # no mathtext
            if best.epoch is not None:
                label += f" (epoch {best.epoch})"
            axes.axvline(best.step, color=MARKER_COLOUR, linestyle="--", linewidth=1.2,
                         label=label)
            for line in lines[::-1]:  # mark the value on the last line (validation if present)
                at = _nearest(line.points, best.step)
                if at is not None:
                    axes.plot([at[0]], [at[1]], marker="*", markersize=12, color=MARKER_COLOUR,
                              linestyle="none")
                    break
        if not_finite_from is not None:
            axes.axvline(not_finite_from, color=NOT_FINITE_COLOUR, linestyle=":", linewidth=1.6,
                         label=f"not finite from step {not_finite_from:,.0f}")
        axes.set_title(title, loc="left", fontsize=11)
        axes.set_xlabel("step")
        axes.set_ylabel(y_label)
        axes.grid(True, color="#dddddd", linewidth=0.6)
        axes.spines[["top", "right"]].set_visible(False)
        axes.legend(loc="best", frameon=False)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = _PROLOGUE.sub("", buffer.getvalue(), count=1)
    return _METADATA.sub("", svg, count=1).strip()


def _nearest(points: Points, step: float) -> tuple[float, float] | None:
    return min(points, key=lambda p: abs(p[0] - step)) if points else None


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
