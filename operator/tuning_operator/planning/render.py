"""Plans and validation results as text, JSON and a pull-request comment (Markdown).

The Markdown form is read by reviewers in a PR: changes first, a summary line they can scan,
and never longer than a PR comment may be, however many jobs the directory holds. Everything a
file author controls (names, paths, reasons that quote a file) is escaped for a Markdown table
cell: no HTML (`<!--` would hide the rest of the comment), no code spans, no links, no
mentions, no line breaks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from tuning_operator.planning.planner import Action, ActionKind, Plan
from tuning_operator.specs import DirectoryLoad, SpecError
from tuning_operator.specs.walk import shown

MARKDOWN_LIMIT = 60_000
_SYMBOL = {
    ActionKind.CREATE: "+", ActionKind.CANCEL: "-", ActionKind.WAIT: "…",
    ActionKind.CONFLICT: "!", ActionKind.INVALID: "✗", ActionKind.ORPHAN: "~",
    ActionKind.NOOP: "=", ActionKind.RETIRE: "·", ActionKind.READ_METRICS: "≈",
    ActionKind.SMOKE_TEST: "?", ActionKind.EVALUATE: "★", ActionKind.PROMOTE: "⇑",
}
_SUMMARY_WORDS = {
    ActionKind.CREATE: "to create", ActionKind.CANCEL: "to cancel",
    ActionKind.WAIT: "waiting", ActionKind.CONFLICT: "in conflict",
    ActionKind.INVALID: "invalid", ActionKind.ORPHAN: "to orphan",
    ActionKind.NOOP: "unchanged", ActionKind.RETIRE: "to retire",
    ActionKind.READ_METRICS: "to read metrics", ActionKind.SMOKE_TEST: "to smoke-test",
    ActionKind.EVALUATE: "to evaluate", ActionKind.PROMOTE: "to promote",
}


# A post-success step held this pass: listed after the actions, never counted as a change.
HOLD_SYMBOL, HOLD_WORD = "‖", "hold"


def summary(plan: Plan) -> str:
    counts = plan.counts()
    parts = [f"{counts.get(kind, 0)} {_SUMMARY_WORDS[kind]}" for kind in ActionKind]
    held = [f"{len(plan.holding)} held"] if plan.holding else []
    return "Plan: " + ", ".join(parts + held)


def _held_step(a: Action) -> str:
    """`evaluate: endpoint unavailable: asked again in 40 s …`: the step and why it waits."""
    return f"{a.kind.value}: {a.reason}"


def plan_text(plan: Plan) -> str:
    lines = [summary(plan)]
    if plan.quota:
        lines.append(plan.quota)
    lines.extend(f"held: {reason}" for reason in plan.held)
    rows = [(_SYMBOL[a.kind], a.kind.value, a, a.reason) for a in plan.actions]
    rows += [(HOLD_SYMBOL, HOLD_WORD, a, _held_step(a)) for a in plan.holding]
    for symbol, word, a, reason in rows:
        who = f"{a.team}/{a.job}" if a.team and a.job else (a.job or a.file or "?")
        lines.append(f"  {symbol} {word:<8} {who:<48} {a.region or '-':<14} {reason}")
        if a.dataset:
            lines.append(f"      {'':<8} {a.dataset}")
    return "\n".join(lines) + "\n"


def plan_json(plan: Plan) -> str:
    document = {
        "changes": plan.changes,
        "summary": {kind.value: plan.counts().get(kind, 0) for kind in ActionKind},
        "held": list(plan.held),
        "quota": plan.quota,
        "actions": [_action_dict(a) for a in plan.actions],
        "holding": [{**_action_dict(a), "retryAfter": None if a.retry_after is None
                     else round(a.retry_after, 1)} for a in plan.holding],
    }
    return json.dumps(document, indent=2) + "\n"


def _action_dict(a: Action) -> dict[str, object]:
    return {
        "action": a.kind.value, "job": a.job, "team": a.team, "region": a.region,
        "file": a.file, "phase": a.phase.value if a.phase else None,
        "vertexJob": a.vertex_name, "specHash": a.spec_hash[:16] if a.spec_hash else None,
        "reason": a.reason, "dataset": a.dataset,
        **({"alias": a.file} if a.alias is not None or a.kind == ActionKind.PROMOTE else {}),
    }


_MARKDOWN = str.maketrans({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|", "`": "\\`", "\\": "\\\\",
    "*": "\\*", "_": "\\_", "[": "\\[", "]": "\\]", "~": "\\~",
    "@": "@\u200b",  # a zero-width space: `@team` in a file never pings anyone
})


def _cell(text: str | None, limit: int | None = None) -> str:
    """`text` as inert Markdown for one table cell (cut to `limit` characters first)."""
    flat = " ".join((text or "").splitlines())[:limit]
    return shown(flat).translate(_MARKDOWN)


def plan_markdown(plan: Plan, *, limit: int = MARKDOWN_LIMIT) -> str:
    """A PR comment: summary, held removals, then a table that is cut to stay under `limit`."""
    counts = plan.counts()
    bold = ", ".join([f"**{counts.get(k, 0)} {_SUMMARY_WORDS[k]}**" if counts.get(k) else
                      f"{counts.get(k, 0)} {_SUMMARY_WORDS[k]}" for k in ActionKind]
                     + ([f"**{len(plan.holding)} held**"] if plan.holding else []))
    head = ["### tuning-operator plan", "", bold, ""] + ([plan.quota, ""] if plan.quota else [])
    head.extend(f"> held: {_cell(reason)}" for reason in plan.held)
    with_dataset = any(a.dataset for a in plan.actions)
    columns = "| | action | job | team | region | reason |" + (" dataset |" if with_dataset else "")
    head.extend(["", columns, "|---" * columns.count(" |") + "|"])
    footer_room = 200
    size = sum(len(line) + 1 for line in head)
    rows: list[str] = []
    shown_rows = [(_SYMBOL[a.kind], a.kind.value, a) for a in plan.actions]
    shown_rows += [(HOLD_SYMBOL, f"{HOLD_WORD} {a.kind.value}", a) for a in plan.holding]
    for index, (symbol, word, a) in enumerate(shown_rows):
        row = (f"| {symbol} | {word} | {_cell(a.job or a.file)} |"
               f" {_cell(a.team)} | {_cell(a.region)} | {_cell(a.reason, 300)} |")
        if with_dataset:
            row += f" {_cell(a.dataset, 300)} |"
        if size + len(row) + 1 + footer_room > limit:
            rest = len(shown_rows) - index
            rows.append("")
            rows.append(f"_… {rest} more rows not shown (comment size limit); run"
                        " `tuning-operator plan --format json` for all of them._")
            break
        rows.append(row)
        size += len(row) + 1
    return "\n".join(head + rows) + "\n"


def errors_text(errors: Sequence[SpecError]) -> str:
    return "".join(f"{e}\n" for e in errors)


def validation_document(load: DirectoryLoad) -> dict[str, object]:
    """`validate --format json`: the valid job names, every error and warning with its place,
    and the directories not read because of their names."""
    def entries(problems: Sequence[SpecError]) -> list[dict[str, object]]:
        return [{"file": e.file, "line": e.line, "column": e.column, "job": e.job,
                 "message": e.message} for e in problems]

    return {"valid": sorted(load.jobs), "aliases": sorted(load.aliases),
            "skipped": list(load.skipped),
            "errors": entries(load.errors), "warnings": entries(load.warnings)}
