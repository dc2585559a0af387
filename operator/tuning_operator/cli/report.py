"""`tuning-operator report NAME`: one job's curves, diagnosis, gate and data, as HTML or Markdown.

It reads only the state directory the operator writes (no cloud call), so it works on a laptop
from a copy of that directory and in CI after an `--until-settled` run. The reporting package,
and with it matplotlib, is imported inside the handler only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tuning_operator.cli.status import DEFAULT_STATE_DIR


def register(sub: Any) -> None:
    """Add `report` to the top-level parser."""
    report = sub.add_parser(
        "report",
        help="draw one job's loss curves, diagnosis, evaluation gate and data statistics",
        description="Draw what the operator recorded about one job: train and validation loss"
        " (best checkpoint marked), next-token accuracy, the diagnosis, the evaluation metrics"
        " against the base model with the gate's verdict, and the dataset statistics.",
    )
    report.add_argument("name", help="the job's metadata.name")
    report.add_argument("--state-dir", default=DEFAULT_STATE_DIR,
                        help=f"the operator's state directory (default: {DEFAULT_STATE_DIR})")
    report.add_argument("--format", choices=("html", "markdown"), default=None,
                        help="html: one self-contained file; markdown: a pull-request comment"
                        " (default: markdown for an --output ending in .md, else html)")
    report.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    report.set_defaults(handler=report_command)


def report_command(args: argparse.Namespace) -> int:
    from tuning_operator.errors import ReportUnavailable
    from tuning_operator.reporting import load_report, render_html, render_markdown

    try:
        report = load_report(args.state_dir, args.name)
    except ReportUnavailable as error:
        print(f"tuning-operator report: {error}", file=sys.stderr)
        return 2
    output = Path(args.output) if args.output else None
    by_suffix = output is not None and output.suffix.lower() in (".md", ".markdown")
    markdown = args.format == "markdown" or (args.format is None and by_suffix)
    document = render_markdown(report) if markdown else render_html(report)
    if output is None:
        sys.stdout.write(document)
        return 0
    try:
        output.write_text(document, encoding="utf-8")
    except OSError as error:
        print(f"tuning-operator report: cannot write {str(output)!r}: {error.strerror or error};"
              " choose an --output in a directory that exists", file=sys.stderr)
        return 2
    print(f"wrote {output} ({len(document):,} characters)", file=sys.stderr)
    return 0
