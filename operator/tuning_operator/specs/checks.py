"""The checks of one parsed job file that need more than the file: the catalog, the team
directory it sits in, and the team's policy.

They are kept apart from parsing because their result also depends on the policy file and the
catalog: the loader caches them under the policy's stat as well as the file's. Checks across
files (duplicate names, `preTunedModel` chains) belong to the loader, which sees every file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from tuning_operator.specs import labels as label_rules
from tuning_operator.specs.catalog import Catalog
from tuning_operator.specs.diagnostics import SpecError
from tuning_operator.specs.model import TuningJob
from tuning_operator.specs.parsing import FileResult
from tuning_operator.specs.policy import POLICY_FILE, Policy
from tuning_operator.specs.rules import model_problems

if TYPE_CHECKING:
    from tuning_operator.specs.loader import LoadedJob


def check_file(
    base: Path, result: FileResult, catalog: Catalog, policy: Policy | None
) -> FileResult:
    """Checks that need the catalog, the team layout or the policy."""
    job = result.job
    team_problem = _team_problem(base, result.team)
    problems = [team_problem] if team_problem else []
    if job is not None:
        problems.extend(_semantic_problems(job, result.team, catalog,
                                           None if team_problem else policy))
    if result.alias is not None and result.team is None:
        problems.append("an alias file must sit in a team directory (jobs/<team>/<file>.yaml),"
                        " beside the jobs it may point at; move the file")
    if not problems:
        return result
    shown = str(base / result.path)
    extra = tuple(SpecError(file=shown, message=m, job=result.name) for m in problems)
    return replace(result, summary=None, alias=None, errors=result.errors + extra)


def _semantic_problems(
    job: TuningJob, team: str | None, catalog: Catalog, policy: Policy | None
) -> Iterator[str]:
    spec = job.spec
    if team is None:
        yield ("a job file must sit in a team directory (jobs/<team>/<file>.yaml): the first"
               " directory level names the team; move the file")
    for problem in label_rules.label_problems(job.metadata.labels):
        yield f"`metadata.labels`: {problem}"
    model = catalog.get(spec.base_model) if spec.base_model is not None else None
    if spec.base_model is not None and model is None:
        yield (f"`spec.baseModel`: unknown base model {spec.base_model!r}; use one of:"
               f" {catalog.current()}")
    elif model is not None:  # a preTunedModel's base model is checked across files
        yield from model_problems(spec, model)
    if spec.validation_dataset is not None and spec.validation_dataset == spec.training_dataset:
        yield ("`spec.validationDataset` is the training dataset itself; a validation set must"
               " be separate (leakage inflates scores)")
    rules = policy.for_team(team) if policy and team else None
    if rules is None:
        if policy is not None and team is not None and policy.default_team == "deny":
            yield str(policy.unlisted(team))
        return
    if spec.base_model is not None and not rules.admits_base_model(spec.base_model):
        yield (f"`spec.baseModel`: team {team!r} may use only {', '.join(rules.base_models or ())}"
               f" ({POLICY_FILE})")
    if rules.dataset_prefixes is not None:
        # A relative evaluation set lives in the reviewed jobs directory: no prefix applies.
        evaluation = spec.evaluation.dataset if spec.evaluation else ""
        for field_name, uri in (("trainingDataset", spec.training_dataset),
                                ("validationDataset", spec.validation_dataset),
                                ("evaluation.dataset",
                                 evaluation if evaluation.startswith("gs://") else None)):
            if uri is not None and not rules.admits_dataset(uri):
                yield (f"`spec.{field_name}`: {uri} is outside the prefixes team {team!r} may"
                       f" use: {', '.join(rules.dataset_prefixes)} ({POLICY_FILE})")


def unlisted_team_warnings(base: Path, jobs: Mapping[str, LoadedJob],
                           policy: Policy | None) -> tuple[SpecError, ...]:
    """One warning per team the policy allows without naming it, on the team's first file:
    a platform team should know which teams its policy does not restrict."""
    if policy is None or policy.default_team != "allow":
        return ()
    first: dict[str, LoadedJob] = {}
    for loaded in sorted(jobs.values(), key=lambda j: j.path):
        first.setdefault(loaded.team, loaded)
    return tuple(SpecError(file=str(base / loaded.path), job=loaded.name, message=why)
                 for team, loaded in sorted(first.items())
                 if (why := policy.unlisted(team)) is not None)


def _team_problem(base: Path, team: str | None) -> str | None:
    """Every file of a directory that cannot be a team is an error: it is never a new team."""
    problem = label_rules.team_name_problem(team) if team is not None else None
    if team is None or problem is None:
        return None
    return (f"team directory {str(base / team)!r} is not a team: {problem}; rename the"
            " directory (its jobs are kept as they are until then)")
