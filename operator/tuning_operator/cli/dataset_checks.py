"""The dataset pre-flight of every job for `validate` and `plan`, with its estimates.

What cannot be checked is not invalid. A runner without Google credentials (or whose storage
is unreachable) cannot read any dataset: that is a problem of the environment, said once with
its fix, not of each job; every job keeps its real action and shows `estimate unknown`. A
dataset that was read and is wrong is the job's problem, and blocks its create.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tuning_operator.errors import ConfigError, OperatorError, TemporaryError
from tuning_operator.planning.cost import Estimate, estimate_of, priced, unknown
from tuning_operator.specs import DirectoryLoad

if TYPE_CHECKING:
    from tuning_operator.datasets.jobcheck import JobDatasetCheck


@dataclass
class DatasetChecks:
    """Per job: (reason, blocks a create, one-line summary); estimates; environment problems."""

    results: dict[str, tuple[str, bool, str]] = field(default_factory=dict)
    estimates: dict[str, Estimate] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)  # job → why nothing could be read

    def notes(self) -> tuple[str, ...]:
        """Each distinct environment problem once, with how many jobs it left unchecked."""
        counts: dict[str, int] = {}
        for problem in self.environment.values():
            counts[problem] = counts.get(problem, 0) + 1
        return tuple(f"the dataset check could not run for {n} job(s): {problem}; their"
                     " actions stand, with estimate unknown" for problem, n in counts.items())


def gather(load: DirectoryLoad) -> DatasetChecks:
    from tuning_operator.datasets.jobcheck import JobDatasetChecker  # reads storage

    checker = JobDatasetChecker()
    prices = load.policy.prices if load.policy else None
    found = DatasetChecks()
    for name, loaded in load.jobs.items():
        try:
            check = checker.check(loaded)
        except (ConfigError, TemporaryError) as exc:
            found.environment[name] = str(exc)
            found.estimates[name] = unknown("the datasets could not be read, see the note")
            continue
        except OperatorError as exc:
            reason = f"cannot read the dataset: {exc}"
            found.results[name] = (reason, True, reason)
            found.estimates[name] = unknown(reason)
            continue
        if (problem := _runner_refused(check)) is not None:
            found.environment[name] = problem
            found.estimates[name] = unknown("the datasets could not be read, see the note")
            continue
        found.results[name] = (check.reason, check.blocks_create, check.summary())
        found.estimates[name] = priced(estimate_of(check), prices)
    return found


def _runner_refused(check: JobDatasetCheck) -> str | None:
    """`permission denied` on a bucket: the runner's identity may not read it, which says
    nothing of the data (the operator, with its own identity, may well read it)."""
    from tuning_operator.datasets.findings import FindingKind  # the datasets package: checks only

    report = check.report
    if report is None or not check.blocks_create:
        return None
    denied = [f for f in report.findings
              if f.kind is FindingKind.UNREADABLE and f.message.startswith("permission denied")]
    if not denied or len(denied) != report.errors:
        return None
    file = report.file(denied[0].dataset)
    bucket = file.uri.split("/")[2] if file is not None and file.uri.startswith("gs://") else "?"
    return (f"this runner may not read gs://{bucket} (permission denied): grant its identity"
            " roles/storage.objectViewer on the bucket, or run the check where it can")
