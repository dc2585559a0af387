"""Make the Pulumi program importable as the package `infra`, and give tests fresh stacks.

pytest runs with `--import-mode=importlib`, which puts nothing on `sys.path`; the repository root
goes first here, as `infra/__main__.py` does for Pulumi, so `import infra.config` means this
repository's program and a top-level `config` module is never shadowed. Every fixture below runs
the program from scratch (`tests.support.pulumi_mocks.run_program`); no test sees another test's
stack.
"""

import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.support.pulumi_mocks import ProgramRun, run_program, stack_file_config  # noqa: E402

EXAMPLE_STACKS = ("dev", "prod")


@pytest.fixture
def minimal_config() -> dict[str, Any]:
    """Only the keys a stack must set, with valid values."""
    return {
        "gcp:project": "acme-tuning-test",
        "tuning-operator:region": "us-central1",
        "tuning-operator:maxConcurrentJobs": "3",
        "tuning-operator:quotaId": "ExampleConcurrentTuningJobsQuota",
        "tuning-operator:quotaContactEmail": "ml-platform@example.com",
        "tuning-operator:quotaJustification": "GitOps-managed Gemini tuning.",
    }


@pytest.fixture(scope="session", params=EXAMPLE_STACKS)
def example_stack(request: pytest.FixtureRequest) -> ProgramRun:
    """One run per session of the program on an example stack file (Pulumi.dev/prod.yaml).

    A `ProgramRun` is frozen, so the tests that only read the example stacks share one run;
    tests that change the config still run the program fresh.
    """
    stack = request.param
    return run_program(stack_file_config(REPO_ROOT / f"Pulumi.{stack}.yaml"), stack=stack)


@pytest.fixture(scope="session")
def prod_stack() -> ProgramRun:
    """A fresh run on Pulumi.prod.yaml: several regions, a CMEK key and team uploaders."""
    return run_program(stack_file_config(REPO_ROOT / "Pulumi.prod.yaml"), stack="prod")
