"""`checkpoint: best` of a run without a trustworthy best checkpoint: the final model, said so."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.job_files import write_job
from tuning_operator.planning.aftercare import Progress, due
from tuning_operator.planning.chains import Held, resolve
from tuning_operator.planning.gates import Timing
from tuning_operator.planning.model import Lineage, ObservedJob, Phase
from tuning_operator.specs import LoadedJob, load_jobs_dir

NOW = 1_800_000_000.0
PARENT = ObservedJob(name="projects/p/locations/us-central1/tuningJobs/1",
                     state="JOB_STATE_SUCCEEDED", experiment="contexts/1",
                     tuned_model="projects/p/locations/us-central1/models/1@1",
                     tuned_endpoint="projects/p/locations/us-central1/endpoints/1")


def judged_at_best(tmp_path: Path) -> LoadedJob:
    (tmp_path / "team").mkdir(parents=True, exist_ok=True)
    (tmp_path / "team" / "set.jsonl").write_text(
        '{"contents": [{"role": "user", "parts": [{"text": "q"}]},'
        ' {"role": "model", "parts": [{"text": "a"}]}]}\n')
    write_job(tmp_path, "judged", "  evaluation: {dataset: set.jsonl, checkpoint: best}\n")
    return load_jobs_dir(tmp_path).jobs["judged"]


def child_of_best(tmp_path: Path) -> LoadedJob:
    write_job(tmp_path, "parent")
    path = write_job(tmp_path, "child")
    path.write_text(path.read_text().replace(
        "  baseModel: gemini-2.5-flash\n", "  preTunedModel: {job: parent, checkpoint: best}\n"))
    return load_jobs_dir(tmp_path).jobs["child"]


# (case, diagnosis verdict, best checkpoint id, the words the plan's reason must hold or None)
EVALUATIONS = [
    ("diverged", "diverged", "2",
     "checkpoint: best → the final model: the curves diverged, no best checkpoint"),
    ("no-best", "healthy", None,
     "checkpoint: best → the final model: the diagnosis chose no best checkpoint"),
    ("best-known", "healthy", "2", None),
]


@pytest.mark.parametrize(("case", "verdict", "best", "words"), EVALUATIONS,
                         ids=[c[0] for c in EVALUATIONS])
def test_the_plan_says_when_checkpoint_best_asks_the_final_model(
        tmp_path: Path, case: str, verdict: str, best: str | None, words: str | None) -> None:
    """A diverged or best-less diagnosis makes `checkpoint: best` the final model, in words."""
    del case
    progress = Progress(metrics_final=True, smoke="healthy", diagnosis=verdict,
                        best_checkpoint=best)
    [step] = [s for s in due(judged_at_best(tmp_path), PARENT, progress, Timing(now=NOW))
              if s.step == "evaluation"]
    assert not step.held
    if words is None:
        assert "final model" not in step.reason, step.reason
    else:
        assert words in step.reason, step.reason


def test_a_child_of_a_diverged_parent_is_blocked_with_the_ways_on(tmp_path: Path) -> None:
    """No checkpoint of a diverged run, not even one before the divergence, is continued: the
    child is Blocked (waiting would not help) and the reason names the ways on."""
    held = resolve(child_of_best(tmp_path), PARENT, best="1", diagnosed=True,
                   verdict="diverged")
    assert isinstance(held, Held) and held.phase == Phase.BLOCKED
    assert "the curves diverged, no best checkpoint" in held.reason and "`last`" in held.reason


@pytest.mark.parametrize(("verdict", "best", "sent"), [("healthy", None, None),
                                                       ("overfitting", "3", "3")])
def test_a_child_of_a_sound_parent_continues_its_best_checkpoint_or_its_final_model(
        tmp_path: Path, verdict: str, best: str | None, sent: str | None) -> None:
    """The diagnosis' best checkpoint goes out with the create; without one, the final model."""
    lineage = resolve(child_of_best(tmp_path), PARENT, best=best, diagnosed=True,
                      verdict=verdict)
    assert isinstance(lineage, Lineage)
    assert (lineage.tuned_model, lineage.checkpoint_id) == (PARENT.tuned_model, sent)
