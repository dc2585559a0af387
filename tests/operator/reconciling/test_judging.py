"""Few-shot baselines and model-based metrics over the wire: the emulator in its own process.

Six examples. The tuned model answers four right, the zero-shot base model one, the few-shot
base model all six: tuning beats the prompt-less model but not a prompt with examples. The
scripted autorater scores `correctness` as people do (kappa 1) and `clarity` against them;
`preferred` is won by the tuned model on three examples, tied on one, lost on two.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.operator.emulator.test_prediction import tuned_endpoint
from tests.support.emulator_process import EmulatorProcess
from tuning_operator.datasets.evalset import read_evaluation_set
from tuning_operator.judging.asking import publisher_model
from tuning_operator.judging.judges import Shot
from tuning_operator.reconciling.evaluation import run_evaluation
from tuning_operator.specs.evaluation import EvaluationSpec
from tuning_operator.specs.ratings import HumanRating
from tuning_operator.state.answers import AnswerJournal
from tuning_operator.vertex.budget import RequestBudget
from tuning_operator.vertex.evaluation import VertexEvaluation
from tuning_operator.vertex.prediction import VertexPrediction

CHILD = Path(__file__).with_name("judging_child.py")
BASE = "gemini-2.5-flash"
N = 6
RIGHT = 4  # the tuned model's right answers
RUBRIC = {
    "correctness": "Score 1-5 how correct {response} is against {reference}.",
    "clarity": "Score 1-5 how clear {response} is.",
    "preferred": "Which answers {prompt} better, {response} or {baseline_response}?",
}
JUDGED_SPEC = EvaluationSpec.model_validate({
    "dataset": "evals/set.jsonl", "metrics": ["exactMatch"],
    "baseline": {"zeroShot": True, "fewShot": 2},
    "humanRatings": "evals/human.jsonl",
    "modelBased": [{"name": name, "kind": "pairwise" if name == "preferred" else "pointwise",
                    "rubric": rubric} for name, rubric in RUBRIC.items()],
})
# People: the right answers are a 5, the others a 1.
PEOPLE = [HumanRating(i, metric, 5 if i < RIGHT else 1) for metric in ("correctness", "clarity")
          for i in range(N)]
SHOTS = (Shot(contents=({"role": "user", "parts": [{"text": "shot q"}]},), reference="shot a"),
         Shot(contents=({"role": "user", "parts": [{"text": "shot r"}]},), reference="shot b"))


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(job_seconds=60) as process:
        yield process


@pytest.fixture
def adapters(emulator: EmulatorProcess) -> Iterator[tuple[VertexPrediction, VertexEvaluation]]:
    budget = RequestBudget(crud_per_minute=60_000)
    with VertexPrediction.for_emulator(emulator.grpc_endpoint, budget=budget) as prediction, \
            VertexEvaluation.for_emulator(emulator.grpc_endpoint, budget=budget,
                                          project="p") as evaluation:
        yield prediction, evaluation


def eval_set(path: Path) -> Path:
    path.write_text("".join(json.dumps({
        "contents": [{"role": "user", "parts": [{"text": f"question {i}"}]},
                     {"role": "model", "parts": [{"text": f"answer {i}"}]}],
    }) + "\n" for i in range(N)))
    return path


def script(emulator: EmulatorProcess, tuned: list[str],
           extra: tuple[dict[str, Any], ...] = ()) -> None:
    """The tuned models right on RIGHT questions, zero-shot on one, few-shot on all; the
    autorater as the module says (the e2e test scripts the same world)."""
    emulator.admin.set_answers([
        *({"model": f"tuned:{name}", "default": "no idea",
           "answers": {f"question {i}": f"answer {i}" for i in range(RIGHT)}} for name in tuned),
        *extra,
        {"model": BASE, "answers": {"question 0": "answer 0"}, "default": "something else"},
        {"model": f"fewshot:{BASE}", "answers": {f"question {i}": f"answer {i}"
                                                 for i in range(N)}},
    ])
    right = {f"answer {i}": 5 for i in range(N)}
    emulator.admin.set_autorater([
        {"metric": "correctness", "scores": {**right, "no idea": 1, "something else": 1}},
        {"metric": "clarity", "scores": {**{a: 1 for a in right}, "no idea": 5}, "default": 3},
        {"metric": "preferred", "scores": {**right, "no idea": 1, "something else": 2}},
    ])


def scripted_world(emulator: EmulatorProcess) -> tuple[str, str]:
    """A succeeded job and its base model, the answers and the autorater scripted."""
    project = f"p-{uuid.uuid4().hex[:10]}"
    name = f"judged-{uuid.uuid4().hex[:6]}"
    endpoint = tuned_endpoint(emulator, f"projects/{project}/locations/us-central1", name)
    script(emulator, [name])
    return endpoint, publisher_model(project, "us-central1", BASE)


def calls(emulator: EmulatorProcess, method: str) -> int:
    return emulator.admin.calls().get(method, 0)


def evaluate(emulator: EmulatorProcess, adapters: tuple[VertexPrediction, VertexEvaluation],
             tmp_path: Path, world: tuple[str, str], **require: Any) -> Any:
    prediction, evaluation = adapters
    spec = JUDGED_SPEC.model_copy(update={"require": EvaluationSpec.model_validate({
        "dataset": "e.jsonl", "humanRatings": "h.jsonl", "modelBased": JUDGED_SPEC.model_dump(
            by_alias=True)["modelBased"], "require": require}).require})
    with AnswerJournal.for_job(tmp_path / "state", "judged-v1") as journal:
        return run_evaluation(
            job_name="judged-v1", spec=spec,
            examples=read_evaluation_set(str(eval_set(tmp_path / "set.jsonl")), limit=200),
            tuned_model=world[0], base_model=world[1], predict=prediction.generate,
            journal=journal, shots=SHOTS, ratings=PEOPLE,
            judge=lambda m, i: evaluation.judge("us-central1", m, i))


def test_tuning_beats_zero_shot_but_not_few_shot_and_the_gain_is_over_the_stronger(
        emulator: EmulatorProcess, adapters: Any, tmp_path: Path) -> None:
    """Exact match 4/6 tuned, 1/6 zero-shot, 6/6 few-shot: both baselines are recorded, the
    reason says tuning does not beat the few-shot baseline, the gain bar is against it."""
    world = scripted_world(emulator)
    result = evaluate(emulator, adapters, tmp_path, world,
                      exactMatch={"minGainOverBaseline": 0.1})
    exact = result.metrics["exactMatch"]
    assert (exact.tuned, exact.baseline, exact.few_shot) == (
        pytest.approx(4 / 6, abs=1e-6), pytest.approx(1 / 6, abs=1e-6), 1.0)
    assert result.verdict == "failed" and result.few_shot == 2
    assert "vs few-shot baseline, the stronger, 1.000" in result.reason
    assert "the tuned model does not beat the few-shot baseline on exactMatch" in result.reason


def test_people_decide_whether_a_pointwise_metric_may_gate(
        emulator: EmulatorProcess, adapters: Any, tmp_path: Path) -> None:
    """correctness agrees with people (kappa 1) and passes; clarity disagrees and fails as
    not trusted, with its kappa in the reason; the lowest-scored answers are kept."""
    world = scripted_world(emulator)
    trusted = evaluate(emulator, adapters, tmp_path, world,
                       correctness={"min": 3.5, "minAgreement": 0.7})
    correctness = trusted.metrics["correctness"]
    assert trusted.verdict == "passed", trusted.reason
    assert (correctness.tuned, correctness.kappa, correctness.rated) == (
        pytest.approx((4 * 5 + 2 * 1) / 6, abs=1e-3), 1.0, N)
    lowest = [(w.example, w.score) for w in trusted.worst if w.metric == "correctness"]
    assert lowest == [(4, 1.0), (5, 1.0), (0, 5.0)]  # with the autorater's explanation
    assert all(w.explanation for w in trusted.worst)
    distrusted = evaluate(emulator, adapters, tmp_path, world,
                          clarity={"min": 1.0, "minAgreement": 0.7})
    assert distrusted.verdict == "failed"
    assert distrusted.reason.startswith("clarity: autorater not trusted: kappa -")
    assert "< 0.70 on 6 human-rated examples" in distrusted.reason


@pytest.mark.parametrize(("bar", "verdict"), [(0.5, "passed"), (0.7, "failed")])
def test_a_pairwise_win_rate_gates_both_ways(
        emulator: EmulatorProcess, adapters: Any, tmp_path: Path, bar: float,
        verdict: str) -> None:
    """Three wins, one tie, two losses over zero-shot: a win rate of 3.5/6."""
    world = scripted_world(emulator)
    result = evaluate(emulator, adapters, tmp_path, world, preferred={"minWinRate": bar})
    assert result.metrics["preferred"].tuned == pytest.approx(3.5 / 6, abs=1e-6)
    assert result.verdict == verdict, result.reason


def test_journaled_judgements_are_not_asked_again(
        emulator: EmulatorProcess, adapters: Any, tmp_path: Path) -> None:
    """A second evaluation of the same answers under another bar asks the autorater nothing."""
    world = scripted_world(emulator)
    before = calls(emulator, "EvaluateInstances")
    evaluate(emulator, adapters, tmp_path, world)
    # 2 pointwise metrics × 3 models × 6 examples + 1 pairwise × 6 examples
    assert calls(emulator, "EvaluateInstances") - before == 2 * 3 * N + N
    before = calls(emulator, "EvaluateInstances"), calls(emulator, "GenerateContent")
    again = evaluate(emulator, adapters, tmp_path, world, correctness={"min": 4.5})
    assert (calls(emulator, "EvaluateInstances"), calls(emulator, "GenerateContent")) == before
    # the bill of the answers (tuned, zero-shot, few-shot), the journaled judgements left out
    assert again.usage is not None and again.usage.input > 0


def test_a_run_killed_mid_judging_asks_no_journaled_judgement_again(
        emulator: EmulatorProcess, adapters: Any, tmp_path: Path) -> None:
    """SIGKILL while judging, then resume: only the judgements not journaled are asked."""
    world = scripted_world(emulator)
    path = eval_set(tmp_path / "set.jsonl")
    state = tmp_path / "state"
    prediction, _ = adapters
    with AnswerJournal.for_job(state, "judged-v1") as journal:  # the answers first, no judge
        run_evaluation(job_name="judged-v1", spec=JUDGED_SPEC.model_copy(
                           update={"model_based": []}),
                       examples=read_evaluation_set(str(path), limit=200),
                       tuned_model=world[0], base_model=world[1],
                       predict=prediction.generate, journal=journal, shots=SHOTS)
    journal_file = AnswerJournal.for_job(state, "judged-v1").path
    answers = _lines(journal_file)
    total = 2 * 3 * N + N
    emulator.admin.configure_faults(latency_ms=400)
    try:
        before = calls(emulator, "EvaluateInstances")
        child = subprocess.Popen(
            [sys.executable, str(CHILD), emulator.grpc_endpoint, str(state), str(path),
             *world], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=os.environ.copy())
        deadline = time.monotonic() + 60
        while (_lines(journal_file) < answers + 8 and child.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        emulator.admin.clear_faults()
    judged = _lines(journal_file) - answers
    asked_by_child = calls(emulator, "EvaluateInstances") - before
    assert 8 <= judged < total, "the child must be killed mid-judging"
    assert asked_by_child - judged <= 8  # at most the judgements in flight
    before = calls(emulator, "EvaluateInstances")
    evaluate(emulator, adapters, tmp_path, world)
    assert calls(emulator, "EvaluateInstances") - before == total - judged


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_judgements_the_autorater_cannot_give_make_the_verdict_error(
        emulator: EmulatorProcess, adapters: Any, tmp_path: Path) -> None:
    """A permanent error on more than a tenth of the examples is no verdict on the model."""
    world = scripted_world(emulator)
    emulator.admin.fail_next("EvaluateInstances", "INVALID_ARGUMENT", times=3)
    try:
        result = evaluate(emulator, adapters, tmp_path, world, correctness={"min": 1.0})
    finally:
        emulator.admin.clear_faults()
    assert result.verdict == "error"
    assert result.reason.startswith("the autorater could not judge ")
