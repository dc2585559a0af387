"""Checks across job files: `preTunedModel.job` dependencies, and the model each job tunes.

A job may continue tuning another job's tuned model (`preTunedModel: {job: OTHER}`). Such a
job names no base model, so its catalog rules (regions, CMEK, adapter sizes), its team's policy
(`baseModels`) and the retired check come from the root of its chain: the first job that names
a base model. Otherwise a team allowed only one model could tune another by continuing a job
that does. A job continues only its own team's jobs unless the policy allows the other team
(`allowContinuingFrom`), and without a region it tunes where its parent's tuned model lives.
A cycle (a → b → a, a → a) is an error on every job involved, naming their files, because no
order of creates can satisfy it. A parent missing from the directory is not an error here: a
child whose Vertex job exists keeps it (the parent's file may leave); the planner refuses only
a create that would need the parent. Pure: the loader hands in the parsed specs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from tuning_operator.specs.catalog import Catalog
from tuning_operator.specs.model import Spec
from tuning_operator.specs.policy import POLICY_FILE, Policy
from tuning_operator.specs.rules import model_problems, tuned_model_region
from tuning_operator.specs.summary import JobSummary


@dataclass(frozen=True)
class DependencyCheck:
    """What the cross-file pass found, by job name."""

    errors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    warnings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The base model each job with a `preTunedModel` tunes in the end (its chain's); None: not
    # known offline (a `tunedModel` resource, or a chain through a broken file or a cycle).
    base_models: Mapping[str, str | None] = field(default_factory=dict)
    # job → the job whose tuned model it continues (`preTunedModel.job`).
    depends_on: Mapping[str, str] = field(default_factory=dict)
    # job → the region it tunes in when its file names none (its parent's, or its tunedModel's).
    regions: Mapping[str, str] = field(default_factory=dict)
    # job → why it cannot be created: its parent is not in the directory, or its (root) base
    # model is retired. A job whose Vertex job exists is kept; the planner refuses the create.
    uncreatable: Mapping[str, str] = field(default_factory=dict)


def check_dependencies(
    specs: Mapping[str, Spec | JobSummary],
    *,
    file_of: Callable[[str], str],
    broken: frozenset[str] = frozenset(),
    catalog: Catalog,
    teams: Mapping[str, str] | None = None,
    policy: Policy | None = None,
) -> DependencyCheck:
    """Check every valid job's dependency, policy and model rules.

    `specs`: the valid jobs by name; `file_of`: a valid job's file (as shown in messages);
    `broken`: names of jobs whose files failed to load (a dependency on one is not "unknown");
    `teams`: each valid job's team, for the policy.
    """
    errors: dict[str, list[str]] = {}
    warnings: dict[str, list[str]] = {}
    uncreatable: dict[str, str] = {}
    teams = teams or {}
    depends_on = {name: spec.pre_tuned_model.job for name, spec in specs.items()
                  if spec.pre_tuned_model is not None and spec.pre_tuned_model.job is not None}

    def shown(name: str) -> str:
        return f"{name} ({file_of(name)})" if name in specs else name

    for name, parent in sorted(depends_on.items()):
        if parent not in specs and parent not in broken:
            uncreatable[name] = (
                f"`spec.preTunedModel.job`: no job named {parent!r} in the jobs directory; a"
                " job continuing it cannot be created: name the metadata.name of an existing"
                " job file, or write the `{tunedModel, checkpointId}` to continue from")
            warnings.setdefault(name, []).append(
                uncreatable[name] + " (a Vertex job of this job that exists is kept as it is)")
    for cycle in _cycles(depends_on):
        path = " → ".join(shown(n) for n in [*cycle, cycle[0]])
        for name in cycle:
            errors.setdefault(name, []).append(
                f"`spec.preTunedModel.job`: dependency cycle {path}; a job cannot continue"
                " from itself, directly or through other jobs: break the cycle")

    base_models: dict[str, str | None] = {}
    regions = _inherited_regions(specs, depends_on)
    for name, spec in specs.items():
        ptm = spec.pre_tuned_model
        if ptm is None:  # the common case, kept cheap: only the retired check
            own = catalog.get(spec.base_model) if spec.base_model is not None else None
            if own is not None and own.retired:
                uncreatable[name] = _retired(own.name, "", catalog)
                warnings.setdefault(name, []).append(uncreatable[name])
            continue
        upstream = depends_on.get(name)
        if upstream is not None and upstream in specs and name not in errors:
            errors.setdefault(name, []).extend(_upstream_problems(
                name, upstream, specs=specs, depends_on=depends_on, teams=teams, policy=policy,
                shown=shown))
        if ptm.tuned_model is not None and spec.region is not None:
            home = tuned_model_region(ptm.tuned_model)
            if home is not None and home != spec.region:
                errors.setdefault(name, []).append(
                    f"`spec.region`: {spec.region}, but `spec.preTunedModel.tunedModel` is in"
                    f" {home} and a tuned model stays in its region: set `spec.region:"
                    f" {home}`")
        base = base_models[name] = _root_base_model(name, specs, depends_on)
        if base is not None and not errors.get(name):
            errors.setdefault(name, []).extend(_root_policy_problems(
                name, base, upstream=upstream, teams=teams, policy=policy))
        model = catalog.get(base) if base is not None else None
        if model is None:
            continue
        whole = spec.job.spec if isinstance(spec, JobSummary) else spec  # its hyperparameters
        errors.setdefault(name, []).extend(model_problems(whole, model, field="preTunedModel"))
        if model.retired:
            uncreatable.setdefault(name, _retired(
                model.name, " (the base model of its `preTunedModel` chain)", catalog))
            warnings.setdefault(name, []).append(uncreatable[name])
    return DependencyCheck(
        errors={n: tuple(m) for n, m in errors.items() if m},
        warnings={n: tuple(m) for n, m in warnings.items()},
        base_models=base_models,
        depends_on=depends_on,
        regions=regions,
        uncreatable=uncreatable,
    )


def _upstream_problems(name: str, upstream: str, *, specs: Mapping[str, Spec | JobSummary],
                       depends_on: Mapping[str, str], teams: Mapping[str, str],
                       policy: Policy | None, shown: Callable[[str], str]) -> Iterator[str]:
    """The parent's region against the child's, and whose team the parent is."""
    spec, theirs = specs[name], _region_of(upstream, specs, depends_on)
    if spec.region is not None and theirs is not None and spec.region != theirs:
        yield (f"`spec.region`: {spec.region}, but {shown(upstream)} tunes in {theirs} and a"
               f" tuned model stays in its region: set `spec.region: {theirs}` (or leave it"
               " out: a continuing job tunes where its parent does)")
    team, other = teams.get(name), teams.get(upstream)
    if team is None or other is None or team == other:
        return
    rules = policy.for_team(team) if policy else None
    if rules is None or other not in rules.allow_continuing_from:
        yield (f"`spec.preTunedModel.job`: {shown(upstream)} is a job of team {other!r}; a job"
               f" of team {team!r} continues only its own team's jobs: continue one of them, or"
               f" have the platform team add {other!r} to `teams.{team}.allowContinuingFrom`"
               f" in {POLICY_FILE}")


def _root_policy_problems(name: str, base: str, *, upstream: str | None,
                          teams: Mapping[str, str], policy: Policy | None) -> Iterator[str]:
    """The team's `baseModels` rule applied to the root of the chain."""
    team = teams.get(name)
    rules = policy.for_team(team) if policy and team else None
    if rules is None or rules.admits_base_model(base):
        return
    yield (f"`spec.preTunedModel.job`: its chain{f' (through {upstream!r})' if upstream else ''}"
           f" starts from {base}, and team {team!r} may use only"
           f" {', '.join(rules.base_models or ())} ({POLICY_FILE}): continue a job tuned from"
           " one of those, or ask the platform team to allow it")


def _inherited_regions(specs: Mapping[str, Spec | JobSummary],
                       depends_on: Mapping[str, str]) -> dict[str, str]:
    """The region of each continuing job whose file names none, when its chain says one."""
    found: dict[str, str] = {}
    for name, spec in specs.items():
        if spec.pre_tuned_model is not None and spec.region is None:
            region = _region_of(name, specs, depends_on)
            if region is not None:
                found[name] = region
    return found


def _region_of(name: str, specs: Mapping[str, Spec | JobSummary],
               depends_on: Mapping[str, str]) -> str | None:
    """Where `name` tunes by its chain: the first region named on the way to the root, or the
    region of a `tunedModel` resource (None: the operator's default region)."""
    for spec in _chain(name, specs, depends_on):
        if spec.region is not None:
            return spec.region
        ptm = spec.pre_tuned_model
        if ptm is not None and ptm.tuned_model is not None:
            return tuned_model_region(ptm.tuned_model)
    return None


def _retired(model: str, via: str, catalog: Catalog) -> str:
    return (f"`spec.baseModel`: {model}{via} is retired: Vertex no longer lists it for new tuning"
            " jobs, so no new job is created on it (the plan shows it invalid); an existing"
            f" Vertex job on it is still observed. For a new job, use one of {catalog.current()}")


def _root_base_model(name: str, specs: Mapping[str, Spec | JobSummary],
                     depends_on: Mapping[str, str]) -> str | None:
    return next((s.base_model for s in _chain(name, specs, depends_on)
                 if s.base_model is not None), None)


def _chain(name: str, specs: Mapping[str, Spec | JobSummary],
           depends_on: Mapping[str, str]) -> Iterator[Spec | JobSummary]:
    """The specs from `name` up its `preTunedModel.job` edges, stopping at a job that is not
    valid or at a cycle."""
    seen: set[str] = set()
    current: str | None = name
    while current is not None and current in specs and current not in seen:
        seen.add(current)
        yield specs[current]
        current = depends_on.get(current)


def _cycles(depends_on: Mapping[str, str]) -> list[list[str]]:
    """Each cycle of the dependency graph once, starting at its smallest name."""
    cycles: list[list[str]] = []
    done: set[str] = set()
    for start in sorted(depends_on):
        path: list[str] = []
        node: str | None = start
        while node is not None and node not in done and node not in path:
            path.append(node)
            node = depends_on.get(node)
        if node is not None and node in path:
            cycle = path[path.index(node):]
            first = cycle.index(min(cycle))
            cycles.append(cycle[first:] + cycle[:first])
        done.update(path)
    return cycles
