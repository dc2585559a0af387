"""Plans and validation results as text, JSON and a pull-request comment (Markdown).

The Markdown form is read by reviewers in a PR: what the change does to the files first (with
`--base`), a summary line they can scan, then the rows in the order a reviewer needs them
(invalid, conflict, cancel, create, wait, …, unchanged last), and never longer than a PR comment
may be, however many jobs the directory holds: unchanged rows are cut first, and the comment
says how many of each were left out. Everything a
file author controls (names, paths, reasons that quote a file) is escaped for a Markdown table
cell: no HTML (`<!--` would hide the rest of the comment), no code spans, no links, no
mentions, no line breaks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tuning_operator.planning.planner import Action, ActionKind, Plan
from tuning_operator.planning.render_json import indented_json
from tuning_operator.planning.render_money import (
    change_total,
    estimate_text,
    money_document,
    money_lines,
    team_line,
)
from tuning_operator.planning.render_validation import errors_text as errors_text  # noqa: PLC0414
from tuning_operator.planning.render_validation import (
    validation_document as validation_document,  # noqa: PLC0414
)
from tuning_operator.specs.walk import shown

if TYPE_CHECKING:  # the change against a base (`plan --base`) only: imported when there is one
    from tuning_operator.planning.change import Change

MARKDOWN_LIMIT = 60_000
CHANGE_SHARE = 4  # the file changes take at most 1/4 of a comment; the plan rows the rest
# What a reviewer must look at first: why CI fails, what cannot proceed, then what the change
# starts or stops, down to what stays as it is.
REVIEW_ORDER = (
    ActionKind.INVALID, ActionKind.CONFLICT, ActionKind.BLOCK, ActionKind.CANCEL, ActionKind.CREATE,
    ActionKind.PROMOTE, ActionKind.WAIT, ActionKind.ORPHAN, ActionKind.RETIRE, ActionKind.EVALUATE,
    ActionKind.SMOKE_TEST, ActionKind.READ_METRICS, ActionKind.NOOP,
)
# By ChangeKind (a StrEnum: its members are these strings).
_CHANGE_SYMBOL = {"removed": "-", "moved": ">", "changed": "~", "added": "+"}
_SYMBOL = {
    ActionKind.CREATE: "+", ActionKind.CANCEL: "-", ActionKind.WAIT: "…",
    ActionKind.CONFLICT: "!", ActionKind.INVALID: "✗", ActionKind.BLOCK: "⊘",
    ActionKind.ORPHAN: "~",
    ActionKind.NOOP: "=", ActionKind.RETIRE: "·", ActionKind.READ_METRICS: "≈",
    ActionKind.SMOKE_TEST: "?", ActionKind.EVALUATE: "★", ActionKind.PROMOTE: "⇑",
}
_SUMMARY_WORDS = {
    ActionKind.CREATE: "to create", ActionKind.CANCEL: "to cancel",
    ActionKind.WAIT: "waiting", ActionKind.CONFLICT: "in conflict",
    ActionKind.INVALID: "invalid", ActionKind.BLOCK: "blocked", ActionKind.ORPHAN: "to orphan",
    ActionKind.NOOP: "unchanged", ActionKind.RETIRE: "to retire",
    ActionKind.READ_METRICS: "to read metrics", ActionKind.SMOKE_TEST: "to smoke-test",
    ActionKind.EVALUATE: "to evaluate", ActionKind.PROMOTE: "to promote",
}


# A post-success step held this pass: listed after the actions, never counted as a change.
HOLD_SYMBOL, HOLD_WORD = "‖", "hold"


def summary(plan: Plan) -> str:
    counts = plan.counts()
    parts = [f"{counts.get(kind, 0)} {_SUMMARY_WORDS[kind]}" for kind in REVIEW_ORDER]
    held = [f"{len(plan.holding)} held"] if plan.holding else []
    return "Plan: " + ", ".join(parts + held)


def _held_step(a: Action) -> str:
    """`evaluate: endpoint unavailable: asked again in 40 s …`: the step and why it waits."""
    return f"{a.kind.value}: {a.reason}"


def in_review_order(actions: Sequence[Action]) -> list[Action]:
    """The planner's order within a kind, kinds in `REVIEW_ORDER`."""
    rank = {kind: i for i, kind in enumerate(REVIEW_ORDER)}
    return sorted(actions, key=lambda a: rank[a.kind])


def change_text(change: Change) -> list[str]:
    lines = [change.summary()]
    for f in change.files:
        lines.append(f"  {_CHANGE_SYMBOL[f.kind]} {f.kind.value:<8} {f.team}/{f.job:<40}"
                     f" {f.detail}")
    return lines


def plan_text(plan: Plan, *, change: Change | None = None) -> str:
    lines = [*change_text(change), ""] if change is not None else []
    lines.append(summary(plan))
    lines.extend(f"note: {note}" for note in plan.notes)
    lines.extend(money_lines(plan))
    if plan.quota:
        lines.append(plan.quota)
    lines.extend(f"held: {reason}" for reason in plan.held)
    rows = [(_SYMBOL[a.kind], a.kind.value, a, a.reason) for a in in_review_order(plan.actions)]
    rows += [(HOLD_SYMBOL, HOLD_WORD, a, _held_step(a)) for a in plan.holding]
    for symbol, word, a, reason in rows:
        who = f"{a.team}/{a.job}" if a.team and a.job else (a.job or a.file or "?")
        lines.append(f"  {symbol} {word:<8} {who:<48} {a.region or '-':<14} {reason}")
        if a.dataset:
            lines.append(f"      {'':<8} {a.dataset}")
        if cost := estimate_text(a):
            lines.append(f"      {'':<8} {cost}")
    return "\n".join(lines) + "\n"


def plan_json(plan: Plan, *, change: Change | None = None) -> str:
    document = {
        "changes": plan.changes,
        "pending": plan.pending,
        **({"change": _change_dict(change)} if change is not None else {}),
        "summary": {kind.value: plan.counts().get(kind, 0) for kind in REVIEW_ORDER},
        "held": list(plan.held),
        "notes": list(plan.notes),
        "money": money_document(plan),
        "quota": plan.quota,
        "actions": [_action_dict(a) for a in in_review_order(plan.actions)],
        "holding": [{**_action_dict(a), "retryAfter": None if a.retry_after is None
                     else round(a.retry_after, 1)} for a in plan.holding],
    }
    return indented_json(document) + "\n"


def _change_dict(change: Change) -> dict[str, object]:
    from tuning_operator.planning.change import ChangeKind

    return {"base": change.base,
            "counts": {kind.value: change.count(kind) for kind in ChangeKind},
            "files": [{"change": f.kind.value, "job": f.job, "team": f.team, "file": f.file,
                       "baseTeam": f.base_team, "onDelete": f.on_delete, "detail": f.detail}
                      for f in change.files]}


def _action_dict(a: Action) -> dict[str, object]:
    return {
        "action": a.kind.value, "job": a.job, "team": a.team, "region": a.region,
        "file": a.file, "phase": a.phase.value if a.phase else None,
        "vertexJob": a.vertex_name, "specHash": a.spec_hash[:16] if a.spec_hash else None,
        "reason": a.reason, "dataset": a.dataset,
        "estimate": a.estimate.to_dict() if a.estimate is not None else None,
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


def plan_markdown(plan: Plan, *, limit: int = MARKDOWN_LIMIT,
                  change: Change | None = None) -> str:
    """A PR comment: the file changes, the summary, held removals, then the plan's rows in
    review order; each table is cut to stay under `limit`, unchanged rows first."""
    counts = plan.counts()
    bold = ", ".join([f"**{counts.get(k, 0)} {_SUMMARY_WORDS[k]}**" if counts.get(k) else
                      f"{counts.get(k, 0)} {_SUMMARY_WORDS[k]}" for k in REVIEW_ORDER]
                     + ([f"**{len(plan.holding)} held**"] if plan.holding else []))
    head = ["### tuning-operator plan", ""]
    if change is not None:
        head += _change_markdown(change, limit // CHANGE_SHARE)
    head += [bold, ""] + ([plan.quota, ""] if plan.quota else [])
    head.extend(f"> held: {_cell(reason)}" for reason in plan.held)
    head.extend(f"> **note:** {_cell(note)}" for note in plan.notes)
    total = change_total(plan)
    head.extend(([f"**{_cell(total)}**", ""] if total else [])
                + [f"- {_cell(team_line(m))}" for m in plan.money[:50]])
    with_dataset = any(a.dataset for a in plan.actions)
    with_cost = any(estimate_text(a) for a in plan.actions)
    columns = ("| | action | job | team | region | reason |"
               + (" dataset |" if with_dataset else "") + (" estimate |" if with_cost else ""))
    head.extend(["", columns, "|---" * columns.count(" |") + "|"])
    shown_rows = [(_SYMBOL[a.kind], a.kind.value, a)
                  for a in in_review_order(plan.actions) if a.kind != ActionKind.NOOP]
    shown_rows += [(HOLD_SYMBOL, f"{HOLD_WORD} {a.kind.value}", a) for a in plan.holding]
    shown_rows += [(_SYMBOL[a.kind], a.kind.value, a)
                   for a in plan.actions if a.kind == ActionKind.NOOP]
    rows = []
    for symbol, word, a in shown_rows:
        row = (f"| {symbol} | {word} | {_cell(a.job or a.file)} |"
               f" {_cell(a.team)} | {_cell(a.region)} | {_cell(a.reason, 300)} |")
        rows.append(row + (f" {_cell(a.dataset, 300)} |" if with_dataset else "")
                    + (f" {_cell(estimate_text(a), 200)} |" if with_cost else ""))
    size = sum(len(line) + 1 for line in head)
    kept = _fitting(rows, room=limit - size - 300)
    left = [word for _, word, _ in shown_rows[kept:]]
    note = [] if not left else ["", f"_… {_left_out(left)} not shown (comment size limit); run"
                                " `tuning-operator plan --format json` for all of them._"]
    return "\n".join(head + rows[:kept] + note) + "\n"


def _fitting(rows: Sequence[str], *, room: int) -> int:
    """How many of `rows`, from the first, fit in `room` characters (with newlines)."""
    size = 0
    for index, row in enumerate(rows):
        size += len(row) + 1
        if size > room:
            return index
    return len(rows)


def _left_out(words: Sequence[str]) -> str:
    """`3,990 unchanged and 2 create rows`: what was cut, unchanged rows named as such."""
    unchanged = sum(1 for w in words if w == ActionKind.NOOP.value)
    other = len(words) - unchanged
    parts = ([f"{unchanged:,} unchanged"] if unchanged else []) + (
        [f"{other:,} other"] if other else [])
    return " and ".join(parts) + " rows"


def _change_markdown(change: Change, room: int) -> list[str]:
    """The file changes as a table, removals and moves first, cut to `room` characters."""
    from tuning_operator.planning.change import ChangeKind

    counts = ", ".join(f"**{change.count(k)} {k.value}**" if change.count(k) else
                       f"0 {k.value}" for k in ChangeKind)
    lines = [f"Change against {_cell(change.base)}: {counts}", ""]
    if not change.files:
        return lines
    rows = [f"| {_CHANGE_SYMBOL[f.kind]} | {f.kind.value} | {_cell(f.job)} | {_cell(f.team)} |"
            f" {_cell(f.detail, 300)} |" for f in change.files]
    kept = _fitting(rows, room=room)
    lines += ["| | change | job | team | detail |", "|---|---|---|---|---|", *rows[:kept]]
    if kept < len(rows):
        lines += ["", f"_… {len(rows) - kept:,} more changed files not shown (comment size"
                  " limit)._"]
    return [*lines, ""]
