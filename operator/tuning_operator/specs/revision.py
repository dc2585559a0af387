"""The jobs directory as it was at a git revision (`plan --base REV`).

A pull request's plan runs in CI, with no operator state: what a removed file said (its
`onDelete`) is gone from the checkout, but not from git. The base tree is written out with
`git archive` into a temporary directory and loaded by the same loader as the working tree, so
both sides are judged by one set of rules. Only git reads happen here; the repository is never
written, and a revision git cannot resolve is one error naming it.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from dataclasses import replace
from pathlib import Path

from tuning_operator.errors import ConfigError
from tuning_operator.specs.loader import DirectoryLoad, load_jobs_dir

GIT_TIMEOUT = 60.0


def load_jobs_at(jobs_dir: str | Path, revision: str, *, git: str = "git") -> DirectoryLoad:
    """The jobs directory `jobs_dir` (a path in a git work tree) as it was at `revision`.

    Its `root` is the working directory's, so paths compare with the working tree's load.
    A jobs directory that did not exist at `revision` loads as an empty (readable) one.
    """
    jobs_dir = Path(jobs_dir)
    top = _git(jobs_dir, git, "rev-parse", "--show-toplevel") if jobs_dir.is_dir() else None
    if not top:
        raise ConfigError(f"--base {revision}: {jobs_dir} is not in a git work tree; run plan"
                          " in a checkout of the jobs repository")
    commit = _git(jobs_dir, git, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if not commit:
        raise ConfigError(f"--base {revision}: not a commit in the repository of {jobs_dir};"
                          " fetch it first (a shallow CI checkout needs fetch-depth: 0)")
    # From the top of the work tree: in a subdirectory, `git archive` limits itself to it.
    prefix = _git(jobs_dir, git, "rev-parse", "--show-prefix") or ""  # `jobs/` in its repo
    tree = f"{revision}:{prefix}" if prefix else f"{revision}^{{tree}}"
    archive = _git_bytes(Path(top), git, "archive", "--format=tar", tree)
    with tempfile.TemporaryDirectory(prefix="tuning-operator-base-") as scratch:
        if archive is not None:  # None: the directory is not in that revision
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(scratch, filter="data")
        load = load_jobs_dir(scratch)
    return _rooted(load, scratch, str(jobs_dir))


def _rooted(load: DirectoryLoad, scratch: str, root: str) -> DirectoryLoad:
    """The load with the scratch directory's name replaced by the jobs directory's."""
    def moved(text: str) -> str:
        return root + text[len(scratch):] if text.startswith(scratch) else text

    return replace(load, root=root,
                   errors=tuple(replace(e, file=moved(e.file)) for e in load.errors),
                   warnings=tuple(replace(e, file=moved(e.file)) for e in load.warnings))


def _git(cwd: Path, git: str, *args: str) -> str | None:
    out = _git_bytes(cwd, git, *args)
    return out.decode().strip() if out is not None else None


def _git_bytes(cwd: Path, git: str, *args: str) -> bytes | None:
    try:
        done = subprocess.run([git, *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"--base: cannot run git in {cwd} ({exc})") from None
    return done.stdout if done.returncode == 0 else None
