"""The dataset pre-flight as the reconciler runs it: once per spec, paced, cached a while.

Which jobs' data is readable and sound is an input of the planner (a failed check makes the job
Invalid, an unchecked one waits); this module only asks the checker and remembers its answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import structlog

from tuning_operator.errors import OperatorError, TemporaryError
from tuning_operator.planning.cost import Counted, Estimate, estimate_of, priced
from tuning_operator.planning.model import ObservedJob
from tuning_operator.reconciling.backoff import Throttler
from tuning_operator.specs import DirectoryLoad, LoadedJob
from tuning_operator.specs.model import HyperParameters


class DatasetCheck(Counted, Protocol):
    @property
    def blocks_create(self) -> bool: ...

    @property
    def reason(self) -> str: ...

    @property
    def send(self) -> HyperParameters | None: ...

    @property
    def billable_tokens(self) -> int | None:
        """Training tokens the job should bill (tokens × epochs); None: Vertex picks epochs."""

    @property
    def generations(self) -> dict[str, str]:
        """The dataset objects' generations read (URI → generation): what a create trains on."""

    def summary(self) -> str:
        """One line: verdict, billable tokens, recommended vs chosen hyperparameters."""


class DatasetChecker(Protocol):
    """The dataset pre-flight (`datasets.jobcheck.JobDatasetChecker`), cached by generation."""

    def check(self, loaded: LoadedJob) -> DatasetCheck: ...


class Preflight:
    def __init__(self, datasets: DatasetChecker, *, throttler: Throttler,
                 recheck_seconds: float) -> None:
        self.datasets = datasets
        self.throttler = throttler
        self.recheck_seconds = recheck_seconds
        self.checks: dict[str, DatasetCheck] = {}
        self._checked: dict[str, tuple[str, float, DatasetCheck]] = {}  # spec hash, when, answer
        self.log = structlog.get_logger("tuning_operator.preflight")

    def run(self, load: DirectoryLoad, actual: Sequence[ObservedJob],
            now: float) -> tuple[dict[str, str], frozenset[str]]:
        """Pre-flight the datasets of jobs not yet on Vertex: what blocks a create, what ran.

        A job waiting for quota would otherwise cost a storage request every pass: an answer is
        reused for the same spec until `dataset_recheck_seconds` have passed.
        """
        self.checks = {}
        present = {o.job_name for o in actual if o.job_name}
        blocks = {}
        for name, loaded in load.jobs.items():
            if name in present or loaded.spec.cancel:
                continue
            if not self.throttler.ready(f"dataset:{name}", now=now):
                continue
            recent = self._checked.get(name)
            fresh = (recent is not None and recent[0] == loaded.spec_hash
                     and now - recent[1] < self.recheck_seconds)
            try:
                check = recent[2] if recent is not None and fresh else self.datasets.check(loaded)
            except TemporaryError as exc:
                self.throttler.failed(f"dataset:{name}", now=now, at_least=exc.retry_after)
                self.log.warning("dataset_check_failed", job=name, error=str(exc))
                continue
            except OperatorError as exc:  # e.g. no credentials for gs://: say so, create nothing
                blocks[name] = f"cannot read the dataset: {exc}"
                continue
            self.throttler.succeeded(f"dataset:{name}")
            if not fresh:
                self._checked[name] = (loaded.spec_hash, now, check)
            self.checks[name] = check
            if check.blocks_create:
                blocks[name] = check.reason
        return blocks, frozenset(self.checks)

    def estimates(self, load: DirectoryLoad) -> dict[str, Estimate]:
        """This pass's checks as estimates priced by the policy's table."""
        prices = load.policy.prices if load.policy else None
        return {name: priced(estimate_of(check), prices) for name, check in self.checks.items()}
