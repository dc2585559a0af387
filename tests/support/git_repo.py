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
