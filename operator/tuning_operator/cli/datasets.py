"""`tuning-operator dataset validate | stats | convert`: the dataset pre-flight from a shell or CI.

`validate` runs the same check the operator runs before creating a job, so a bad dataset fails
the pull request instead of a Vertex job hours later. Exit codes: 0 ok (or warnings only),
1 errors (or warnings with `--fail-on warnings`), 2 usage (unknown model). The pre-flight
package is imported inside the handlers: numpy takes a fraction of a second to load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from tuning_operator.errors import OperatorError
from tuning_operator.specs.catalog import BaseModel, default_catalog

DEFAULT_MODEL = "gemini-2.5-flash"


def register(sub: Any) -> None:
    """Add `dataset validate|stats|convert` to the top-level parser."""
    group = sub.add_parser("dataset", help="Check, measure and convert tuning datasets.")
    actions = group.add_subparsers(dest="dataset_command", required=True, metavar="ACTION")

    validate = actions.add_parser(
        "validate",
        help="Check a training (and validation) JSONL file against a base model.",
        description="One streaming pass per file (local path or gs://): format, roles, token"
        " limits, sizes, duplicates, train/validation leakage, train-serving skew.",
    )
    validate.add_argument("training", metavar="TRAIN", help="training JSONL (path or gs://)")
    validate.add_argument("--validation", metavar="VAL", help="validation JSONL (path or gs://)")
    validate.add_argument("--evaluation", metavar="EVAL",
                          help="evaluation JSONL (path or gs://), checked with the same rules")
    _model_argument(validate)
    validate.add_argument("--format", choices=("text", "json"), default="text")
    validate.add_argument("--allow-leakage", action="store_true",
                          help="report train/validation overlap as a warning, not an error")
    validate.add_argument("--fail-on", choices=("errors", "warnings"), default="errors",
                          help="exit 1 on errors (default) or on warnings too")
    validate.add_argument("--max-listed", type=int, default=5, metavar="N",
                          help="findings listed per kind and file (totals are always exact)")
    _sample_arguments(validate)
    validate.set_defaults(handler=run_validate)

    stats = actions.add_parser(
        "stats",
        help="Examples, turns, estimated tokens and billable tokens of a dataset file.",
    )
    stats.add_argument("file", metavar="FILE", help="JSONL (path or gs://)")
    _model_argument(stats)
    stats.add_argument("--epochs", type=int, metavar="N",
                       help="epochs for the billable tokens (default: the recommended ones)")
    stats.add_argument("--format", choices=("text", "json"), default="text")
    stats.set_defaults(handler=run_stats)

    convert = actions.add_parser(
        "convert",
        help="Rewrite a Gemini API dataset (text_input/output) in the Vertex format.",
    )
    convert.add_argument("--from", dest="source_format", choices=("gemini-api",), required=True)
    convert.add_argument("input", metavar="IN", help="JSONL (path or gs://)")
    convert.add_argument("output", metavar="OUT", help="output path, or - for stdout")
    convert.add_argument("--skip-invalid", action="store_true",
                         help="write the valid lines even when some cannot be converted")
    convert.set_defaults(handler=run_convert)


def _model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"base model whose limits apply (default: {DEFAULT_MODEL})")


def _sample_arguments(parser: argparse.ArgumentParser) -> None:
    coverage = parser.add_mutually_exclusive_group()
    coverage.add_argument("--thorough", action="store_true",
                          help="MinHash every example (slower; default: a bounded sample)")
    coverage.add_argument("--sample-mb", type=float, metavar="MB",
                          help="near-duplicate sample budget in MB of the training file")


def _model(name: str) -> BaseModel | None:
    catalog = default_catalog()
    model = catalog.get(name)
    if model is None:
        print(f"unknown model {name!r}; known models: {catalog.known()}", file=sys.stderr)
    return model


def run_validate(args: argparse.Namespace) -> int:
    from tuning_operator.datasets import (  # numpy only when used
        CheckOptions,
        Verdict,
        check_dataset,
    )
    from tuning_operator.datasets.preflight import (
        DEFAULT_SAMPLE_BUDGET_BYTES,
    )
    from tuning_operator.datasets.rendering import render_report

    model = _model(args.model)
    if model is None:
        return 2
    budget: int | None = DEFAULT_SAMPLE_BUDGET_BYTES
    if args.thorough:
        budget = None
    elif args.sample_mb is not None:
        budget = int(args.sample_mb * 1024 * 1024)
    options = CheckOptions(allow_leakage=args.allow_leakage, listed_per_kind=args.max_listed,
                           sample_budget_bytes=budget)
    try:
        report = check_dataset(args.training, args.validation, model=model, options=options,
                               evaluation_uri=args.evaluation)
    except OperatorError as exc:  # credentials, or storage failing in a retryable way
        print(f"dataset check could not run: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(render_report(report))
    if report.verdict is Verdict.ERRORS:
        return 1
    return 1 if args.fail_on == "warnings" and report.verdict is Verdict.WARNINGS else 0


def run_stats(args: argparse.Namespace) -> int:
    from tuning_operator.datasets import FindingKind, check_dataset
    from tuning_operator.datasets.rendering import (
        render_recommendation,
        render_stats,
    )

    model = _model(args.model)
    if model is None:
        return 2
    try:
        report = check_dataset(args.file, None, model=model)
    except OperatorError as exc:
        print(f"dataset stats could not run: {exc}", file=sys.stderr)
        return 1
    if any(t.kind is FindingKind.UNREADABLE for t in report.totals):
        print(report.reason(), file=sys.stderr)
        return 1
    stats = report.training.stats
    epochs = args.epochs or report.recommendation.epoch_count
    billable = None if epochs is None else stats.billable_tokens(epochs)
    if args.format == "json":
        full = report.to_dict()
        document = {
            "file": args.file,
            "model": model.name,
            "stats": full["training"]["stats"],
            "epochs": epochs,
            "billableTokens": billable,
            "recommendation": full["recommendation"],
            "verdict": report.verdict.value,
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    print(f"{args.file} ({model.name}; tokens are estimates: UTF-8 bytes / 4)")
    print("  " + render_stats(stats))
    if billable is not None:
        print(f"  billable training tokens ≈ {billable:,} ({stats.tokens_trained:,} × {epochs}"
              " epochs)")
    print(render_recommendation(report.recommendation, stats))
    print(f"  dataset check: {report.verdict.value} (run `dataset validate` for the findings)")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from tuning_operator.datasets import DatasetObjects
    from tuning_operator.datasets.convert import convert_gemini_api

    objects = DatasetObjects()
    try:
        source = objects.stat(args.input)
    except OperatorError as exc:
        print(exc, file=sys.stderr)
        return 1
    to_stdout = args.output == "-"
    partial = f"{args.output}.partial"
    with objects.open_lines(source) as lines:
        if to_stdout:
            result = convert_gemini_api(lines, sys.stdout.buffer.write)
        else:
            with open(partial, "wb") as out:
                result = convert_gemini_api(lines, out.write)
    for finding in result.findings:
        print(f"{args.input}:{finding.line}: {finding.message} [{finding.kind.value}]",
              file=sys.stderr)
    failed = result.skipped > 0
    if not to_stdout:
        if failed and not args.skip_invalid:
            os.unlink(partial)
            print(f"{result.skipped} line(s) cannot be converted; nothing written"
                  " (--skip-invalid writes the others)", file=sys.stderr)
            return 1
        os.replace(partial, args.output)
    print(f"{result.converted} converted, {result.passed_through} already in the Vertex format,"
          f" {result.skipped} skipped", file=sys.stderr)
    return 1 if failed and not args.skip_invalid else 0
