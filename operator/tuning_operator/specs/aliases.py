"""Checks across files for `ModelAlias`: the job it names, the team it sits in, its twins.

An alias may only point at a job of its own team (a team never moves another team's model),
at a job that exists, and, while it requires a passed evaluation, at a job whose file asks for
one; its name is unique in its team (two files moving one name would fight). An alias whose
job file is broken is not an error here: its job keeps its last valid spec, and the planner
holds the alias until the file is fixed. Pure: the loader hands in parsed files and jobs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tuning_operator.specs.alias import CHECKPOINT_WORDS, ModelAlias
from tuning_operator.specs.diagnostics import SpecError
from tuning_operator.specs.parsing import FileResult


@dataclass(frozen=True)
class LoadedAlias:
    """A valid alias file, keyed by `team/name` (alias names are unique per team only)."""

    path: str  # relative to the jobs directory
    team: str
    alias: ModelAlias

    @property
    def name(self) -> str:
        return self.alias.metadata.name

    @property
    def key(self) -> str:
        return alias_key(self.team, self.name)

    @property
    def job(self) -> str:
        return self.alias.spec.job


def alias_key(team: str, name: str) -> str:
    """How the store, the plan and the events name an alias: `team/name`."""
    return f"{team}/{name}"


@dataclass(frozen=True)
class JobFacts:
    """What the alias checks need of a valid job: its team and whether it is evaluated."""

    team: str
    evaluated: bool


@dataclass(frozen=True)
class AliasCheck:
    aliases: Mapping[str, LoadedAlias]  # valid, by key
    errors: tuple[SpecError, ...]
    broken: frozenset[str]  # keys of alias files that failed (their alias is held as it is)
    unnamed: int  # alias files whose name could not be read


def check_aliases(base: Path, results: Sequence[FileResult], *, jobs: Mapping[str, JobFacts],
                  broken_jobs: Collection[str]) -> AliasCheck:
    """Every alias file's own errors and its cross-file rules."""
    errors: list[SpecError] = []
    by_key: dict[str, list[FileResult]] = {}
    for result in results:
        errors.extend(result.errors)
        if result.name is not None and result.team is not None:
            by_key.setdefault(alias_key(result.team, result.name), []).append(result)
    aliases: dict[str, LoadedAlias] = {}
    broken: set[str] = set()
    for key, twins in sorted(by_key.items()):
        problems: dict[str, list[str]] = {}
        if len(twins) > 1:
            files = ", ".join(str(base / t.path) for t in twins)
            for twin in twins:
                problems.setdefault(twin.path, []).append(
                    f"alias {twin.name!r} is defined by more than one file of team"
                    f" {twin.team!r} ({files}); keep one of them")
        for twin in twins:
            if twin.alias is not None:
                problems.setdefault(twin.path, []).extend(
                    _problems(twin.alias, twin.team or "", jobs, broken_jobs))
        for twin in twins:
            messages = problems.get(twin.path, [])
            errors.extend(SpecError(file=str(base / twin.path), message=m, job=twin.name)
                          for m in messages)
        if any(t.alias is None or problems.get(t.path) for t in twins):
            broken.add(key)
        else:
            only = twins[0]
            assert only.alias is not None and only.team is not None
            aliases[key] = LoadedAlias(path=only.path, team=only.team, alias=only.alias)
    unnamed = sum(1 for r in results if r.name is None or r.team is None)
    return AliasCheck(aliases=aliases, errors=tuple(errors), broken=frozenset(broken),
                      unnamed=unnamed)


def _problems(alias: ModelAlias, team: str, jobs: Mapping[str, JobFacts],
              broken_jobs: Collection[str]) -> list[str]:
    spec = alias.spec
    target = jobs.get(spec.job)
    if target is None:
        if spec.job in broken_jobs:
            return []  # the job's own file error says what to fix; the alias waits for it
        return [f"`spec.job`: no job named {spec.job!r} in the jobs directory; name the"
                f" metadata.name of a TuningJob of team {team!r}"]
    if target.team != team:
        return [f"`spec.job`: {spec.job!r} belongs to team {target.team!r}; an alias of team"
                f" {team!r} may only point at its own team's jobs"]
    problems = []
    if spec.require_evaluation == "passed" and not target.evaluated:
        problems.append(f"`spec.requireEvaluation: passed`, but job {spec.job!r} has no"
                        " `spec.evaluation`: add an evaluation to the job, or write"
                        " `requireEvaluation: none` (promoted without a gate)")
    elif spec.checkpoint == "evaluated" and not target.evaluated:
        words = ", ".join(w for w in CHECKPOINT_WORDS if w != "evaluated")
        problems.append(f"`spec.checkpoint: evaluated` needs an evaluation of {spec.job!r};"
                        f" write {words} or a checkpoint id")
    return problems
