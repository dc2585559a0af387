"""Where a job's evaluation files are: a gs:// URI as written, or a file inside the jobs directory.

A relative `evaluation.dataset` is reviewed in the same pull request as the job file, so it must
be a regular file below the jobs directory: `..` is refused by the model, and a symlink that
leads outside the directory is refused here (the operator must never read a file the review did
not see). The same holds for the evaluation's other files (`humanRatings`, a local
`baseline.fewShotFrom`). Checked on every load, not cached with the job file: a file can appear
or vanish without the job file changing.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tuning_operator.specs.ratings import HumanRating, parse_human_ratings
from tuning_operator.specs.summary import Evaluated


def resolve_evaluation_dataset(
    base: Path, rel: str, job: Evaluated
) -> tuple[str | None, str | None]:
    """(the dataset to read, None) or (None, what is wrong and how to fix it)."""
    evaluation = job.spec.evaluation
    if evaluation is None:
        return None, None
    if evaluation.dataset.startswith("gs://"):
        return evaluation.dataset, None
    return resolve_local_file(base, rel, "dataset", evaluation.dataset)


def side_files(job: Evaluated) -> tuple[tuple[str, str], ...]:
    """The evaluation's other local files, (field, path as written): the human ratings and
    the few-shot examples when they are not on gs://."""
    evaluation = job.spec.evaluation
    if evaluation is None:
        return ()
    named = (("humanRatings", evaluation.human_ratings),
             ("baseline.fewShotFrom", evaluation.baselines.few_shot_from))
    return tuple((name, path) for name, path in named
                 if path is not None and not path.startswith("gs://"))


def resolve_local_file(base: Path, rel: str, name: str,
                       path: str) -> tuple[str | None, str | None]:
    """(the real path of `path`, written in the job file at `rel`, None), or (None, what is
    wrong with `spec.evaluation.<name>` and how to fix it)."""
    shown = f"`spec.evaluation.{name}`: {path!r}"
    candidate = base / PurePosixPath(rel).parent / path
    try:
        real = candidate.resolve(strict=True)
        root = base.resolve(strict=True)
    except FileNotFoundError:
        return None, (f"{shown}: no such file {candidate}; add the file there (the"
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


Stat = tuple[int, int, int]
# (dataset, problem, the stats of every local file, the side files resolved: (field, path))
Resolved = tuple[str | None, str | None, tuple[Stat | None, ...] | None,
                 tuple[tuple[str, str], ...]]


def resolve_with_stat(base: Path, rel: str, job: Evaluated) -> Resolved:
    """As `resolve_evaluation_dataset`, with the side files, and the local files'
    (mtime_ns, size, inode): a rewritten file changes them, so a load that depended on the old
    content is not reused."""
    dataset, problem = resolve_evaluation_dataset(base, rel, job)
    sides: list[tuple[str, str]] = []
    for name, path in side_files(job):
        real, trouble = resolve_local_file(base, rel, name, path)
        problem = problem or trouble
        if real is not None:
            sides.append((name, real))
    local = [dataset] if dataset is not None and not dataset.startswith("gs://") else []
    local += [real for _, real in sides]
    stats = tuple(_stat(path) for path in local) if local else None
    return dataset, problem, stats, tuple(sides)


def _stat(path: str) -> Stat | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


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


def read_human_ratings(path: str, job: Evaluated,
                       dataset: str | None) -> tuple[tuple[HumanRating, ...], str | None]:
    """The ratings at `path` (resolved), checked against the job's pointwise metrics and, for
    a local evaluation set, its size; or (), what is wrong."""
    evaluation = job.spec.evaluation
    assert evaluation is not None
    try:
        raw = Path(path).read_bytes()
        size = (None if dataset is None or dataset.startswith("gs://")
                else sum(1 for line in Path(dataset).read_bytes().splitlines() if line.strip()))
    except OSError as exc:
        return (), f"`spec.evaluation.humanRatings`: cannot be read ({exc.strerror or exc})"
    pointwise = {m.name for m in evaluation.model_based if m.kind == "pointwise"}
    ratings, problems = parse_human_ratings(raw, pointwise=pointwise, examples=size)
    if problems:
        return (), f"`spec.evaluation.humanRatings` {evaluation.human_ratings!r}: " + "; ".join(
            problems)
    return ratings, None


@dataclass(frozen=True)
class EvaluationInputs:
    """What a job's evaluation reads besides its spec, as the loader found it."""

    dataset: str | None = None
    digest: str | None = None
    ratings: tuple[HumanRating, ...] = ()
    few_shot_from: str | None = None


def evaluation_inputs(digests: dict[str, tuple[object, str | None]], job: Evaluated,
                      resolved: Resolved) -> tuple[EvaluationInputs, str | None]:
    """The evaluation's files resolved and the human ratings read, or what is wrong."""
    dataset, problem, _, found = resolved
    sides = dict(found)
    ratings: tuple[HumanRating, ...] = ()
    if problem is None and "humanRatings" in sides:
        ratings, problem = read_human_ratings(sides["humanRatings"], job, dataset)
    return EvaluationInputs(dataset=dataset, digest=_set_digest(digests, resolved),
                             ratings=ratings,
                             few_shot_from=sides.get("baseline.fewShotFrom")), problem


def _set_digest(digests: dict[str, tuple[object, str | None]],
                resolved: Resolved) -> str | None:
    """The content digest of the evaluation's local files (the set, the human ratings, the
    few-shot examples), each read again only when its stat changed; None: none is local."""
    dataset, _, stats, sides = resolved
    local = [dataset] if dataset is not None and not dataset.startswith("gs://") else []
    local += [path for _, path in sides]
    if not local or stats is None:
        return None
    found = []
    for path, stat in zip(local, stats, strict=True):
        hit = digests.get(path)
        if hit is None or hit[0] != stat:
            digests[path] = hit = (stat, content_digest(path))
        found.append(hit[1] or "")
    return found[0] if len(found) == 1 and local[0] == dataset else ":".join(found)
