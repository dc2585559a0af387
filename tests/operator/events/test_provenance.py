"""Git provenance of job files: last commit and author, cached, nothing outside a repo."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.git_repo import git
from tuning_operator.events.provenance import GitProvenance, repository_name

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    (tmp_path / "support").mkdir()
    (tmp_path / "support" / "a.yaml").write_text("metadata: {name: a}\n")
    (tmp_path / "support" / "b.yaml").write_text("metadata: {name: b}\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "--quiet", "-m", "first jobs")
    return tmp_path


def test_last_commit_and_author_of_each_file(repo: Path) -> None:
    """Each file names the last commit that touched it, not HEAD."""
    first = git(repo, "rev-parse", "HEAD")
    (repo / "support" / "b.yaml").write_text("metadata: {name: b, labels: {x: y}}\n")
    git(
        repo,
        "commit",
        "--quiet",
        "-am",
        "relabel b",
        author="Grace Hopper",
        email="grace@example.com",
    )
    second = git(repo, "rev-parse", "HEAD")
    provenance = GitProvenance()
    a = provenance.of(repo / "support" / "a.yaml")
    b = provenance.of(repo / "support" / "b.yaml")
    assert a is not None and a.commit == first and a.author == "Ada Lovelace <ada@example.com>"
    assert b is not None and b.commit == second and b.author == "Grace Hopper <grace@example.com>"
    assert b.commit_time.tzinfo is not None


def test_a_new_commit_is_seen_even_when_the_file_did_not_change(repo: Path) -> None:
    """The cache notices commits: a file written, read, then committed gets its commit."""
    (repo / "support" / "c.yaml").write_text("metadata: {name: c}\n")
    provenance = GitProvenance()
    assert provenance.of(repo / "support" / "c.yaml") is None  # not committed yet
    git(repo, "add", "support/c.yaml")
    git(repo, "commit", "--quiet", "-m", "add c")
    c = provenance.of(repo / "support" / "c.yaml")
    assert c is not None and c.commit == git(repo, "rev-parse", "HEAD")


def test_answers_are_cached_until_something_changes(repo: Path) -> None:
    """One git call per file per change: repeated reads of an unchanged file run no git."""
    provenance = GitProvenance()
    first = provenance.of(repo / "support" / "a.yaml")
    provenance._git = "/nonexistent/git"  # any further call would answer None
    assert provenance.of(repo / "support" / "a.yaml") == first


@pytest.mark.parametrize("where", ["outside-a-repo", "missing-file"])
def test_no_provenance_outside_git(tmp_path: Path, where: str) -> None:
    """A plain directory, or a file that is gone, has no provenance (and no error)."""
    path = tmp_path / "a.yaml"
    if where == "outside-a-repo":
        path.write_text("metadata: {name: a}\n")
    assert GitProvenance().of(path) is None


def test_a_missing_git_means_unknown(repo: Path) -> None:
    """Without a git binary the operator keeps reconciling; provenance is just unknown."""
    assert GitProvenance(git="/nonexistent/git").of(repo / "support" / "a.yaml") is None


def test_revision_is_the_checked_out_commit_and_follows_new_commits(repo: Path) -> None:
    """A work tree's revision is its HEAD; a new commit is seen at the next read."""
    provenance = GitProvenance()
    assert provenance.revision(repo) == git(repo, "rev-parse", "HEAD")
    assert provenance.revision(repo / "support") == git(repo, "rev-parse", "HEAD")
    (repo / "support" / "c.yaml").write_text("metadata: {name: c}\n")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "add c")
    assert provenance.revision(repo) == git(repo, "rev-parse", "HEAD")


def test_revision_follows_a_swapped_symlink(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """git-sync's layout: a link swapped to a new worktree gives that worktree's commit."""
    first = git(repo, "rev-parse", "HEAD")
    (repo / "support" / "c.yaml").write_text("metadata: {name: c}\n")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "add c")
    second = git(repo, "rev-parse", "HEAD")
    root = tmp_path_factory.mktemp("sync")
    for commit in (first, second):
        git(repo, "worktree", "add", "--quiet", "--detach", str(root / commit), commit)
    link = root / "current"
    link.symlink_to(root / first)
    provenance = GitProvenance()
    assert provenance.revision(link) == first
    link.unlink()
    link.symlink_to(root / second)
    assert provenance.revision(link) == second


@pytest.mark.parametrize("where", ["plain-directory", "missing-directory", "no-commit-yet"])
def test_no_revision_outside_a_committed_work_tree(tmp_path: Path, where: str) -> None:
    """A plain, missing or never-committed directory has no revision (and no error)."""
    if where == "plain-directory":
        (tmp_path / "jobs").mkdir()
    elif where == "no-commit-yet":
        git(tmp_path, "init", "--quiet", "--initial-branch=main")
        (tmp_path / "jobs").mkdir()
    assert GitProvenance().revision(tmp_path / "jobs") is None


@pytest.mark.parametrize(("url", "name"), [
    ("https://user:token@github.com/org/jobs.git", "github.com/org/jobs"),
    ("git@github.com:org/jobs.git", "github.com/org/jobs"),
    ("ssh://git@git.example.com:2222/org/jobs", "git.example.com/org/jobs"),
])
def test_the_repository_is_named_without_credentials(url: str, name: str) -> None:
    """The event source names the jobs repository; a token in its URL never leaks."""
    assert repository_name(url) == name


def test_the_repository_of_a_work_tree_is_its_origin(repo: Path) -> None:
    """`origin` names the repository; without one there is no name (the path stands in)."""
    assert GitProvenance().repository(repo / "support") is None
    git(repo, "remote", "add", "origin", "https://x:secret@github.com/org/jobs.git")
    assert GitProvenance().repository(repo / "support") == "github.com/org/jobs"


def test_a_shallow_clone_names_no_author_it_cannot_know(tmp_path: Path) -> None:
    """Depth 1: git shows HEAD as adding every file, so nobody is named, and the reason is;
    depth 2: a file changed at HEAD is exact, one older than the boundary is unknown."""
    source = tmp_path / "source"
    source.mkdir()
    git(source, "init", "--quiet", "--initial-branch=main")
    for name, author in (("old", "Ada Lovelace"), ("mid", "Grace Hopper"),
                         ("new", "Alan Turing")):
        (source / f"{name}.yaml").write_text(f"metadata: {{name: {name}}}\n")
        git(source, "add", ".", author=author)
        git(source, "commit", "--quiet", "-m", name, author=author)
    for depth in (1, 2):
        clone = tmp_path / f"depth-{depth}"
        git(tmp_path, "clone", "--quiet", f"--depth={depth}", source.as_uri(), clone.name)
        provenance = GitProvenance()
        old = provenance.of(clone / "old.yaml")
        assert old is not None and (old.commit, old.author) == (None, None)
        assert old.unknown is not None and "shallow" in old.unknown
        new = provenance.of(clone / "new.yaml")
        assert new is not None
        assert new.author == ("Alan Turing <ada@example.com>" if depth == 2 else None)
    full = GitProvenance().of(source / "old.yaml")
    assert full is not None and (full.author, full.unknown) == ("Ada Lovelace <ada@example.com>",
                                                                None)
