"""The reader of a jobs directory keeps every safety check while it keeps directories open."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tuning_operator.specs.walk import FileRefused, TreeReader, read_regular

LIMIT = 1024


def _file(root: Path, rel: str, data: bytes = b"kind: TuningJob\n") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_files_of_several_directories_are_read_whole(tmp_path: Path) -> None:
    """Each file's bytes and stat key come back, whatever directory it sits in."""
    _file(tmp_path, "alpha/a.yaml", b"a" * LIMIT)
    _file(tmp_path, "beta/deep/b.yaml", b"")
    _file(tmp_path, "top.yaml", b"top")
    with TreeReader(str(tmp_path), limit=LIMIT) as reader:
        for rel, data in [("alpha/a.yaml", b"a" * LIMIT), ("beta/deep/b.yaml", b""),
                          ("top.yaml", b"top"), ("alpha/a.yaml", b"a" * LIMIT)]:
            key, raw = reader.read(rel)
            st = os.stat(tmp_path / rel)
            assert (raw, key) == (data, (st.st_mtime_ns, st.st_size, st.st_ino))


def test_a_symlinked_file_is_refused(tmp_path: Path) -> None:
    """A link to a regular file is not followed: the file is refused, not read."""
    target = _file(tmp_path, "elsewhere/secret.yaml")
    (tmp_path / "jobs" / "alpha").mkdir(parents=True)
    os.symlink(target, tmp_path / "jobs" / "alpha" / "x.yaml")
    with TreeReader(str(tmp_path / "jobs"), limit=LIMIT) as reader, pytest.raises(
            FileRefused, match="is a symlink"):
        reader.read("alpha/x.yaml")


def test_a_directory_swapped_for_a_link_after_it_was_opened_is_not_followed(
        tmp_path: Path) -> None:
    """A directory replaced by a link is read through the handle of the directory first
    opened, and a link where no directory was opened yet fails to open."""
    _file(tmp_path, "jobs/alpha/x.yaml", b"mine")
    _file(tmp_path, "elsewhere/x.yaml", b"theirs")
    jobs = tmp_path / "jobs"
    with TreeReader(str(jobs), limit=LIMIT) as reader:
        assert reader.read("alpha/x.yaml")[1] == b"mine"
        os.rename(jobs / "alpha", tmp_path / "moved")
        os.symlink(tmp_path / "elsewhere", jobs / "alpha")
        assert reader.read("alpha/x.yaml")[1] == b"mine"
    with TreeReader(str(jobs), limit=LIMIT) as reader, pytest.raises(OSError):
        reader.read("alpha/x.yaml")


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """A named pipe under a job file's name is refused at once: nothing ever writes to it."""
    (tmp_path / "alpha").mkdir()
    os.mkfifo(tmp_path / "alpha" / "pipe.yaml")
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_regular(str(tmp_path), "alpha/pipe.yaml", limit=LIMIT)
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=5)
    assert not reader.is_alive(), "the read blocked on the FIFO"
    assert len(outcome) == 1 and isinstance(outcome[0], FileRefused)
    assert "FIFO" in str(outcome[0])


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    """One byte over the limit is refused with its size; exactly the limit is read."""
    _file(tmp_path, "alpha/big.yaml", b"x" * (LIMIT + 1))
    _file(tmp_path, "alpha/full.yaml", b"x" * LIMIT)
    with TreeReader(str(tmp_path), limit=LIMIT) as reader:
        with pytest.raises(FileRefused, match=f"file is {LIMIT + 1:,} bytes"):
            reader.read("alpha/big.yaml")
        assert len(reader.read("alpha/full.yaml")[1]) == LIMIT


class _Growing:
    """os.read that sees the file grow by `extra` bytes after its stat (a writer racing)."""

    def __init__(self, path: Path, extra: int) -> None:
        self.path, self.extra, self.done = path, extra, False
        self.read = os.read

    def __call__(self, fd: int, size: int) -> bytes:
        if not self.done:
            self.done = True
            with self.path.open("ab") as handle:
                handle.write(b"y" * self.extra)
        return self.read(fd, size)


@pytest.mark.parametrize(("extra", "refused"), [(LIMIT, True), (10, False)],
                         ids=["past-the-limit", "within-the-limit"])
def test_a_file_growing_after_its_stat_is_read_to_its_end_or_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: int, refused: bool) -> None:
    """A file that grows between its stat and its read is read on: refused once past the limit,
    read whole while within it."""
    path = _file(tmp_path, "alpha/grows.yaml", b"x" * 100)
    monkeypatch.setattr(os, "read", _Growing(path, extra))
    with TreeReader(str(tmp_path), limit=LIMIT) as reader:
        if refused:
            with pytest.raises(FileRefused, match=f"more than {LIMIT:,} bytes"):
                reader.read("alpha/grows.yaml")
        else:
            assert reader.read("alpha/grows.yaml")[1] == b"x" * 100 + b"y" * extra


def test_closing_the_reader_closes_every_handle(tmp_path: Path) -> None:
    """No descriptor is left open once the reader is closed, after many directories."""
    for index in range(TreeReader._MOST_HANDLES + 5):
        _file(tmp_path, f"team-{index}/a.yaml")
    before = len(os.listdir("/proc/self/fd"))
    with TreeReader(str(tmp_path), limit=LIMIT) as reader:
        for index in range(TreeReader._MOST_HANDLES + 5):
            reader.read(f"team-{index}/a.yaml")
        assert len(os.listdir("/proc/self/fd")) <= before + TreeReader._MOST_HANDLES + 1
    assert len(os.listdir("/proc/self/fd")) == before
