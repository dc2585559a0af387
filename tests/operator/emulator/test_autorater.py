"""EvaluationService.EvaluateInstances over the wire: the scripted autorater, both transports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.emulator_process import EmulatorAdmin, EmulatorProcess
from tuning_operator.emulator.autorater import ScoreScript, ScriptedAutorater, parse_autorater
from tuning_operator.errors import PermanentError
from tuning_operator.specs.judges import ModelBasedMetric
from tuning_operator.vertex.budget import RequestBudget
from tuning_operator.vertex.evaluation import VertexEvaluation

CORRECT = ModelBasedMetric(name="correctness", kind="pointwise",
                           rubric="Score 1-5 {response} against {reference}")
CLEAR = ModelBasedMetric(name="clarity", kind="pointwise", rubric="How clear is {response}?")
PREFERRED = ModelBasedMetric(name="preferred", kind="pairwise",
                             rubric="Which answers {prompt} better: {response} or"
                                    " {baseline_response}?")


@pytest.fixture(params=["grpc", "rest"])
def judge(request: pytest.FixtureRequest, emulator: EmulatorProcess,
          admin: EmulatorAdmin) -> Iterator[VertexEvaluation]:
    """The evaluation adapter against the emulator process, once per client transport."""
    transport = request.param
    endpoint = emulator.grpc_endpoint if transport == "grpc" else emulator.rest_endpoint
    budget = RequestBudget(crud_per_minute=60_000)
    with VertexEvaluation.for_emulator(endpoint, budget=budget, project="p",
                                       transport=transport) as adapter:
        yield adapter
    admin.set_autorater([])


def test_pointwise_scores_come_from_the_metric_script(
        judge: VertexEvaluation, admin: EmulatorAdmin) -> None:
    """A script naming the metric scores the response text; other metrics are not touched."""
    admin.set_autorater([{"metric": "correctness", "scores": {"Billing": 5}, "default": 2},
                         {"scores": {"Billing": 1}}])
    assert judge.judge("us-central1", CORRECT, {"prompt": "q", "response": "Billing",
                                                "reference": "x"}).score == 5
    assert judge.judge("us-central1", CORRECT, {"prompt": "q", "response": "other",
                                                "reference": "x"}).score == 2
    assert judge.judge("us-central1", CLEAR, {"prompt": "q", "response": "Billing",
                                              "reference": "x"}).score == 1


def test_pairwise_choice_compares_the_two_scripted_scores(
        judge: VertexEvaluation, admin: EmulatorAdmin) -> None:
    """CANDIDATE when the tuned answer scores higher, BASELINE when lower, TIE when equal."""
    admin.set_autorater([{"metric": "preferred", "scores": {"good": 5, "poor": 1, "also": 5}}])
    choices = [judge.judge("us-central1", PREFERRED, {"prompt": "q", "response": a,
                                                      "baseline_response": b}).choice
               for a, b in (("good", "poor"), ("poor", "good"), ("good", "also"))]
    assert choices == ["CANDIDATE", "BASELINE", "TIE"]


def test_unscripted_scores_follow_the_overlap_with_the_reference() -> None:
    """Without a script, an answer equal to the reference scores 5 and a foreign one 1."""
    autorater = ScriptedAutorater([ScoreScript(metric="other", scores={"x": 3})])
    assert autorater.score("# metric: correctness", "the billing team", "the billing team") == 5
    assert autorater.score("# metric: correctness", "nothing alike", "the billing team") == 1


def test_a_bad_script_is_refused_with_its_index() -> None:
    """A score that is not a number names the entry."""
    with pytest.raises(ValueError, match=r"autorater\[1\]"):
        parse_autorater([{"scores": {}}, {"scores": {"a": "five"}}])


def test_a_fault_on_evaluate_instances_reaches_the_adapter(
        judge: VertexEvaluation, admin: EmulatorAdmin) -> None:
    """Scripted faults and call counts cover EvaluateInstances like every method."""
    admin.reset_calls()
    admin.fail_next("EvaluateInstances", "INVALID_ARGUMENT")
    with pytest.raises(PermanentError):
        judge.judge("us-central1", CORRECT, {"prompt": "q", "response": "a", "reference": "a"})
    assert admin.calls()["EvaluateInstances"] == 1
