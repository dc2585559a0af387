"""The evaluation executor with `checkpoint: best` after a diverged run: the final model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuning_operator.judging import Checkpoint, Diagnosis
from tuning_operator.planning.model import ObservedJob
from tuning_operator.reconciling.aftercare import Aftercare
from tuning_operator.reconciling.backoff import Throttler
from tuning_operator.specs import load_jobs_dir
from tuning_operator.specs.evaluation import GenerationConfig
from tuning_operator.state.store import JobRecord

TUNED = "projects/p/locations/us-central1/endpoints/final"
EARLY = Checkpoint("1", epoch=1, step=10, endpoint="projects/p/locations/us-central1/endpoints/c1")
SUCCEEDED = ObservedJob(name="projects/p/locations/us-central1/tuningJobs/1",
                        state="JOB_STATE_SUCCEEDED", tuned_endpoint=TUNED, checkpoints=(EARLY,))


def test_a_diverged_run_is_judged_on_its_final_model_and_the_verdict_says_so(
        tmp_path: Path) -> None:
    """The diagnosis kept a checkpoint from before the divergence; `best` still asks the final
    model, the record names no checkpoint, and the reason tells why."""
    asked: list[str] = []

    def predict(model: str, contents: Any, generation_config: GenerationConfig, *,
                system_instruction: Any = None) -> str:
        asked.append(model)
        return "a"

    jobs = tmp_path / "jobs"
    (jobs / "team").mkdir(parents=True)
    (jobs / "team" / "set.jsonl").write_text(
        '{"contents": [{"role": "user", "parts": [{"text": "q"}]},'
        ' {"role": "model", "parts": [{"text": "a"}]}]}\n')
    (jobs / "team" / "bot.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata: {name: bot}\nspec:\n"
        "  baseModel: gemini-2.5-flash\n  trainingDataset: gs://datasets/team/train.jsonl\n"
        "  evaluation: {dataset: set.jsonl, baseline: false, checkpoint: best}\n")
    record = JobRecord(name="bot", first_seen=0.0, diagnosis=Diagnosis(
        verdict="diverged", reason="training loss is NaN from step 20", mitigation="",
        best_checkpoint=EARLY))
    aftercare = Aftercare(throttler=Throttler(),
                          clock=lambda: 1_800_000_000.0, state_dir=tmp_path / "state",
                          predict=predict)
    aftercare.evaluate(None, record, SUCCEEDED,  # type: ignore[arg-type]
                       load_jobs_dir(jobs).jobs["bot"])
    assert asked == [TUNED]
    assert record.evaluation is not None and record.evaluation.checkpoint is None
    assert record.evaluation.reason.endswith(
        "(checkpoint: best → the final model: the curves diverged, no best checkpoint)")
