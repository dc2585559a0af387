"""After the create, through the real operator process: curves, diagnosis, smoke test,
evaluation and gate; the global quota across regions; a job continuing another's checkpoint.

The emulator runs in its own process and the operator talks to it with the real clients; the
assertions read what `status --format json`, the events and the emulator say afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import adapter, operator_args, run_in_process, run_operator
from tests.support.emulator_process import EmulatorProcess
from tuning_operator.cli import main
from tuning_operator.emulator import METRICS_METHODS

pytestmark = pytest.mark.timeout(300)
BASE = "gemini-2.5-flash"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    """Jobs of 4 s; one global quota of 2 concurrent jobs across regions."""
    with EmulatorProcess(job_seconds=4, cancel_seconds=0.3, max_active=2,
                         quota_scope="global") as process:
        yield process


def job_file(jobs: Path, name: str, *, team: str = "team", labels: str = "",
             spec: str = "") -> Path:
    (jobs / team).mkdir(parents=True, exist_ok=True)
    path = jobs / team / f"{name}.yaml"
    path.write_text(
        "apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata:\n"
        f"  name: {name}\n  labels: {{{labels}}}\nspec:\n  baseModel: {BASE}\n"
        f"  trainingDataset: gs://datasets/{team}/train.jsonl\n{spec}")
    return path


def status(state: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    capsys.readouterr()
    assert main(["status", "--state-dir", str(state), "--format", "json"]) == 0
    return {job["name"]: job for job in json.loads(capsys.readouterr().out)["jobs"]}


def events(state: Path, kind: str) -> list[dict[str, object]]:
    lines = (state / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if json.loads(line)["type"] == kind]


def settle(emulator: EmulatorProcess, project: str, jobs: Path, state: Path, *extra: str,
           deadline: int = 120) -> None:
    done = run_in_process(emulator, project, jobs, state, "--until-settled", "--deadline",
                          str(deadline), *extra, timeout=deadline + 60)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]


def test_four_curve_shapes_get_four_verdicts_and_the_overfit_names_its_best_checkpoint(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """healthy, overfit, underfit, data-problem → their verdicts in status and as events; the
    metrics calls are paced (a handful per job, not one per pass)."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    shapes = {"healthy": "healthy", "overfit": "overfitting", "underfit": "underfitting",
              "data-problem": "data-problem"}
    for shape in shapes:
        job_file(jobs, f"curve-{shape}", labels=f"emulator-curve: {shape}",
                 spec="  validationDataset: gs://datasets/team/val.jsonl\n"
                      "  hyperParameters: {epochCount: 5}\n")
    before = emulator.admin.calls()
    settle(emulator, project, jobs, state, "--max-concurrent-jobs", "4")
    shown = status(state, capsys)
    verdicts = {name.removeprefix("curve-"): job["diagnosis"]["verdict"]  # type: ignore[index]
                for name, job in shown.items()}
    assert verdicts == shapes
    told = {e["subject"]: e["data"]["verdict"] for e in events(  # type: ignore[index]
        state, "tuning-operator.job.diagnosed.v1")}
    assert told == {f"curve-{s}": v for s, v in shapes.items()}
    overfit = shown["curve-overfit"]
    best = overfit["diagnosis"]["bestCheckpoint"]  # type: ignore[index]
    stored = json.loads((state / "metrics" / "curve-overfit.json").read_text())
    lowest = min(stored["series"]["/eval_total_loss"], key=lambda p: p[1])
    steps = sorted(c["step"] for c in stored["checkpoints"])
    assert best["step"] == min(steps, key=lambda s: abs(s - lowest[0]))
    assert best["step"] < steps[-1]  # not simply the last one
    after = emulator.admin.calls()
    metric_calls = sum(after.get(m, 0) - before.get(m, 0) for m in METRICS_METHODS)
    # A first read costs 5 requests, later ones 2; 4 s jobs are read at most twice each.
    assert 4 * 5 <= metric_calls <= 4 * (5 + 2 * 2), metric_calls
    capsys.readouterr()
    assert main(["history", "curve-overfit", "--state-dir", str(state)]) == 0
    assert "diagnosed: overfitting" in capsys.readouterr().out


def test_a_nan_curve_is_diverged_with_no_best_checkpoint_and_a_marked_chart(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`emulator-curve: nan` (3 epochs: finite to step 19, NaN from step 20, the first
    checkpoint's) → `diverged` in status and in its last diagnosed event, no best checkpoint;
    the metrics file stays strict JSON and the report marks the step the curve stopped at."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    job_file(jobs, "curve-nan", labels="emulator-curve: nan",
             spec="  validationDataset: gs://datasets/team/val.jsonl\n")
    settle(emulator, project, jobs, state)
    diagnosis = status(state, capsys)["curve-nan"]["diagnosis"]
    assert diagnosis["verdict"] == "diverged", diagnosis  # type: ignore[index]
    assert diagnosis["bestCheckpoint"] is None  # type: ignore[index]
    assert "NaN from step 20" in diagnosis["reason"]  # type: ignore[index]
    assert "learningRateMultiplier" in diagnosis["mitigation"]  # type: ignore[index]
    told = [e["data"] for e in events(state, "tuning-operator.job.diagnosed.v1")
            if e["subject"] == "curve-nan"]
    assert told and told[-1]["verdict"] == "diverged"  # type: ignore[index]
    assert told[-1]["bestCheckpoint"] is None  # type: ignore[index]
    raw = (state / "metrics" / "curve-nan.json").read_text()
    stored = json.loads(raw, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    losses = [value for _, value in stored["series"]["/train_total_loss"]]
    assert len(losses) == 60 and all(isinstance(v, float) for v in losses[:19])
    assert set(losses[19:]) == {"NaN"}
    assert [c["step"] for c in stored["checkpoints"]] == [20, 40, 60]
    page = tmp_path / "curve-nan.html"
    capsys.readouterr()
    assert main(["report", "curve-nan", "--state-dir", str(state), "--output", str(page)]) == 0
    html = page.read_text()
    assert "training loss not finite (NaN or ±inf) from step 20" in html
    assert "diagnosis: diverged" in html


def eval_set(path: Path, count: int = 10) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"contents": [
        {"role": "user", "parts": [{"text": f"question {i}"}]},
        {"role": "model", "parts": [{"text": f"Answer {i}."}]}]}) + "\n" for i in range(count)))


def test_evaluation_against_the_base_model_passes_or_fails_the_reviewed_gate(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Tuned right 9 of 10, base 3: exactMatch 0.9 vs 0.3 passes a gain of 0.1; a bar of 0.95
    fails with the numbers in the reason; each answer is asked once."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    eval_set(jobs / "team" / "evals" / "tickets.jsonl")
    evaluation = ("  evaluation:\n    dataset: evals/tickets.jsonl\n"
                  "    metrics: [exactMatch, bleu]\n    baseline: true\n    checkpoint: last\n"
                  "    require: {exactMatch: {%s}}\n")
    job_file(jobs, "good-bot", spec=evaluation % "min: 0.8, minGainOverBaseline: 0.1")
    job_file(jobs, "picky-bot", spec=evaluation % "min: 0.95")
    emulator.admin.set_answers([
        *({"model": f"tuned:{name}", "answers": {f"question {i}": f"Answer {i}." for i in range(9)},
           "default": "no idea"} for name in ("good-bot", "picky-bot")),
        {"model": BASE, "answers": {f"question {i}": f"Answer {i}." for i in range(3)},
         "default": "something else"}])
    before = emulator.admin.calls().get("GenerateContent", 0)
    settle(emulator, project, jobs, state)
    shown = status(state, capsys)
    good = shown["good-bot"]["evaluation"]
    assert good["verdict"] == "passed", good  # type: ignore[index]
    exact = good["metrics"]["exactMatch"]  # type: ignore[index]
    assert (exact["tuned"], exact["baseline"]) == pytest.approx((0.9, 0.3))
    picky = shown["picky-bot"]["evaluation"]
    assert picky["verdict"] == "failed"  # type: ignore[index]
    assert "0.900" in picky["reason"] and "0.950" in picky["reason"]  # type: ignore[index]
    assert shown["good-bot"]["smokeTest"]["endpoint"] == "healthy"  # type: ignore[index]
    told = {e["subject"]: e["data"]["evaluation"]["verdict"]  # type: ignore[index]
            for e in events(state, "tuning-operator.job.evaluated.v1")}
    assert told == {"good-bot": "passed", "picky-bot": "failed"}
    # 2 jobs × (1 smoke test + 10 examples × 2 models): nothing asked twice.
    assert emulator.admin.calls()["GenerateContent"] - before == 2 * (1 + 20)
    capsys.readouterr()
    assert main(["report", "good-bot", "--state-dir", str(state), "--format", "markdown"]) == 0
    assert "exactMatch" in capsys.readouterr().out


def test_a_rewritten_evaluation_set_is_judged_again_and_flips_the_verdict(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The same job file, its evaluation set's references rewritten: `plan` says the set
    changed, the next run judges the answers again against the new references (the questions
    are unchanged, so their answers are reused: no call) and the verdict flips."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    eval_set(jobs / "team" / "evals" / "tickets.jsonl")
    job_file(jobs, "flip-bot", spec="  evaluation:\n    dataset: evals/tickets.jsonl\n"
             "    metrics: [exactMatch]\n    checkpoint: last\n"
             "    require: {exactMatch: {min: 0.8}}\n")
    emulator.admin.set_answers([{"model": "tuned:flip-bot", "default": "no idea",
                                 "answers": {f"question {i}": f"Answer {i}." for i in range(10)}}])
    settle(emulator, project, jobs, state)
    assert status(state, capsys)["flip-bot"]["evaluation"]["verdict"] == "passed"  # type: ignore[index]
    path = jobs / "team" / "evals" / "tickets.jsonl"
    path.write_text(path.read_text().replace("Answer", "Reply"))  # the job file is untouched
    capsys.readouterr()
    main(["plan", "--jobs-dir", str(jobs), "--vertex-endpoint", emulator.grpc_endpoint,
          "--project", project, "--state-dir", str(state), "--settle", "0", "--format", "json"])
    actions = json.loads(capsys.readouterr().out)["actions"]
    [due] = [a for a in actions if (a["job"], a["action"]) == ("flip-bot", "evaluate")]
    assert "evaluation set" in due["reason"], due
    before = emulator.admin.calls().get("GenerateContent", 0)
    settle(emulator, project, jobs, state)
    evaluation = status(state, capsys)["flip-bot"]["evaluation"]
    assert evaluation["verdict"] == "failed", evaluation  # type: ignore[index]
    # Same questions: every answer is reused by its example digest; only the verdict changes.
    assert emulator.admin.calls()["GenerateContent"] - before == 0
    told = [e["data"]["evaluation"]["verdict"]  # type: ignore[index]
            for e in events(state, "tuning-operator.job.evaluated.v1")]
    assert told == ["passed", "failed"]


def test_a_rewritten_gs_evaluation_set_is_judged_again_by_its_generation(
        emulator: EmulatorProcess, project: str, tmp_path: Path, gcs_bucket: Any,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A gs:// set rewritten in place (same URI, a new generation): while its generation
    cannot be read `plan` holds the verdict and says why; once read, `plan` says the set
    changed and the next run judges the reused answers against the new references."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    local = tmp_path / "tickets.jsonl"
    eval_set(local)
    blob = gcs_bucket.blob("evals/tickets.jsonl")
    blob.upload_from_filename(str(local))
    job_file(jobs, "gcs-flip-bot", spec="  evaluation:\n"
             f"    dataset: gs://{gcs_bucket.name}/evals/tickets.jsonl\n"
             "    metrics: [exactMatch]\n    checkpoint: last\n"
             "    require: {exactMatch: {min: 0.8}}\n")
    emulator.admin.set_answers([{"model": "tuned:gcs-flip-bot", "default": "no idea",
                                 "answers": {f"question {i}": f"Answer {i}." for i in range(10)}}])
    settle(emulator, project, jobs, state, "--check-datasets", "off")
    assert status(state, capsys)["gcs-flip-bot"]["evaluation"]["verdict"] == "passed"  # type: ignore[index]
    blob.upload_from_string(local.read_text().replace("Answer", "Reply"))  # same URI

    def planned() -> dict[str, Any]:
        capsys.readouterr()
        main(["plan", "--jobs-dir", str(jobs), "--vertex-endpoint", emulator.grpc_endpoint,
              "--project", project, "--state-dir", str(state), "--settle", "0",
              "--format", "json"])
        document: dict[str, Any] = json.loads(capsys.readouterr().out)
        return document

    storage = os.environ["STORAGE_EMULATOR_HOST"]
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9")  # storage unreachable
    unread = planned()
    assert [a for a in unread["actions"] if a["action"] == "evaluate"] == []
    [held] = [a for a in unread["holding"] if a["job"] == "gcs-flip-bot"]
    assert "generation cannot be read" in held["reason"], held
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", storage)
    [due] = [a for a in planned()["actions"]
             if (a["job"], a["action"]) == ("gcs-flip-bot", "evaluate")]
    assert due["reason"].startswith("the evaluation set or its settings changed"), due
    before = emulator.admin.calls().get("GenerateContent", 0)
    settle(emulator, project, jobs, state, "--check-datasets", "off")
    evaluation = status(state, capsys)["gcs-flip-bot"]["evaluation"]
    assert evaluation["verdict"] == "failed", evaluation  # type: ignore[index]
    assert emulator.admin.calls()["GenerateContent"] - before == 0  # answers reused
    told = [e["data"]["evaluation"]["verdict"]  # type: ignore[index]
            for e in events(state, "tuning-operator.job.evaluated.v1")]
    assert told == ["passed", "failed"]


def test_the_quota_is_global_across_regions_and_admits_by_priority(
        emulator: EmulatorProcess, project: str, tmp_path: Path) -> None:
    """Four jobs in two regions with a global quota of 2: never more than 2 active at once,
    and the two of highest priority (one per region) go first."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    for name, region, priority in [("low-us", "us-central1", 0), ("high-eu", "europe-west4", 9),
                                   ("high-us", "us-central1", 8), ("low-eu", "europe-west4", 1)]:
        job_file(jobs, name, spec=f"  region: {region}\n  priority: {priority}\n")
    peak: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak.append(emulator.admin.active(project)["active"])
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        settle(emulator, project, jobs, state, "--max-concurrent-jobs", "2",
               "--quota-regions", "europe-west4")
    finally:
        stop.set()
        sampler.join(timeout=5)
    assert max(peak) == 2 and emulator.admin.active(project)["peak"] <= 2
    with adapter(emulator, project) as vertex:
        listed = [*vertex.list_managed("us-central1").jobs, *vertex.list_managed(
            "europe-west4").jobs]
    order = [j.job_name for j in sorted(listed, key=lambda j: (j.create_time, j.name))]
    assert set(order[:2]) == {"high-eu", "high-us"}


def test_a_job_continues_another_only_after_it_succeeded(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`preTunedModel: {job, checkpoint: best}` waits for the parent's success and diagnosis,
    then is created with pre_tuned_model naming the parent's tuned model and checkpoint."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    job_file(jobs, "parent", labels="emulator-curve: overfit",
             spec="  validationDataset: gs://datasets/team/val.jsonl\n"
                  "  hyperParameters: {epochCount: 5}\n")
    path = job_file(jobs, "child", spec="  preTunedModel: {job: parent, checkpoint: best}\n")
    path.write_text(path.read_text().replace(f"  baseModel: {BASE}\n", ""))
    done = run_operator(emulator, project, jobs, state, "--once")
    assert done.returncode == 0, done.stderr[-3000:]
    child = status(state, capsys)["child"]
    assert child["phase"] == "Waiting" and "parent" in str(child["reason"])
    settle(emulator, project, jobs, state, "--max-concurrent-jobs", "4")
    shown = status(state, capsys)
    best = shown["parent"]["diagnosis"]["bestCheckpoint"]["id"]  # type: ignore[index]
    with adapter(emulator, project) as vertex:
        client = vertex._clients.for_region("us-central1")
        [created] = [j for j in client.list_tuning_jobs(
            parent=f"projects/{project}/locations/us-central1")
            if j.labels.get("tuning-operator-job") == "child"]
    assert created.pre_tuned_model.tuned_model_name == shown["parent"]["tunedModel"]
    assert created.pre_tuned_model.checkpoint_id == best
    assert shown["child"]["phase"] == "Succeeded"


def test_kill_9_during_an_evaluation_resumes_without_paying_twice(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The operator killed with SIGKILL mid-evaluation: the restart asks only what was not yet
    journaled (at most the 8 requests in flight per endpoint again, and the smoke test)."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    eval_set(jobs / "team" / "evals" / "big.jsonl", count=200)
    job_file(jobs, "big-bot", spec="  evaluation:\n    dataset: evals/big.jsonl\n"
             "    maxExamples: 200\n    baseline: false\n    checkpoint: last\n")
    emulator.admin.set_answers([{"model": "tuned:big-bot", "answers": {}, "default": "x"}])
    before = emulator.admin.calls().get("GenerateContent", 0)
    emulator.admin.configure_faults(latency_ms=25)  # 50 answers take about a third of a second
    process = subprocess.Popen(operator_args(emulator, project, jobs, state),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if emulator.admin.calls().get("GenerateContent", 0) - before >= 60:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        emulator.admin.configure_faults(latency_ms=0)
    asked = emulator.admin.calls()["GenerateContent"] - before
    assert 60 <= asked < 201, "the kill did not land mid-evaluation: nothing was tested"
    settle(emulator, project, jobs, state)
    total = emulator.admin.calls()["GenerateContent"] - before
    assert 201 <= total <= 201 + 8 + 1, total
    evaluation = status(state, capsys)["big-bot"]["evaluation"]
    assert evaluation["verdict"] == "passed" and evaluation["examples"] == 200  # type: ignore[index]
