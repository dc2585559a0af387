"""Who asked for a job: the last commit that touched its file, when the jobs dir is in git.

Also the revision of the whole directory (its HEAD), which each pass records as the commit it
reconciled.

Auditors want a name and a commit next to every action, and the GitOps answer is git itself:
`git log -1 -- FILE`. One subprocess per file per change is cheap; one per file per reconcile
pass is not, so answers are cached by the file's path and mtime together with the repository's
HEAD, index and reflog stamps (a commit changes those without touching the file).
A directory that is not a git work tree simply has no provenance. This module must never write
to the repository, and never fail a reconcile: git errors mean "unknown".

A shallow clone (git-sync with a depth) cuts history at boundary commits that git shows as
adding every file, so `git log -1 -- FILE` there names the boundary's author for files that
person never touched. A last commit that is a shallow boundary is therefore reported as
unknown, with the reason; one inside the fetched history is exact and kept.
"""

from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

_FIELD = "\x1f"
_LOG_FORMAT = _FIELD.join(("%H", "%an <%ae>", "%cI"))
_REPO_STAMPS = ("HEAD", "index", "logs/HEAD", "shallow")  # a deepening fetch changes `shallow`


@dataclass(frozen=True)
class Provenance:
    """The last commit that touched a job file, or why it cannot be known (`unknown`)."""

    commit: str | None
    author: str | None  # "Name <email>"
    commit_time: datetime | None
    unknown: str | None = None  # why commit and author are not known (a shallow clone)

    @classmethod
    def not_known(cls, why: str) -> Provenance:
        return cls(None, None, None, unknown=why)


class GitProvenance:
    """Reads (and caches) the provenance of job files through the `git` command."""

    def __init__(self, *, git: str = "git", timeout: float = 5.0) -> None:
        self._git = git
        self._timeout = timeout
        self._lock = threading.Lock()
        self._git_dirs: dict[Path, Path | None] = {}
        self._answers: dict[tuple[object, ...], Provenance | None] = {}
        self._revisions: dict[tuple[object, ...], str | None] = {}

    def of(self, path: Path) -> Provenance | None:
        """The last commit of `path`, or None (not in a repo, never committed, git missing)."""
        try:
            path = path.resolve()
            mtime = path.stat().st_mtime_ns
        except OSError:
            return None
        git_dir = self._git_dir(path.parent)
        if git_dir is None:
            return None
        key = (path, mtime, *_stamps(git_dir))
        with self._lock:
            if key in self._answers:
                return self._answers[key]
        answer = self._last_commit(path)
        with self._lock:
            self._answers[key] = answer
        return answer

    def revision(self, directory: Path) -> str | None:
        """The commit checked out in `directory` (HEAD), or None when it is not a git work tree.

        git-sync swaps a symlink to a new worktree on each sync: the link is resolved, so the
        answer is the commit of the tree the link points to now.
        """
        try:
            directory = directory.resolve(strict=True)
        except OSError:
            return None
        git_dir = self._git_dir(directory)
        if git_dir is None:
            return None
        key = ("HEAD", directory, *_stamps(git_dir))
        with self._lock:
            if key in self._revisions:
                return self._revisions[key]
        out = self._run(directory, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        answer = out.strip() if out and out.strip() else None
        with self._lock:
            self._revisions[key] = answer
        return answer

    def repository(self, directory: Path) -> str | None:
        """Where the jobs repository lives (its `origin`, credentials and `.git` left out), or
        None: part of the deployment's event source, the same on every replica and restart."""
        out = self._run(directory, "config", "--get", "remote.origin.url")
        return repository_name(out.strip()) if out and out.strip() else None

    def _git_dir(self, directory: Path) -> Path | None:
        with self._lock:
            if directory in self._git_dirs:
                return self._git_dirs[directory]
        out = self._run(directory, "rev-parse", "--absolute-git-dir")
        git_dir = Path(out.strip()) if out else None
        with self._lock:
            self._git_dirs[directory] = git_dir
        return git_dir

    def _last_commit(self, path: Path) -> Provenance | None:
        out = self._run(path.parent, "log", "-1", f"--format={_LOG_FORMAT}", "--", path.name)
        if not out or out.count(_FIELD) != 2:
            return None
        commit, author, committed = out.strip().split(_FIELD)
        if commit in self._shallow_boundary(path.parent):
            return Provenance.not_known(
                f"the checkout is shallow: its history ends at {commit[:12]}, which git shows"
                " as adding every file, so the file's last change may be older; fetch the"
                " full history (git-sync without a depth) to name its author")
        return Provenance(commit, author, datetime.fromisoformat(committed))

    def _shallow_boundary(self, directory: Path) -> frozenset[str]:
        """The commits where a shallow clone's history ends (none in a full clone)."""
        out = self._run(directory, "rev-parse", "--is-shallow-repository",
                        "--path-format=absolute", "--git-path", "shallow")
        lines = (out or "").split()
        if len(lines) != 2 or lines[0] != "true":
            return frozenset()
        try:
            return frozenset(Path(lines[1]).read_text(encoding="ascii").split())
        except (OSError, UnicodeDecodeError):
            return frozenset()

    def _run(self, cwd: Path, *args: str) -> str | None:
        try:
            done = subprocess.run(
                [self._git, *args],
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=self._timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None


def repository_name(url: str) -> str:
    """`https://user:token@host/org/repo.git` and `git@host:org/repo.git` → `host/org/repo`."""
    rest = url.split("://", 1)[1] if "://" in url else url.replace(":", "/", 1)
    host, _, path = rest.rpartition("@")[2].partition("/")
    return f"{host.split(':')[0]}/{path.strip('/').removesuffix('.git')}".strip("/")


def _stamps(git_dir: Path) -> tuple[int, ...]:
    stamps = []
    for name in _REPO_STAMPS:
        try:
            stamps.append((git_dir / name).stat().st_mtime_ns)
        except OSError:
            stamps.append(0)
    return tuple(stamps)
