"""The evaluation key leaves out the judging fields a job file does not set (verdicts stay)."""

from __future__ import annotations

from tuning_operator.planning.aftercare import evaluation_block
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
