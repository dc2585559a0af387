"""Load a jobs directory: every job file parsed, checked, and every problem reported per file.

A problem in one file never hides another file, and never looks like a deleted job: a file that
fails to load still reports the job name when it can be read, so the reconciler keeps that job
as it is. Files are re-parsed only when their stat changes (the cache is passed in). The walk
(walk.py) decides what is read at all: only regular files, no symlink below the root. One
file's parsing is in parsing.py, the checks that need the catalog, team or policy in checks.py;
this module keeps the incremental cache and assembles the directory's load from them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from tuning_operator.specs.alias import KIND as ALIAS_KIND
from tuning_operator.specs.aliases import AliasCheck, JobFacts, LoadedAlias, check_aliases
from tuning_operator.specs.catalog import Catalog, default_catalog
from tuning_operator.specs.checks import check_file, unlisted_team_warnings
from tuning_operator.specs.collector import collector_held
from tuning_operator.specs.dependencies import check_dependencies
from tuning_operator.specs.diagnostics import SpecError
from tuning_operator.specs.evalsets import (
    EvaluationInputs,
    Resolved,
    evaluation_inputs,
    resolve_with_stat,
)
from tuning_operator.specs.loaded import LoadedJob
from tuning_operator.specs.parsing import (
    MAX_FILE_BYTES,
    FileResult,
    failed_file,
    parse_job_file,
    parse_policy_file,
)
from tuning_operator.specs.policy import POLICY_FILE, Policy, money_errors
from tuning_operator.specs.sharing import SharedParts
from tuning_operator.specs.summary import JobSummary
from tuning_operator.specs.walk import (
    FileRefused,
    JobTree,
    StatKey,
    TreeReader,
    lstat_key,
    read_regular,
    stat_keys,
    walk_jobs_dir,
)

__all__ = ["MAX_FILE_BYTES", "DirectoryLoad", "LoadCache", "LoadedJob", "load_jobs_dir"]


_Digest = str  # the spec hash (v2)


@dataclass
class LoadCache:
    """Parsed and checked files by relative path and stat, so an unchanged file costs a stat.

    A checked result also depends on the policy file, so it is keyed by both stats.
    """

    files: dict[str, tuple[StatKey, FileResult]] = field(default_factory=dict)
    # path → (its stat key, the checked result, its spec hash, the policy's stat key): one
    # tuple, no pair of keys per file
    checked: dict[str, tuple[StatKey, FileResult, _Digest | None, StatKey | None]] = (
        field(default_factory=dict))
    policy: tuple[StatKey | None, Policy | None, bool, tuple[SpecError, ...]] | None = None
    digests: dict[str, tuple[object, str | None]] = field(default_factory=dict)  # local files
    parses: int = 0
    shared: SharedParts = field(default_factory=SharedParts)  # one copy of what jobs repeat
    # Valid jobs kept packed, rebuilt when an action needs the whole job (`JobSummary`): the
    # operator's cache, which holds every job for as long as it runs; a command's need not.
    compact: bool = False
    last: _Unchanged | None = None  # the previous load, returned while nothing changed


@dataclass(frozen=True)
class _Unchanged:
    """What the previous load depended on: the tree, every stat key, the policy's, the catalog,
    and what each relative evaluation set resolved to (a set can come and go on its own)."""

    tree: JobTree
    keys: tuple[StatKey | None, ...]
    policy: tuple[StatKey | None, Policy | None, bool, tuple[SpecError, ...]]
    catalog: Catalog
    evaluation_sets: tuple[tuple[str, JobSummary, Resolved], ...]
    load: DirectoryLoad

    def holds(self, tree: JobTree, keys: tuple[StatKey | None, ...],
              policy: tuple[StatKey | None, Policy | None, bool, tuple[SpecError, ...]],
              catalog: Catalog, base: Path) -> bool:
        return (keys == self.keys and tree == self.tree and policy == self.policy
                and catalog is self.catalog
                and all(resolve_with_stat(base, rel, job) == resolved
                        for rel, job, resolved in self.evaluation_sets))


@dataclass(frozen=True)
class DirectoryLoad:
    """The desired state: valid jobs by name, errors per file, and the names that are broken."""

    root: str
    jobs: Mapping[str, LoadedJob]
    errors: tuple[SpecError, ...]
    invalid_names: frozenset[str]  # names read from files that failed to load
    # Files that failed before a name could be read, and entries that may hide job files (a
    # symlinked, unreadable or oddly named directory, a link that cannot be followed): any of
    # them holds every removal.
    unnamed_failures: int
    policy: Policy | None
    policy_broken: bool
    readable: bool  # False: missing or unreadable directory; nothing may be deleted
    skipped: tuple[str, ...] = ()  # directories not read ('.' or '_' names), for `validate`
    warnings: tuple[SpecError, ...] = ()  # e.g. a retired base model; they fail nothing
    # job → the job whose tuned model it continues (`spec.preTunedModel.job`), valid jobs only
    depends_on: Mapping[str, str] = field(default_factory=dict)
    # The `ModelAlias` files: valid ones by `team/name`, and the keys of those that failed
    # (an alias whose file is broken stays where it is, like a broken job).
    aliases: Mapping[str, LoadedAlias] = field(default_factory=dict)
    invalid_aliases: frozenset[str] = frozenset()

    @property
    def file_count(self) -> int:
        return len(self.jobs) + len(self.invalid_names) + self.unnamed_failures


def load_jobs_dir(
    root: str | os.PathLike[str],
    *,
    catalog: Catalog | None = None,
    cache: LoadCache | None = None,
) -> DirectoryLoad:
    """Parse and check every job file under `root` (the garbage collector held off)."""
    with collector_held():
        return _load(root, catalog=catalog or default_catalog(),
                     cache=cache if cache is not None else LoadCache())


def _load(root: str | os.PathLike[str], *, catalog: Catalog, cache: LoadCache) -> DirectoryLoad:
    cache = cache if cache is not None else LoadCache()
    base = Path(root)
    shown = str(base)
    try:
        tree: JobTree = walk_jobs_dir(shown)
    except OSError as exc:
        error = SpecError(
            file=shown,
            message=f"cannot read the jobs directory ({exc.strerror or exc}); check the path"
            " and its permissions",
        )
        return DirectoryLoad(shown, {}, (error,), frozenset(), 0, None, False, readable=False)

    policy_state = _cached_policy(base, cache)
    policy_key, policy, policy_broken, policy_errors = policy_state
    paths = tree.files
    keys, refused = stat_keys(os.path.join(shown, ""), paths)
    if (cache.last is not None and not refused
            and cache.last.holds(tree, keys, policy_state, catalog, base)):
        return cache.last.load  # the same object: the reconciler knows nothing changed
    money = money_errors(base, policy, catalog)  # a broken price or budget holds creates too
    errors: list[SpecError] = [*policy_errors, *money]
    policy_broken = policy_broken or bool(money)
    errors.extend(SpecError(file=str(base / p.path), message=p.message) for p in tree.problems)
    checked, hashes, keys = _check_files(base, paths, cache, stats=(keys, refused),
                                         context=(catalog, policy, policy_key))
    checked, alias_files = _by_kind(checked)  # alias names are unique per team: checked apart
    by_name: dict[str, list[FileResult]] = {}
    for result in checked:
        if result.name is not None:
            by_name.setdefault(result.name, []).append(result)

    jobs: dict[str, LoadedJob] = {}
    invalid: set[str] = set()
    unnamed = 0
    evaluation_sets: list[tuple[str, JobSummary, Resolved]] = []
    for result in checked:
        errors.extend(result.errors)
        twins = by_name.get(result.name or "", [])
        if len(twins) > 1:
            others = ", ".join(str(base / t.path) for t in twins if t is not result)
            errors.append(
                SpecError(
                    file=str(base / result.path),
                    job=result.name,
                    message=f"metadata.name {result.name!r} is also used by {others}; job names"
                    " are unique in the whole jobs directory: rename one of them",
                )
            )
        inputs, problem = EvaluationInputs(), None
        summary = result.summary
        if summary is not None and summary.evaluation is not None:
            resolved = resolve_with_stat(base, result.path, summary)
            evaluation_sets.append((result.path, summary, resolved))
            inputs, problem = evaluation_inputs(cache.digests, summary, resolved)
        if problem is not None:
            errors.append(SpecError(file=str(base / result.path), job=result.name, message=problem))
        if result.name is None:
            unnamed += 1
        elif (result.errors or problem or len(twins) > 1 or summary is None
              or result.team is None):
            invalid.add(result.name)
        else:
            spec_hash = hashes[result.path] or summary.job.spec_hash()
            jobs[result.name] = LoadedJob(path=result.path, team=result.team, summary=summary,
                                          spec_hash=spec_hash,
                                          evaluation_dataset=inputs.dataset,
                                          evaluation_digest=inputs.digest,
                                          base_model=summary.base_model,
                                          human_ratings=inputs.ratings,
                                          few_shot_from=inputs.few_shot_from)
    warnings, depends_on = _check_across_files(base, jobs, invalid, errors,
                                               context=(catalog, policy))
    aliases = _check_alias_files(base, alias_files, jobs, invalid, errors)
    load = DirectoryLoad(
        root=shown,
        jobs=jobs,
        errors=tuple(errors),
        invalid_names=frozenset(invalid),
        unnamed_failures=unnamed + len(tree.problems) + aliases.unnamed,
        policy=policy,
        policy_broken=policy_broken,
        readable=True,
        skipped=tree.skipped,
        warnings=warnings,
        depends_on=depends_on,
        aliases=aliases.aliases,
        invalid_aliases=aliases.broken,
    )
    cache.last = _Unchanged(tree, keys, policy_state, catalog, tuple(evaluation_sets), load)
    return load


def _check_across_files(
    base: Path, jobs: dict[str, LoadedJob], invalid: set[str], errors: list[SpecError], *,
    context: tuple[Catalog, Policy | None],
) -> tuple[tuple[SpecError, ...], Mapping[str, str]]:
    """Dependencies between jobs and the base model each tunes: moves failing jobs to
    `invalid` (their errors to `errors`); returns the warnings (with the teams the policy does
    not list) and the dependency edges."""
    catalog, policy = context
    check = check_dependencies(
        {name: loaded.spec for name, loaded in jobs.items()},
        file_of=lambda name: str(base / jobs[name].path),
        broken=frozenset(invalid), catalog=catalog,
        teams={name: loaded.team for name, loaded in jobs.items()}, policy=policy)
    for name, messages in sorted(check.errors.items()):
        errors.extend(SpecError(file=str(base / jobs[name].path), message=m, job=name)
                      for m in messages)
        invalid.add(name)
        del jobs[name]
    for name in check.depends_on.keys() & jobs.keys():  # the others name their base model
        jobs[name] = replace(jobs[name], base_model=check.base_models.get(name))
    for name in (check.regions.keys() | check.uncreatable.keys()) & jobs.keys():
        jobs[name] = replace(jobs[name], inherited_region=check.regions.get(name),
                             uncreatable=check.uncreatable.get(name))
    warnings = tuple(SpecError(file=str(base / jobs[name].path), message=m, job=name)
                     for name, messages in sorted(check.warnings.items()) if name in jobs
                     for m in messages) + unlisted_team_warnings(base, jobs, policy)
    depends_on = {n: p for n, p in check.depends_on.items() if n in jobs}
    return warnings, depends_on


def _by_kind(results: list[FileResult]) -> tuple[list[FileResult], list[FileResult]]:
    """The job files and the alias files."""
    return ([r for r in results if r.kind != ALIAS_KIND],
            [r for r in results if r.kind == ALIAS_KIND])


def _check_alias_files(base: Path, files: list[FileResult], jobs: Mapping[str, LoadedJob],
                       invalid: set[str], errors: list[SpecError]) -> AliasCheck:
    """The `ModelAlias` files against the valid jobs (their errors go to `errors`)."""
    check = check_aliases(base, files, broken_jobs=invalid, jobs={
        name: JobFacts(team=j.team, evaluated=j.spec.evaluation is not None)
        for name, j in jobs.items()})
    errors.extend(check.errors)
    return check


def _check_files(
    base: Path, paths: tuple[str, ...], cache: LoadCache, *,
    stats: tuple[tuple[StatKey | None, ...], Mapping[str, str]],
    context: tuple[Catalog, Policy | None, StatKey | None],
) -> tuple[list[FileResult], dict[str, _Digest | None], tuple[StatKey | None, ...]]:
    """Each file parsed and checked (from the cache while its stat and the policy's hold), and
    `keys` again, sharing the cache's key objects (one stat key kept per file, not two)."""
    (keys, refused), (catalog, policy, policy_key) = stats, context
    checked: list[FileResult] = []
    hashes: dict[str, _Digest | None] = {}
    kept: list[StatKey | None] = []  # `keys`, equal, but the cache's objects where they hold
    with TreeReader(str(base), limit=MAX_FILE_BYTES) as reader:  # opens nothing while warm
        for rel, stat_key in zip(paths, keys, strict=True):
            key, parsed = _cached_result(base, reader, rel, cache,
                                         stat_key or refused[rel])
            hit = cache.checked.get(rel)
            if key is not None and hit is not None and hit[0] == key and hit[3] == policy_key:
                result, digest = hit[1], hit[2]
            else:
                result = check_file(base, parsed, catalog, policy)
                digest = result.job.spec_hash() if result.job is not None else None
                if key is not None:
                    cache.checked[rel] = (key, result, digest, policy_key)
            checked.append(result)
            hashes[rel] = digest
            kept.append(key if key == stat_key else stat_key)  # one key object per file
    live = set(paths)
    cache.files = {k: v for k, v in cache.files.items() if k in live}
    cache.checked = {k: v for k, v in cache.checked.items() if k in live}
    return checked, hashes, tuple(kept)


def _cached_result(base: Path, reader: TreeReader, rel: str, cache: LoadCache,
                   key: StatKey | str) -> tuple[StatKey | None, FileResult]:
    """The parsed file and its stat key (None: not cacheable, e.g. unreadable or refused)."""
    if isinstance(key, str):
        return None, failed_file(base, rel, None, key)
    hit = cache.files.get(rel)
    if hit is not None and hit[0] == key:
        return hit[0], hit[1]  # the cache's key: the load keeps that one, not a copy
    cache.parses += 1
    try:
        key, raw = reader.read(rel)
    except FileRefused as exc:
        return None, failed_file(base, rel, None, str(exc))
    except OSError as exc:
        return None, failed_file(base, rel, None, f"cannot read the file ({exc.strerror or exc})")
    result = parse_job_file(base, rel, raw, shared=cache.shared, compact=cache.compact)
    cache.files[rel] = (key, result)
    return key, result


def _cached_policy(
    base: Path, cache: LoadCache
) -> tuple[StatKey | None, Policy | None, bool, tuple[SpecError, ...]]:
    """The policy file (parsed again only when its stat changes): key, policy, broken, errors."""
    try:
        key: StatKey | None = lstat_key(str(base / POLICY_FILE))
    except FileNotFoundError:
        key = None
    except (OSError, FileRefused) as exc:  # broken, and not cached, so a fix is seen at once
        return None, None, True, (_policy_unreadable(base, exc),)
    if cache.policy is not None and cache.policy[0] == key:
        return cache.policy
    errors: list[SpecError] = []
    if key is None:
        policy, broken = None, False
    else:
        try:
            key, raw = read_regular(str(base), POLICY_FILE, limit=MAX_FILE_BYTES)
        except (OSError, FileRefused) as exc:
            return None, None, True, (_policy_unreadable(base, exc),)
        policy, broken = parse_policy_file(base, raw.decode("utf-8", errors="replace"), errors)
    cache.policy = (key, policy, broken, tuple(errors))
    return cache.policy


def _policy_unreadable(base: Path, exc: OSError | FileRefused) -> SpecError:
    reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
    return SpecError(file=str(base / POLICY_FILE), message=f"cannot read the policy file"
                     f" ({reason}); no job is created until it can be read")
