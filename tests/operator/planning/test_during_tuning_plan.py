"""A job asking Vertex to evaluate during tuning is created only where Vertex can do it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.job_files import write_job
from tuning_operator.planning.model import Phase
from tuning_operator.planning.planner import ActionKind, PlanSettings, plan
from tuning_operator.specs import load_jobs_dir

DURING = ("  validationDataset: gs://datasets/team/val.jsonl\n"
          "  evaluation: {dataset: gs://bucket/evals/t.jsonl, duringTuning: true}\n")


@pytest.mark.parametrize(("settings", "kind", "reason"), [
    (PlanSettings(artifacts="gs://bucket/ops"), ActionKind.CREATE, "no Vertex job"),
    (PlanSettings(), ActionKind.INVALID, "needs the operator's --artifacts"),
    (PlanSettings(artifacts="gs://bucket/ops", default_region="europe-west4"),
     ActionKind.INVALID, "only in us-central1"),
])
def test_the_create_needs_artifacts_and_the_region(tmp_path: Path, settings: PlanSettings,
                                                   kind: ActionKind, reason: str) -> None:
    """Without --artifacts (Vertex's required output location) or in a region without
    evaluation during tuning, the create is refused with the reason; a plain job is not."""
    write_job(tmp_path, "during", DURING)
    write_job(tmp_path, "plain")
    actions = {a.job: a for a in plan(load_jobs_dir(tmp_path), [], settings).actions}
    assert actions["during"].kind == kind
    assert reason in actions["during"].reason
    if kind == ActionKind.INVALID:
        assert actions["during"].phase == Phase.INVALID
    assert actions["plain"].kind == ActionKind.CREATE
