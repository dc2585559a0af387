"""Plain-text rendering of dataset reports, for the CLI and for `validate` / `plan` output.

Line-oriented and grep-friendly: `FILE:LINE: severity: message [kind]`, one finding per line,
then the totals (exact, even where the listing is capped), the statistics and the recommended
hyperparameters. Never reads files; never colours (CI logs are the main reader).
"""

from __future__ import annotations

from tuning_operator.datasets.findings import DatasetRole
from tuning_operator.datasets.recommend import Recommendation
from tuning_operator.datasets.report import DatasetFileReport, DatasetReport
from tuning_operator.datasets.stats import DatasetStats


def render_report(report: DatasetReport) -> str:
    """The whole report: verdict line, findings, totals, statistics, recommendation."""
    files = {DatasetRole.TRAINING: report.training.uri}
    if report.validation is not None:
        files[DatasetRole.VALIDATION] = report.validation.uri
    if report.evaluation is not None:
        files[DatasetRole.EVALUATION] = report.evaluation.uri
    lines = [
        f"dataset {report.training.uri}"
        + (f" + {report.validation.uri}" if report.validation else "")
        + (f" (evaluation {report.evaluation.uri})" if report.evaluation else "")
        + f" for {report.model}: {report.verdict.value.upper()}"
        f" ({report.errors} errors, {report.warnings} warnings)"
    ]
    for finding in report.findings:
        where = files[finding.dataset] + ("" if finding.line is None else f":{finding.line}")
        lines.append(f"  {where}: {finding.severity.value}: {finding.message}"
                     f" [{finding.kind.value}]")
    listed = len(report.findings)
    total = report.errors + report.warnings
    if total > listed:
        lines.append(f"  … {total - listed} more findings not listed; totals:")
        for t in sorted(report.totals, key=lambda t: (t.dataset.value, t.kind.value)):
            lines.append(f"    {t.dataset.value} {t.kind.value} ({t.severity.value}): {t.count:,}")
    for file in (report.training, report.validation, report.evaluation):
        if file is not None:
            lines.extend(_file_lines(file))
    lines.append(render_recommendation(report.recommendation, report.training.stats))
    return "\n".join(lines)


def _file_lines(file: DatasetFileReport) -> list[str]:
    if not file.read:
        return [f"  {file.role.value}: not read"]
    version = f" (generation {file.object.generation})" if file.object else ""
    sampled = file.sampled_examples
    coverage = (
        "all examples" if sampled >= file.stats.examples
        else f"{sampled:,} of {file.stats.examples:,} examples (sampled)"
    )
    return [
        f"  {file.role.value}: {file.format.value} format{version}; near duplicates and"
        f" layouts checked on {coverage}",
        "    " + render_stats(file.stats),
    ]


def render_stats(stats: DatasetStats) -> str:
    """One line of figures; tokens are estimates (UTF-8 bytes / 4)."""
    return (
        f"{stats.examples:,} examples in {stats.lines:,} lines, {stats.turns_mean:.1f} turns on"
        f" average (max {stats.turns_max}); estimated tokens per example: mean"
        f" {stats.tokens_mean:,.0f}, p50 {stats.tokens_p50:,}, p95 {stats.tokens_p95:,}, max"
        f" {stats.tokens_max:,}; {stats.tokens_trained:,} tokens per epoch"
        + (f" ({stats.tokens_truncated:,} more past the per-example limit, truncated)"
           if stats.tokens_truncated else "")
    )


def render_recommendation(recommendation: Recommendation, stats: DatasetStats) -> str:
    """The recommended hyperparameters and the billable tokens they imply."""
    def value(v: object) -> str:
        return "Vertex default" if v is None else str(v)

    billable = recommendation.billable_tokens(stats)
    cost = (
        f"≈ {billable:,} billable training tokens" if billable is not None
        else f"≈ {stats.tokens_trained:,} billable tokens per epoch (Vertex picks the epochs)"
    )
    return (
        f"  recommended: epochCount {value(recommendation.epoch_count)}, learningRateMultiplier"
        f" {value(recommendation.learning_rate_multiplier)}, adapterSize"
        f" {value(recommendation.adapter_size)} ({recommendation.reason}); {cost}"
    )
