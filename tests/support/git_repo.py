"""Real git repositories in temporary directories, for the tests of provenance and `--base`.

Identity and configuration come from the environment of each call, so the machine's git
configuration never changes what a test sees.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def git(repo: Path, *args: str, author: str = "Ada Lovelace",
        email: str = "ada@example.com") -> str:
    """Run git in `repo` as `author`; its stdout, stripped (a failure raises)."""
    env = os.environ | {
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": email,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


def commit_all(repo: Path, message: str, **who: str) -> str:
    """Commit every change in the work tree; the new commit's id."""
    git(repo, "add", "-A", **who)
    git(repo, "commit", "--quiet", "--allow-empty", "-m", message, **who)
    return git(repo, "rev-parse", "HEAD")


def shallow_jobs_checkout(root: Path) -> Path:
    """A jobs repository under `root/source` where Ada wrote job `a` (team t) and Grace made
    the last commit (not touching it), and its depth-1 clone: the clone's jobs directory."""
    from tests.support.job_files import write_job

    source = root / "source"
    source.mkdir()
    git(source, "init", "--quiet", "--initial-branch=main")
    write_job(source / "jobs", "a", team="t")
    commit_all(source, "the job")
    (source / "NOTES").write_text("docs\n")
    commit_all(source, "docs", author="Grace Hopper", email="grace@example.com")
    git(root, "clone", "--quiet", "--depth=1", source.as_uri(), "clone")
    return root / "clone" / "jobs"
