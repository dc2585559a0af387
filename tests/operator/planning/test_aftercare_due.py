"""due(): which post-success steps go out this pass, and why the others are held."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuning_operator.planning.aftercare import Progress, due, evaluation_key
from tuning_operator.planning.gates import Timing
from tuning_operator.planning.model import ObservedJob
from tuning_operator.specs import LoadedJob, load_jobs_dir

NOW = 1_800_000_000.0
SUCCEEDED = ObservedJob(name="projects/p/locations/us-central1/tuningJobs/1",
                        state="JOB_STATE_SUCCEEDED",
                        tuned_endpoint="projects/p/locations/us-central1/endpoints/1")


def judged_job(tmp_path: Path,
               evaluation: str = "  evaluation: {dataset: evals/set.jsonl}\n") -> LoadedJob:
    """The job `judged` with an evaluation block (and its one-example set)."""
    (tmp_path / "team" / "evals").mkdir(parents=True)
    (tmp_path / "team" / "evals" / "set.jsonl").write_text(
        '{"contents": [{"role": "user", "parts": [{"text": "q"}]},'
        ' {"role": "model", "parts": [{"text": "a"}]}]}\n')
    (tmp_path / "team" / "judged.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata: {name: judged}\nspec:\n"
        "  baseModel: gemini-2.5-flash\n  trainingDataset: gs://datasets/team/train.jsonl\n"
        + evaluation)
    return load_jobs_dir(tmp_path).jobs["judged"]


@pytest.mark.parametrize(
    ("progress", "held", "reason"),
    [
        ({"smoke": "healthy"}, False, "evaluate the tuned model"),
        ({"smoke": "healthy", "evaluation_not_before": NOW + 30}, True,
         "endpoint unavailable: asked again in 30 s"),
        ({"smoke": "healthy", "evaluation_not_before": NOW - 1}, False,
         "evaluate the tuned model"),
        ({"smoke": "healthy", "evaluation_verdict": "passed", "evaluation_key": "old"}, False,
         "the evaluation set or its settings changed since the verdict"),
    ],
    ids=["due", "backing-off-after-an-outage", "backoff-over", "set-changed"],
)
def test_the_evaluation_waits_out_an_outage_and_follows_its_set(
        tmp_path: Path, progress: dict[str, object], held: bool, reason: str) -> None:
    """An outage holds the evaluation until its backoff ends; a changed set asks again."""
    [step] = [s for s in due(judged_job(tmp_path), SUCCEEDED, Progress(**progress),  # type: ignore[arg-type]
                             Timing(now=NOW)) if s.step == "evaluation"]
    assert (step.held, reason in step.reason) == (held, True), step


def test_a_verdict_for_the_current_set_owes_nothing(tmp_path: Path) -> None:
    """Passed for this very set and block: no evaluation step at all."""
    loaded = judged_job(tmp_path)
    progress = Progress(smoke="healthy", evaluation_verdict="passed",
                        evaluation_key=evaluation_key(loaded))
    assert [s for s in due(loaded, SUCCEEDED, progress, Timing(now=NOW))
            if s.step == "evaluation"] == []
