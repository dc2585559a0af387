"""What a pull request does to the jobs directory: base revision × working tree → file changes.

A reviewer approves a change, not a directory: `plan --base REV` shows first which jobs the
change adds, removes, changes and moves between teams, and for each removed file what its last
version said about removal (`onDelete` from the base, never a guess). Pure: both sides are
loads made by the one loader; nothing here reads git or Vertex.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tuning_operator.specs.loader import DirectoryLoad
from tuning_operator.specs.model import TuningJob


class ChangeKind(StrEnum):
    """In the order a reviewer reads them: what can cancel or move a job first."""

    REMOVED = "removed"
    MOVED = "moved"
    CHANGED = "changed"
    ADDED = "added"


@dataclass(frozen=True)
class FileChange:
    kind: ChangeKind
    job: str
    team: str  # the team now (the base's for a removed file)
    file: str  # the path now (the base's for a removed file)
    detail: str
    base_team: str | None = None
    on_delete: str | None = None  # a removed file's last word: "Orphan" | "Cancel"


@dataclass(frozen=True)
class Change:
    base: str  # the revision as given
    files: tuple[FileChange, ...]

    def count(self, kind: ChangeKind) -> int:
        return sum(1 for f in self.files if f.kind == kind)

    def summary(self) -> str:
        counts = ", ".join(f"{self.count(k)} {k.value}" for k in ChangeKind)
        return f"Change against {self.base}: {counts}"


def compare(base: DirectoryLoad, head: DirectoryLoad, *, revision: str) -> Change:
    """The jobs added, removed, changed (spec or file) and moved between base and head.

    A file invalid in the working tree is not a removal (its job keeps running, as in the
    operator); a job whose file is invalid at the base and valid now counts as added.
    """
    files: list[FileChange] = []
    for name, now in head.jobs.items():
        was = base.jobs.get(name)
        if was is None:
            files.append(FileChange(ChangeKind.ADDED, name, now.team, now.path, "new job file"))
        elif was.team != now.team:
            files.append(FileChange(ChangeKind.MOVED, name, now.team, now.path,
                                    f"moved from team {was.team!r} to team {now.team!r}",
                                    base_team=was.team))
        elif was.spec_hash != now.spec_hash:
            files.append(FileChange(ChangeKind.CHANGED, name, now.team, now.path,
                                    f"spec {was.spec_hash[:16]} → {now.spec_hash[:16]}"))
        elif notes := _unhashed_changes(was.job, now.job, was.path, now.path):
            files.append(FileChange(ChangeKind.CHANGED, name, now.team, now.path, notes))
    for name in sorted(base.jobs.keys() - head.jobs.keys() - head.invalid_names):
        was = base.jobs[name]
        on_delete = was.spec.on_delete
        files.append(FileChange(ChangeKind.REMOVED, name, was.team, was.path,
                                removal_words(on_delete), on_delete=on_delete))
    order = list(ChangeKind)
    files.sort(key=lambda f: (order.index(f.kind), f.team, f.job))
    return Change(base=revision, files=tuple(files))


def _unhashed_changes(was: TuningJob, now: TuningJob, was_path: str, now_path: str) -> str:
    """What changed that the spec hash does not cover: the file's path, operator-only fields."""
    notes = [f"renamed from {was_path}"] if was_path != now_path else []
    if was.spec.on_delete != now.spec.on_delete:
        notes.append(f"onDelete {was.spec.on_delete} → {now.spec.on_delete}")
    elif was != now:
        notes.append("operator-only fields changed (the Vertex job stays)")
    return "; ".join(notes)


def removal_words(on_delete: str) -> str:
    if on_delete == "Cancel":
        return "onDelete: Cancel: its Vertex job, if active, is cancelled"
    return "onDelete: Orphan: its Vertex job, if active, runs on unmanaged"
