"""Where a job's evaluation set is: a gs:// URI as written, or a file inside the jobs directory.

A relative `evaluation.dataset` is reviewed in the same pull request as the job file, so it must
be a regular file below the jobs directory: `..` is refused by the model, and a symlink that
leads outside the directory is refused here (the operator must never read a file the review did
not see). Checked on every load, not cached with the job file: the set can appear or vanish
without the job file changing.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath

from tuning_operator.specs.model import TuningJob


def resolve_evaluation_dataset(
    base: Path, rel: str, job: TuningJob
) -> tuple[str | None, str | None]:
    """(the dataset to read, None) or (None, what is wrong and how to fix it)."""
    evaluation = job.spec.evaluation
    if evaluation is None:
        return None, None
    dataset = evaluation.dataset
    if dataset.startswith("gs://"):
        return dataset, None
    shown = f"`spec.evaluation.dataset`: {dataset!r}"
    candidate = base / PurePosixPath(rel).parent / dataset
    try:
        real = candidate.resolve(strict=True)
        root = base.resolve(strict=True)
    except FileNotFoundError:
        return None, (f"{shown}: no such file {candidate}; add the evaluation set there (the"
                      " path is relative to the job file) or point at a gs:// URI")
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        return None, f"{shown}: cannot be resolved ({exc}); fix the path"
    if not real.is_relative_to(root):
        return None, (f"{shown} leads outside the jobs directory (a symlink to {real}); copy"
                      " the file into the jobs directory instead of linking to it")
    if not real.is_file():
        return None, f"{shown}: {candidate} is not a regular file; point at a .jsonl file"
    if not os.access(real, os.R_OK):
        return None, f"{shown}: {candidate} cannot be read; fix its permissions"
    return str(real), None


Resolved = tuple[str | None, str | None, tuple[int, int, int] | None]  # + the file's stat


def resolve_with_stat(base: Path, rel: str, job: TuningJob) -> Resolved:
    """As `resolve_evaluation_dataset`, with the local file's (mtime_ns, size, inode): a
    rewritten set changes it, so a load that depended on the old content is not reused."""
    dataset, problem = resolve_evaluation_dataset(base, rel, job)
    if dataset is None or dataset.startswith("gs://"):
        return dataset, problem, None
    try:
        stat = os.stat(dataset)
    except OSError:
        return dataset, problem, None
    return dataset, problem, (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def content_digest(path: str) -> str | None:
    """The local set's content digest (its reviewed version); None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()[:16]
