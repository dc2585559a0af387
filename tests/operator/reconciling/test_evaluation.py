"""The evaluation runner end to end: the emulator in its own process, the real GAPIC client.

The tuned model matches 9 of 10 references and the base model 3, so exact match is 0.9 vs 0.3;
a reachable bar passes, a bar too high fails with the numbers; a run killed with SIGKILL
resumes without asking a journaled example again (counted by the emulator).
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

from tests.support.emulator_process import EmulatorProcess, sample_job
from tuning_operator.datasets.evalset import read_evaluation_set
from tuning_operator.emulator import DURATION_LABEL
from tuning_operator.errors import PermanentError, TemporaryError
from tuning_operator.judging.asking import publisher_model
from tuning_operator.judging.usage import Usage
from tuning_operator.reconciling.evaluation import (
    EndpointUnavailable,
    run_evaluation,
    run_smoke_test,
)
from tuning_operator.specs.evaluation import EvaluationSpec, GenerationConfig, MetricBar
from tuning_operator.state.answers import AnswerJournal
from tuning_operator.state.records import MetricFigures, SmokeTestResult
from tuning_operator.vertex.budget import RequestBudget
from tuning_operator.vertex.clients import emulator_factory
from tuning_operator.vertex.prediction import VertexPrediction

CHILD = Path(__file__).with_name("evaluation_child.py")
BASE = "gemini-2.5-flash"
N = 10


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(job_seconds=60) as process:
        yield process


@pytest.fixture
def prediction(emulator: EmulatorProcess) -> Iterator[VertexPrediction]:
    budget = RequestBudget(crud_per_minute=60_000)
    with VertexPrediction.for_emulator(emulator.grpc_endpoint, budget=budget) as adapter:
        yield adapter


def eval_set(path: Path) -> Path:
    """Ten examples in the training format: question i → answer i."""
    path.write_text("".join(json.dumps({
        "systemInstruction": {"parts": [{"text": "Answer tersely."}]},
        "contents": [{"role": "user", "parts": [{"text": f"question {i}"}]},
                     {"role": "model", "parts": [{"text": f"answer {i}"}]}],
    }) + "\n" for i in range(N)))
    return path


def scripted_world(emulator: EmulatorProcess) -> tuple[str, str]:
    """A succeeded job whose model is right 9 times in 10, a base model right 3 times."""
    project = f"p-{uuid.uuid4().hex[:10]}"
    parent = f"projects/{project}/locations/us-central1"
    name = f"support-bot-{uuid.uuid4().hex[:6]}"
    client = emulator_factory(emulator.grpc_endpoint)("us-central1")
    job = sample_job(labels={DURATION_LABEL: "0"})
    job.tuned_model_display_name = name
    created = client.create_tuning_job(parent=parent, tuning_job=job)
    endpoint = client.get_tuning_job(name=created.name).tuned_model.endpoint
    client.transport.close()
    emulator.admin.set_answers([
        {"model": f"tuned:{name}", "answers": {f"question {i}": f"Answer {i}." for i in range(9)},
         "default": "no idea"},
        {"model": BASE, "answers": {f"question {i}": f"answer {i}" for i in range(3)},
         "default": "something else"},
    ])
    return endpoint, publisher_model(project, "us-central1", BASE)


def spec(**require: MetricBar) -> EvaluationSpec:
    return EvaluationSpec(dataset="evals/set.jsonl", require=require)


def generate_calls(emulator: EmulatorProcess) -> int:
    return emulator.admin.calls().get("GenerateContent", 0)


def test_tuned_model_clears_the_gain_bar_and_a_too_high_bar_fails(
    emulator: EmulatorProcess, prediction: VertexPrediction, tmp_path: Path
) -> None:
    """0.9 vs 0.3 passes minGainOverBaseline 0.1; min 0.95 fails with the numbers; re-judging
    the same answers under another bar asks nothing again."""
    tuned, base = scripted_world(emulator)
    examples = read_evaluation_set(str(eval_set(tmp_path / "set.jsonl")), limit=200)
    journal = AnswerJournal.for_job(tmp_path / "state", "support-bot")
    before, billed = generate_calls(emulator), emulator.admin.usage()
    result = run_evaluation(
        job_name="support-bot", spec=spec(exactMatch=MetricBar(min_gain_over_baseline=0.1)),
        examples=examples, tuned_model=tuned, base_model=base, predict=prediction.generate,
        journal=journal, checkpoint=None,
    )
    assert generate_calls(emulator) - before == 2 * N
    assert result.verdict == "passed", result
    assert result.examples == N and result.failures == () and result.checkpoint is None
    assert result.metrics["exactMatch"] == MetricFigures(tuned=0.9, baseline=0.3, gain=0.6)
    assert set(result.metrics) == {"exactMatch", "bleu", "rougeL"}
    rouge = result.metrics["rougeL"]
    assert rouge.baseline is not None and rouge.tuned > rouge.baseline
    assert "exactMatch gain +0.600" in result.reason
    after = emulator.admin.usage()  # the bill of these 20 answers, as usage_metadata said
    assert result.usage is not None
    assert (result.usage.input, result.usage.output) == (
        after["input"] - billed["input"], after["output"] - billed["output"])

    before = generate_calls(emulator)
    high = run_evaluation(
        job_name="support-bot", spec=spec(exactMatch=MetricBar(min=0.95)), examples=examples,
        tuned_model=tuned, base_model=base, predict=prediction.generate, journal=journal,
    )
    assert generate_calls(emulator) == before
    assert high.usage == result.usage  # the journaled answers' bill, not asked again
    assert high.verdict == "failed"
    assert high.reason == "exactMatch 0.900 < min 0.950"


def test_killed_run_resumes_without_asking_a_journaled_example_again(
    emulator: EmulatorProcess, tmp_path: Path
) -> None:
    """SIGKILL mid-run, then resume: the resumed run asks exactly the unjournaled answers."""
    tuned, base = scripted_world(emulator)
    path = eval_set(tmp_path / "set.jsonl")
    state = tmp_path / "state"
    journal_file = AnswerJournal.for_job(state, "crashy-v1").path
    emulator.admin.configure_faults(latency_ms=300)  # 20 answers take ≥ 6 s: time to kill
    try:
        before = generate_calls(emulator)
        child = subprocess.Popen(
            [sys.executable, str(CHILD), emulator.grpc_endpoint, str(state), str(path), tuned,
             base], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=os.environ.copy())
        deadline = time.monotonic() + 60
        while _lines(journal_file) < 5 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        emulator.admin.clear_faults()
    journaled = _lines(journal_file)
    asked_by_child = generate_calls(emulator) - before
    assert 5 <= journaled < 2 * N, "the child must be killed mid-run"
    assert asked_by_child - journaled <= 2  # at most one in flight per model (tuned, base)

    budget = RequestBudget(crud_per_minute=60_000)
    before = generate_calls(emulator)
    with VertexPrediction.for_emulator(emulator.grpc_endpoint, budget=budget) as prediction, \
            AnswerJournal.for_job(state, "crashy-v1") as journal:
        result = run_evaluation(
            job_name="crashy-v1", spec=EvaluationSpec(dataset="evals/set.jsonl",
                                                      metrics=["exactMatch"]),
            examples=read_evaluation_set(str(path), limit=200), tuned_model=tuned,
            base_model=base, predict=prediction.generate, journal=journal,
        )
    assert generate_calls(emulator) - before == 2 * N - journaled
    assert result.verdict == "passed"
    assert result.metrics["exactMatch"] == MetricFigures(tuned=0.9, baseline=0.3, gain=0.6)
    assert _lines(journal_file) == 2 * N


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_stopping_after_k_calls_is_pending_and_the_next_run_finishes(
    emulator: EmulatorProcess, prediction: VertexPrediction, tmp_path: Path
) -> None:
    """max_calls stops a run (verdict pending); the next run asks only what is left."""
    tuned, base = scripted_world(emulator)
    examples = read_evaluation_set(str(eval_set(tmp_path / "set.jsonl")), limit=200)
    journal = AnswerJournal.for_job(tmp_path / "state", "paced-v1")
    common: dict[str, Any] = dict(job_name="paced-v1", spec=spec(), examples=examples,
                                  tuned_model=tuned, base_model=base,
                                  predict=prediction.generate, journal=journal, concurrency=2)
    before = generate_calls(emulator)
    first = run_evaluation(**common, max_calls=7)
    assert first.verdict == "pending" and first.metrics == {}
    assert generate_calls(emulator) - before == 7
    second = run_evaluation(**common)
    assert generate_calls(emulator) - before == 2 * N
    assert second.verdict == "passed" and second.reason == (
        "no bar in `require`: metrics only")


def test_smoke_test_reports_healthy_and_unhealthy_endpoints(
    emulator: EmulatorProcess, prediction: VertexPrediction, tmp_path: Path
) -> None:
    """One call to a served endpoint is healthy; an unknown endpoint is unhealthy with why."""
    tuned, _ = scripted_world(emulator)
    examples = read_evaluation_set(str(eval_set(tmp_path / "set.jsonl")), limit=1)
    before, billed = generate_calls(emulator), emulator.admin.usage()
    healthy = run_smoke_test(endpoint=tuned, predict=prediction.generate,
                             generation_config=GenerationConfig(), examples=examples)
    after = emulator.admin.usage()  # its answer's bill, as usage_metadata said
    assert healthy == SmokeTestResult(endpoint="healthy", usage=Usage(
        after["input"] - billed["input"], after["output"] - billed["output"]))
    assert run_smoke_test(endpoint=tuned, predict=prediction.generate,
                          generation_config=GenerationConfig(), prompt="ping").healthy
    unknown = tuned.rsplit("/", 1)[0] + "/404"
    sick = run_smoke_test(endpoint=unknown, predict=prediction.generate,
                          generation_config=GenerationConfig(), prompt="ping")
    assert sick.endpoint == "unhealthy" and sick.error and "not found" in sick.error
    assert generate_calls(emulator) - before == 3


def test_unknown_tuned_endpoint_stops_after_the_first_not_found(
    emulator: EmulatorProcess, prediction: VertexPrediction, tmp_path: Path
) -> None:
    """An endpoint that does not exist is an `error` verdict, not 20 paid failures."""
    _, base = scripted_world(emulator)
    examples = read_evaluation_set(str(eval_set(tmp_path / "set.jsonl")), limit=200)
    before = generate_calls(emulator)
    result = run_evaluation(
        job_name="gone-v1", spec=spec(), examples=examples,
        tuned_model=base.split("/publishers/")[0] + "/endpoints/404", base_model=None,
        predict=prediction.generate, journal=AnswerJournal.for_job(tmp_path, "gone-v1"),
        concurrency=1,
    )
    assert result.verdict == "error" and "cannot be asked" in result.reason
    assert generate_calls(emulator) - before == 1


class FlakyPredict:
    """An in-process stand-in: scripted failures per (model, prompt), else the reference."""

    def __init__(self, failing: dict[str, list[Exception]]) -> None:
        self.failing = failing
        self.calls = 0

    def __call__(self, model: str, contents: Any, generation_config: GenerationConfig, *,
                 system_instruction: Any = None) -> str:
        self.calls += 1
        prompt = contents[-1]["parts"][0]["text"]
        queue = self.failing.get(prompt, [])
        if queue:
            raise queue.pop(0)
        return prompt.replace("question", "answer")


# (case, failures per prompt, expected verdict, expected calls, runs, part of the reason)
FLAKY = [
    ("an-outage-pauses-then-answers",
     {"question 1": [TemporaryError("busy", retry_after=0)] * 2},
     "passed", 2 * N + 2, 3, "exactMatch 1.000"),
    ("one-permanent-failure-is-left-out",
     {"question 2": [PermanentError("too long")]}, "passed", 2 * N, 1, "1 unanswered"),
    ("too-many-failures-is-error",
     {f"question {i}": [PermanentError("bad")] for i in range(3)}, "error", 2 * N, 1,
     "3 of 10 examples could not be answered"),
    ("a-long-outage-never-decides-the-verdict",
     {"question 0": [TemporaryError("busy", retry_after=0)] * 6},
     "passed", 2 * N + 6, 7, "exactMatch 1.000"),
]


@pytest.mark.parametrize(("case", "failing", "verdict", "calls", "runs", "reason"), FLAKY,
                         ids=[c[0] for c in FLAKY])
def test_retries_and_failures_per_example(
    tmp_path: Path, case: str, failing: dict[str, list[Exception]], verdict: str, calls: int,
    runs: int, reason: str,
) -> None:
    """An outage pauses the run (one failed call, no sleep) and the next run resumes from the
    journal; only examples the model cannot answer are left out or make the verdict `error`."""
    del case
    examples = read_evaluation_set(str(eval_set(tmp_path / "set.jsonl")), limit=200)
    predict = FlakyPredict(failing)
    for run in range(1, runs + 1):
        before = predict.calls
        try:
            result = run_evaluation(
                job_name="flaky-v1", spec=spec(exactMatch=MetricBar(min=0.5)),
                examples=examples, tuned_model="projects/p/locations/l/endpoints/1",
                base_model="base", predict=predict, concurrency=1,
                journal=AnswerJournal.for_job(tmp_path, "flaky-v1"))
        except EndpointUnavailable as paused:
            assert run < runs, paused
            assert paused.evaluation.verdict == "pending"
            assert "the endpoint is unavailable (busy)" in paused.evaluation.reason
            assert predict.calls - before <= 3  # halted at the first failure, nothing re-asked
            continue
        assert run == runs
    assert result.verdict == verdict, result
    assert predict.calls == calls
    assert reason in result.reason


def test_a_rewritten_set_asks_only_its_changed_examples(tmp_path: Path) -> None:
    """Answers are kept per example digest: after rewriting 3 questions, moving the rest one
    line down and changing every reference, only the 3 new questions are asked (twice each,
    tuned and base), and the verdict judges the new references."""
    path = eval_set(tmp_path / "set.jsonl")
    predict = FlakyPredict({})

    def evaluate() -> Any:
        examples = read_evaluation_set(str(path), limit=200)
        return run_evaluation(
            job_name="rewritten-v1", spec=spec(exactMatch=MetricBar(min=0.5)),
            examples=examples, tuned_model="projects/p/locations/l/endpoints/1",
            base_model="base", predict=predict,
            journal=AnswerJournal.for_job(tmp_path, "rewritten-v1"))

    assert evaluate().verdict == "passed" and predict.calls == 2 * N
    lines = path.read_text().splitlines()
    rewritten = [line.replace("answer", "reply") for line in lines]
    for i in range(3):
        rewritten[i] = rewritten[i].replace(f"question {i}\"", f"question {i} again\"")
    path.write_text("\n".join(['{"not": "an example"}', *rewritten]) + "\n")
    result = evaluate()
    assert predict.calls == 2 * N + 2 * 3
    assert result.verdict == "failed" and result.examples == N  # references say "reply" now
