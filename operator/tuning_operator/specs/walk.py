"""The walk of a jobs directory, and the only way a job or policy file is read.

Anything git can store can arrive in a pull request: symlinks to directories, to files outside
the repository, to each other; named pipes, sockets and device files under a `.yaml` name;
names with newlines or terminal escapes. The walk therefore never follows a link below the
root, never opens anything but a regular file (so it never blocks on a FIFO nor reads a device
without end), and reports every entry it will not read. An entry that might hide jobs (a
linked or unreadable directory, a link it cannot follow) is a *problem*: the loader counts it
as a failure that holds every removal, because its jobs must never look deleted.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from dataclasses import dataclass

JOB_SUFFIXES = (".yaml", ".yml")
SKIPPED_PREFIXES = (".", "_")  # directories and files; `_policy.yaml` is read on its own
StatKey = tuple[int, int, int]  # mtime_ns, size, inode: a changed key means read again

_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
    stat.S_IFDIR: "a directory", stat.S_IFLNK: "a symlink",
}


class FileRefused(Exception):
    """A file that is not read; the message says why and how to fix it."""


@dataclass(frozen=True)
class WalkProblem:
    path: str  # relative to the jobs directory, safe to print (see `shown`)
    message: str


@dataclass(frozen=True)
class JobTree:
    """What the walk found: candidate job files, entries that may hide jobs, skipped dirs."""

    files: tuple[str, ...]  # relative paths ('/'-separated), sorted
    problems: tuple[WalkProblem, ...]
    skipped: tuple[str, ...]  # directories not read because their name starts with '.' or '_'


def shown(text: str) -> str:
    """`text` with control, format and undecodable characters escaped, safe for any output."""
    if not _has_unsafe(text):
        return text
    return "".join(c.encode("unicode_escape", "backslashreplace").decode("ascii")
                   if _unsafe(c) else c for c in text)


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Cs")


def _has_unsafe(text: str) -> bool:
    """Whether `text` has a control, format or surrogate character (`_unsafe`).

    ASCII text has neither format characters nor surrogates, and its only non-printable
    characters are the controls, so it takes the fast C path; other text is read char by char.
    """
    if text.isascii():
        return not text.isprintable()
    return any(_unsafe(c) for c in text)


def walk_jobs_dir(top: str) -> JobTree:
    """Every job file candidate under `top`; OSError when `top` itself cannot be read.

    `top` may itself be a symlink (a git-sync checkout is one); nothing below it is followed.
    """
    if not os.path.isdir(top):
        raise NotADirectoryError(20, "not a directory", top)
    files: list[str] = []
    problems: list[WalkProblem] = []
    skipped: list[str] = []
    seen: set[tuple[int, int]] = set()
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        try:
            with os.scandir(os.path.join(top, rel_dir) if rel_dir else top) as listing:
                entries = sorted(listing, key=lambda e: e.name)
            st = os.stat(os.path.join(top, rel_dir) if rel_dir else top)
        except OSError as exc:
            if not rel_dir:
                raise
            problems.append(WalkProblem(shown(rel_dir), f"cannot read this directory"
                                        f" ({exc.strerror or exc}); its jobs are kept as they"
                                        " are until it can be read: fix its permissions"))
            continue
        if (st.st_dev, st.st_ino) in seen:  # a bind mount looping back: read once
            continue
        seen.add((st.st_dev, st.st_ino))
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            found = _classify(rel, entry)
            if isinstance(found, WalkProblem):
                problems.append(found)
            elif found == "dir":
                pending.append(rel)
            elif found == "file":
                files.append(rel)
            elif found == "skipped":
                skipped.append(shown(rel))
    return JobTree(tuple(sorted(files)), tuple(sorted(problems, key=lambda p: p.path)),
                   tuple(sorted(skipped)))


def _classify(rel: str, entry: os.DirEntry[str]) -> str | WalkProblem | None:
    """'dir' to walk, 'file' to read, 'skipped' to list, a problem, or None to ignore."""
    name = entry.name
    try:
        is_link = entry.is_symlink()
        is_dir = entry.is_dir(follow_symlinks=False)
    except OSError as exc:
        return WalkProblem(shown(rel), f"cannot inspect this entry ({exc.strerror or exc})")
    links_to_dir = is_link and _is_dir(entry.path)
    if name.startswith(SKIPPED_PREFIXES):
        return "skipped" if is_dir or links_to_dir else None
    if _has_unsafe(name) and (is_dir or is_link or name.endswith(JOB_SUFFIXES)):
        return WalkProblem(shown(rel), "the name contains control or invisible characters"
                           " (a newline, an escape, a direction mark); rename it with plain"
                           " characters; until then no removed job is cancelled")
    if is_dir:
        return "dir"
    if is_link and not name.endswith(JOB_SUFFIXES):
        return _link_problem(rel, entry.path, links_to_dir)
    return "file" if name.endswith(JOB_SUFFIXES) and not name.startswith("#") else None


def _is_dir(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False


def _link_problem(rel: str, path: str, links_to_dir: bool) -> WalkProblem | None:
    """A symlink without a job file's name: harmless to a file, a problem where a dir was."""
    if links_to_dir:
        try:
            target = os.readlink(path)
        except OSError:  # changed since it was listed; the next pass sees what it is now
            target = "?"
        return WalkProblem(shown(rel), f"is a symlink to a directory ({shown(target)}); links"
                           " are not followed, so its jobs are kept as they are and no removed"
                           " job is cancelled: replace the link by the directory itself")
    try:
        os.stat(path)
    except OSError as exc:  # dangling or a loop: it may stand where a team directory was
        reason = exc.strerror or str(exc)
        return WalkProblem(shown(rel), f"is a symlink that cannot be followed ({reason}); no"
                           " removed job is cancelled while it is there: remove it")
    return None  # a link to a file that is not a job file (README, notes)


def lstat_key(path: str) -> StatKey:
    """The stat key of a regular file, not following a final symlink; FileRefused otherwise."""
    st = os.lstat(path)
    _require_regular(st)
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def stat_keys(prefix: str, paths: tuple[str, ...]) -> tuple[
        tuple[StatKey | None, ...], dict[str, str]]:
    """Each file's stat key (None when it cannot be read), and why those cannot."""
    keys: list[StatKey | None] = []
    refused: dict[str, str] = {}
    for rel in paths:
        try:
            keys.append(lstat_key(prefix + rel))
        except FileRefused as exc:
            keys.append(None)
            refused[rel] = str(exc)
        except OSError as exc:
            keys.append(None)
            refused[rel] = f"cannot read the file ({exc.strerror or exc})"
    return tuple(keys), refused


def read_regular(top: str, rel: str, *, limit: int) -> tuple[StatKey, bytes]:
    """At most `limit` bytes of the regular file `top/rel`; FileRefused when it is not one.

    One file through a `TreeReader` of its own: for many files, keep one reader open.
    """
    with TreeReader(top, limit=limit) as reader:
        return reader.read(rel)


class TreeReader:
    """Reads regular files below `top`, with one directory handle per directory kept open.

    Each directory below `top` is opened once without following a symlink (a link swapped in
    after the walk fails here too), and every file through its directory's handle (`openat`):
    stat without following, open without following and non-blocking, the descriptor checked to
    be a regular file before a single byte is read. The read asks for `st_size + 1` bytes, so
    a file that grew since its stat is seen, and read on only up to `limit + 1`: a file growing
    past the limit is refused like one that was too big from the start. Nothing is opened
    before the first read; closing the reader closes every handle (use it as a context manager).
    """

    _MOST_HANDLES = 64  # a tree of thousands of directories must not run out of descriptors

    def __init__(self, top: str, *, limit: int) -> None:
        self._top, self._limit = top, limit
        self._root = -1
        self._dirs: dict[str, int] = {}

    def __enter__(self) -> TreeReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._forget()
        if self._root >= 0:
            os.close(self._root)
            self._root = -1

    def _forget(self) -> None:
        handles, self._dirs = self._dirs, {}
        for handle in handles.values():
            os.close(handle)

    def _directory(self, rel_dir: str) -> int:
        """The handle of `rel_dir` ('' is the root), each component opened without following."""
        if not rel_dir:
            if self._root < 0:  # `top` itself may be a symlink (a git-sync checkout is one)
                self._root = os.open(self._top, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            return self._root
        known = self._dirs.get(rel_dir)
        if known is not None:
            return known
        parent, _, name = rel_dir.rpartition("/")
        handle = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                         dir_fd=self._directory(parent))
        if len(self._dirs) >= self._MOST_HANDLES:
            self._forget()
        self._dirs[rel_dir] = handle
        return handle

    def read(self, rel: str) -> tuple[StatKey, bytes]:
        """The stat key and bytes of the regular file `rel`; FileRefused when it is not one."""
        rel_dir, _, name = rel.rpartition("/")
        directory = self._directory(rel_dir)
        _require_regular(os.stat(name, dir_fd=directory, follow_symlinks=False))
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=directory)
        try:
            st = os.fstat(fd)
            _require_regular(st)
            if st.st_size > self._limit:
                raise FileRefused(_too_big(f"{st.st_size:,}", self._limit))
            return (st.st_mtime_ns, st.st_size, st.st_ino), self._read_all(fd, st.st_size)
        finally:
            os.close(fd)

    def _read_all(self, fd: int, size: int) -> bytes:
        """Every byte of `fd`, expected to be `size` long; FileRefused past the limit.

        A regular file's read returns less than asked only at its end, so the usual file costs
        one read; one that grew since its stat is read on in bounded steps.
        """
        data = os.read(fd, size + 1)
        if len(data) <= size:
            return data
        chunks = [data]
        total = len(data)
        while total <= self._limit:
            chunk = os.read(fd, min(self._limit + 1 - total, 64 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > self._limit:
            raise FileRefused(_too_big(f"more than {self._limit:,}", self._limit))
        return b"".join(chunks)


def _require_regular(st: os.stat_result) -> None:
    if stat.S_ISREG(st.st_mode):
        return
    kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
    if stat.S_ISLNK(st.st_mode):
        raise FileRefused("is a symlink; links below the jobs directory are not followed:"
                          " replace the link by a copy of the file it points to")
    raise FileRefused(f"not a regular file: {kind}; only regular files are read: remove it or"
                      " replace it by a regular file")


def _too_big(size: str, limit: int) -> str:
    return (f"file is {size} bytes; a job file may be at most {limit:,} bytes (1 MiB): one job"
            " per file, no embedded data")
