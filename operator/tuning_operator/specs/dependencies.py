"""Checks across job files: `preTunedModel.job` dependencies, and the model each job tunes.

A job may continue tuning another job's tuned model (`preTunedModel: {job: OTHER}`). Such a
job names no base model, so its catalog rules (regions, CMEK, adapter sizes) and the retired
warning come from the first job of its chain that does. An unknown job or a cycle (a → b → a,
a → a) is an error on every job involved, naming their files, because no order of creates can
satisfy it. Pure: the loader hands in the parsed specs and gets problems back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tuning_operator.specs.catalog import Catalog
from tuning_operator.specs.model import Spec
from tuning_operator.specs.rules import model_problems, tuned_model_region


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


def check_dependencies(
    specs: Mapping[str, Spec],
    *,
    file_of: Callable[[str], str],
    broken: frozenset[str] = frozenset(),
    catalog: Catalog,
) -> DependencyCheck:
    """Check every valid job's dependency and model rules.

    `specs`: the valid jobs by name; `file_of`: a valid job's file (as shown in messages);
    `broken`: names of jobs whose files failed to load (a dependency on one is not "unknown").
    """
    errors: dict[str, list[str]] = {}
    warnings: dict[str, list[str]] = {}
    depends_on = {name: spec.pre_tuned_model.job for name, spec in specs.items()
                  if spec.pre_tuned_model is not None and spec.pre_tuned_model.job is not None}

    def shown(name: str) -> str:
        return f"{name} ({file_of(name)})" if name in specs else name

    for name, parent in sorted(depends_on.items()):
        if parent not in specs and parent not in broken:
            errors.setdefault(name, []).append(
                f"`spec.preTunedModel.job`: no job named {parent!r} in the jobs directory;"
                " name the metadata.name of an existing job file")
    for cycle in _cycles(depends_on):
        path = " → ".join(shown(n) for n in [*cycle, cycle[0]])
        for name in cycle:
            errors.setdefault(name, []).append(
                f"`spec.preTunedModel.job`: dependency cycle {path}; a job cannot continue"
                " from itself, directly or through other jobs: break the cycle")

    base_models: dict[str, str | None] = {}
    for name, spec in specs.items():
        ptm = spec.pre_tuned_model
        if ptm is None:  # the common case, kept cheap: only the retired warning
            own = catalog.get(spec.base_model) if spec.base_model is not None else None
            if own is not None and own.retired:
                warnings.setdefault(name, []).append(_retired(own.name, "", catalog))
            continue
        upstream = depends_on.get(name)
        if upstream is not None and upstream in specs and name not in errors:
            theirs = specs[upstream].region
            if spec.region is not None and theirs is not None and spec.region != theirs:
                errors.setdefault(name, []).append(
                    f"`spec.region`: {spec.region}, but {shown(upstream)} tunes in {theirs} and a"
                    f" tuned model stays in its region: set `spec.region: {theirs}`")
        if ptm.tuned_model is not None and spec.region is not None:
            home = tuned_model_region(ptm.tuned_model)
            if home is not None and home != spec.region:
                errors.setdefault(name, []).append(
                    f"`spec.region`: {spec.region}, but `spec.preTunedModel.tunedModel` is in"
                    f" {home} and a tuned model stays in its region: set `spec.region:"
                    f" {home}`")
        base = base_models[name] = _root_base_model(name, specs, depends_on)
        model = catalog.get(base) if base is not None else None
        if model is None:
            continue
        errors.setdefault(name, []).extend(model_problems(spec, model, field="preTunedModel"))
        if model.retired:
            warnings.setdefault(name, []).append(_retired(
                model.name, " (the base model of its `preTunedModel` chain)", catalog))
    return DependencyCheck(
        errors={n: tuple(m) for n, m in errors.items() if m},
        warnings={n: tuple(m) for n, m in warnings.items()},
        base_models=base_models,
        depends_on=depends_on,
    )


def _retired(model: str, via: str, catalog: Catalog) -> str:
    return (f"`spec.baseModel`: {model}{via} is retired: Vertex no longer lists it for new tuning"
            " jobs. An existing Vertex job on it is still observed; for a new job, use one of"
            f" {catalog.current()}")


def _root_base_model(name: str, specs: Mapping[str, Spec],
                     depends_on: Mapping[str, str]) -> str | None:
    seen: set[str] = set()
    current: str | None = name
    while current is not None and current in specs and current not in seen:
        seen.add(current)
        spec = specs[current]
        if spec.base_model is not None:
            return spec.base_model
        current = depends_on.get(current)
    return None


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
