"""The judging fields in the plan: the evaluation key leaves out those a job file does not set
(verdicts stay), and the plan's reason says whom a judged evaluation asks."""

from __future__ import annotations

from pathlib import Path

from tests.operator.planning.test_aftercare_due import NOW, SUCCEEDED, judged_job
from tuning_operator.planning.aftercare import Progress, due, evaluation_block
from tuning_operator.planning.gates import Timing
from tuning_operator.specs.evaluation import EvaluationSpec

# The block as the 0.1 release keyed it (model_dump_json of that model, giveUpAfter left out).
OLD_BLOCK = (
    '{"dataset":"evals/t.jsonl","max_examples":200,"metrics":["exactMatch","bleu","rougeL"],'
    '"baseline":true,"checkpoint":"best","generation_config":{"temperature":0.0,"top_p":null,'
    '"top_k":null,"max_output_tokens":null,"thinking_budget":null},'
    '"require":{"exactMatch":{"min":0.8,"min_gain_over_baseline":null}}}')


def test_a_job_without_judges_keeps_its_key() -> None:
    """A block that sets none of the new fields digests exactly as before, so no verdict is
    thrown away by an upgrade."""
    spec = EvaluationSpec.model_validate({"dataset": "evals/t.jsonl",
                                          "require": {"exactMatch": {"min": 0.8}}})
    assert evaluation_block(spec) == OLD_BLOCK


def test_judges_enter_the_key() -> None:
    """A rubric is part of what a verdict is of: changing it changes the block."""
    def block(rubric: str) -> str:
        return evaluation_block(EvaluationSpec.model_validate({
            "dataset": "evals/t.jsonl",
            "modelBased": [{"name": "correctness", "kind": "pointwise", "rubric": rubric}]}))

    assert block("Score {response}") != block("Rate {response} 1-5")


def test_the_plan_says_whom_a_judged_evaluation_asks(tmp_path: Path) -> None:
    """The plan's reason names every checkpoint, both baselines and the autorater's metrics."""
    loaded = judged_job(tmp_path, (
        "  evaluation:\n    dataset: evals/set.jsonl\n    checkpoints: all\n"
        "    baseline: {fewShot: 3}\n    require: {exactMatch: {min: 0.5}}\n"
        "    modelBased: [{name: correctness, kind: pointwise, rubric: '{response}'}]\n"))
    [step] = [s for s in due(loaded, SUCCEEDED, Progress(smoke="healthy"), Timing(now=NOW))
              if s.step == "evaluation"]
    assert step.reason == ("evaluate the tuned model (every checkpoint) and the base model"
                           " (zero-shot, 3-shot); 1 model-based metric judged by the autorater")
