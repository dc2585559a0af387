"""Judging as seed 004 asks, through the real operator process and the emulator's autorater:
a few-shot baseline, pointwise metrics trusted only as far as people agree, pairwise win rates.

One operator run settles five jobs that share an evaluation set of six questions. Every tuned
model answers four right; the zero-shot base model one; the base model shown two examples
(`fewShotFrom`) all six. The scripted autorater scores `correctness` as people do and `clarity`
against them, and prefers right answers in `preferred`. A sixth job evaluates all three of its
checkpoints: the middle one answers every question right, the others half.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_aftercare_e2e import events, job_file, settle, status
from tests.operator.reconciling.test_judging import RIGHT, N
from tests.operator.reconciling.test_judging import script as judged_world
from tests.support.emulator_process import EmulatorProcess

pytestmark = pytest.mark.timeout(300)
RUBRICS = """\
    modelBased:
      - name: correctness
        kind: pointwise
        rubric: Score 1-5 how correct {response} is against {reference}.
      - name: clarity
        kind: pointwise
        rubric: Score 1-5 how clear {response} is.
      - name: preferred
        kind: pairwise
        rubric: Which answers {prompt} better, {response} or {baseline_response}?
    humanRatings: evals/human.jsonl
"""
GATES = {
    "fewshot-bot": "exactMatch: {minGainOverBaseline: 0.1}",
    "agree-bot": "correctness: {min: 3.5, minAgreement: 0.7}",
    "disagree-bot": "clarity: {min: 1.0, minAgreement: 0.7}",
    "winner-bot": "preferred: {minWinRate: 0.5}",
    "loser-bot": "preferred: {minWinRate: 0.7}",
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(job_seconds=2, cancel_seconds=0.3) as process:
        yield process


def write_inputs(jobs: Path) -> None:
    evals = jobs / "team" / "evals"
    evals.mkdir(parents=True, exist_ok=True)

    def example(question: str, answer: str) -> str:
        return json.dumps({"contents": [{"role": "user", "parts": [{"text": question}]},
                                        {"role": "model", "parts": [{"text": answer}]}]}) + "\n"

    (evals / "tickets.jsonl").write_text(
        "".join(example(f"question {i}", f"answer {i}") for i in range(N)))
    (evals / "shots.jsonl").write_text(example("shot q", "shot a") + example("shot r", "shot b"))
    (evals / "human.jsonl").write_text("".join(
        json.dumps({"example": i, "metric": metric, "score": 5 if i < RIGHT else 1}) + "\n"
        for metric in ("correctness", "clarity") for i in range(N)))
    for name, gate in GATES.items():
        job_file(jobs, name, spec=(
            "  evaluation:\n    dataset: evals/tickets.jsonl\n    metrics: [exactMatch]\n"
            "    checkpoint: last\n"
            "    baseline: {zeroShot: true, fewShot: 2, fewShotFrom: evals/shots.jsonl}\n"
            f"{RUBRICS}    require: {{{gate}}}\n"))
    job_file(jobs, "ckpt-bot", spec=(
        "  hyperParameters: {epochCount: 3}\n"
        "  evaluation:\n    dataset: evals/tickets.jsonl\n    metrics: [exactMatch]\n"
        "    baseline: false\n    checkpoints: all\n    require: {exactMatch: {min: 0.8}}\n"))


def script(emulator: EmulatorProcess) -> None:
    """The unit tests' world for the five judged jobs; ckpt-bot right on every question at
    checkpoint 2 only."""
    judged_world(emulator, list(GATES), extra=(
        {"model": "tuned:ckpt-bot", "answers": {f"question {i}": f"answer {i}" for i in range(3)}},
        {"model": "tuned:ckpt-bot@2", "answers": {f"question {i}": f"answer {i}"
                                                  for i in range(N)}}))


def test_baselines_autorater_trust_and_win_rates_reach_status_and_events(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Few-shot beats tuning on exact match (failed, said in status and the event); agreeing
    ratings pass, disagreeing ones fail with the kappa; a win rate of 3.5/6 passes 0.5 and
    fails 0.7; each judgement is asked once; `checkpoints: all` picks the best checkpoint,
    not the last."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    write_inputs(jobs)
    script(emulator)
    before = emulator.admin.calls().get("EvaluateInstances", 0)
    settle(emulator, project, jobs, state)
    shown = {name: job["evaluation"] for name, job in status(state, capsys).items()}
    verdicts = {name: e["verdict"] for name, e in shown.items()}  # type: ignore[index]
    assert verdicts == {"fewshot-bot": "failed", "agree-bot": "passed",
                        "disagree-bot": "failed", "winner-bot": "passed",
                        "loser-bot": "failed", "ckpt-bot": "passed"}, shown
    few = shown["fewshot-bot"]
    exact = few["metrics"]["exactMatch"]  # type: ignore[index]
    assert (exact["tuned"], exact["baseline"], exact["fewShot"]) == pytest.approx(
        (4 / 6, 1 / 6, 1.0), abs=1e-5)
    assert few["fewShot"] == 2  # type: ignore[index]
    assert "does not beat the few-shot baseline on exactMatch" in few["reason"]  # type: ignore[index]
    assert shown["agree-bot"]["metrics"]["correctness"]["kappa"] == 1.0  # type: ignore[index]
    assert "clarity: autorater not trusted: kappa -" in shown["disagree-bot"]["reason"]  # type: ignore[index]
    assert shown["winner-bot"]["metrics"]["preferred"]["tuned"] == pytest.approx(  # type: ignore[index]
        3.5 / 6, abs=1e-5)
    chosen = shown["ckpt-bot"]
    assert chosen["checkpoint"] == "2", chosen  # type: ignore[index]
    assert [(c["checkpoint"], c["metrics"]["exactMatch"]["tuned"])  # type: ignore[index]
            for c in chosen["checkpoints"]] == [("1", 0.5), ("2", 1.0), ("3", 0.5)]  # type: ignore[index]
    told = {e["subject"]: e["data"]["evaluation"]  # type: ignore[index]
            for e in events(state, "tuning-operator.job.evaluated.v1")}
    assert told["fewshot-bot"]["metrics"]["exactMatch"]["fewShot"] == 1.0  # type: ignore[index]
    [reason] = [e["data"]["reason"] for e in events(  # type: ignore[index]
        state, "tuning-operator.job.evaluated.v1") if e["subject"] == "fewshot-bot"]
    assert "does not beat the few-shot baseline on exactMatch" in reason  # type: ignore[operator]
    # 5 jobs × (2 pointwise × 3 models + 1 pairwise) × 6 examples: nothing judged twice
    judged = emulator.admin.calls()["EvaluateInstances"] - before
    assert judged == 5 * (2 * 3 + 1) * N
