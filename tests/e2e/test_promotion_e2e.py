"""Promotion by pull request, through the real operator process and the emulator: a ModelAlias
moves on a passed gate (seen through the real ModelServiceClient, the event and `aliases`),
holds on a failed one, moves between versions of one Model, and a revert moves it back."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions as api
from google.cloud import aiplatform_v1

from tests.e2e.conftest import operator_args, run_in_process
from tests.support.emulator_process import EmulatorProcess
from tuning_operator.cli import main
from tuning_operator.vertex.clients import emulator_service_factory

pytestmark = pytest.mark.timeout(300)
EVALUATION = ("  evaluation:\n    dataset: evals/tickets.jsonl\n    metrics: [exactMatch]\n"
              "    checkpoint: last\n    require: {exactMatch: {min: 0.8}}\n")


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(job_seconds=3, cancel_seconds=0.3) as process:
        yield process


@pytest.fixture
def models(emulator: EmulatorProcess) -> Iterator[Any]:
    client = emulator_service_factory(aiplatform_v1.ModelServiceClient,
                                      emulator.grpc_endpoint)("us-central1")
    yield client
    client.transport.close()


BASE = "  baseModel: gemini-2.5-flash\n"


def job_file(jobs: Path, name: str, spec: str = BASE) -> None:
    (jobs / "support").mkdir(parents=True, exist_ok=True)
    (jobs / "support" / f"{name}.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata:\n"
        f"  name: {name}\nspec:\n{spec}"
        "  trainingDataset: gs://datasets/support/train.jsonl\n" + EVALUATION)


def alias_file(jobs: Path, job: str) -> None:
    (jobs / "support" / "ticket-router.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: ModelAlias\nmetadata: {name: ticket-router}\n"
        f"spec: {{job: {job}}}\n")


def settle(emulator: EmulatorProcess, project: str, jobs: Path, state: Path) -> None:
    done = run_in_process(emulator, project, jobs, state, "--until-settled", "--deadline", "90",
                          timeout=150)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]


def aliases(state: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["aliases", "--state-dir", str(state), "--format", "json"]) == 0
    [only] = json.loads(capsys.readouterr().out)["aliases"]
    return dict(only)


def tuned_models(state: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    capsys.readouterr()
    assert main(["status", "--state-dir", str(state), "--format", "json"]) == 0
    return {j["name"]: j["tunedModel"] for j in json.loads(capsys.readouterr().out)["jobs"]}


def events(state: Path, kind: str) -> list[dict[str, Any]]:
    lines = (state / "events.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["type"] == kind]


def on(models: Any, version: str) -> list[str]:
    """The aliases Vertex shows on one Model version."""
    return [a for a in models.get_model(name=version).version_aliases if a != "default"]


def test_promote_hold_move_within_a_model_and_revert(
        emulator: EmulatorProcess, models: Any, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """passed → promoted; failed → held where it is; a continuation with the parent's display
    name is version 2 of the same Model and the alias moves between the versions; reverting
    the file moves it back to the first job's Model (and off the other)."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    (jobs / "support" / "evals").mkdir(parents=True)
    (jobs / "support" / "evals" / "tickets.jsonl").write_text("".join(json.dumps({"contents": [
        {"role": "user", "parts": [{"text": f"ticket {i}"}]},
        {"role": "model", "parts": [{"text": f"queue-{i}"}]}]}) + "\n" for i in range(5)))
    right = {f"ticket {i}": f"queue-{i}" for i in range(5)}
    emulator.admin.set_answers([
        {"model": f"tuned:{name}", "answers": right, "default": "?"}
        for name in ("router-v2", "router-b")])  # router-v3 answers "no idea": it fails
    job_file(jobs, "router-v2")
    job_file(jobs, "router-v3")
    job_file(jobs, "router-v4", "  baseModel: gemini-2.5-flash\n"
             "  tunedModelDisplayName: router-b\n")
    job_file(jobs, "router-v5", "  preTunedModel: {job: router-v4, checkpoint: last}\n"
             "  tunedModelDisplayName: router-b\n")
    alias_file(jobs, "router-v2")
    settle(emulator, project, jobs, state)
    tuned = tuned_models(state, capsys)
    v2 = tuned["router-v2"]
    assert on(models, v2) == ["ticket-router"]
    shown = aliases(state, capsys)
    assert (shown["job"], shown["modelVersion"], shown["hold"]) == ("router-v2", v2, None)
    assert shown["endpoint"] and shown["checkpoint"]
    [promoted] = events(state, "tuning-operator.alias.promoted.v1")
    assert promoted["subject"] == "support/ticket-router"
    assert (promoted["data"]["alias"], promoted["data"]["job"]) == ("ticket-router", "router-v2")
    assert promoted["data"]["modelVersion"] == v2

    alias_file(jobs, "router-v3")  # its gate fails: the alias stays on router-v2
    capsys.readouterr()
    main(["plan", "--jobs-dir", str(jobs), "--vertex-endpoint", emulator.grpc_endpoint,
          "--project", project, "--state-dir", str(state), "--settle", "0",
          "--format", "markdown"])
    plan = capsys.readouterr().out
    assert "evaluation of router-v3 failed" in plan and "stays on router-v2" in plan
    settle(emulator, project, jobs, state)
    assert on(models, v2) == ["ticket-router"]
    held = aliases(state, capsys)
    assert held["job"] == "router-v2" and "evaluation of router-v3 failed" in held["hold"]
    assert len(events(state, "tuning-operator.alias.held.v1")) == 1
    capsys.readouterr()
    assert main(["status", "--state-dir", str(state), "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)["aliases"]["support/ticket-router"]
    assert status["hold"] == held["hold"]

    v4, v5 = tuned["router-v4"], tuned["router-v5"]
    model = v4.partition("@")[0]
    assert (v4, v5) == (f"{model}@1", f"{model}@2")  # one Model, two versions
    alias_file(jobs, "router-v4")
    settle(emulator, project, jobs, state)
    assert on(models, v4) == ["ticket-router"]
    with pytest.raises(api.NotFound):  # taken off the other Model
        models.get_model(name=f"{v2.partition('@')[0]}@ticket-router")
    alias_file(jobs, "router-v5")
    settle(emulator, project, jobs, state)
    assert models.get_model(name=f"{model}@ticket-router").version_id == "2"
    assert on(models, v4) == []  # Vertex moved it within the Model

    alias_file(jobs, "router-v2")  # the revert
    settle(emulator, project, jobs, state)
    assert on(models, v2) == ["ticket-router"]
    with pytest.raises(api.NotFound):
        models.get_model(name=f"{model}@ticket-router")
    told = [e["data"]["modelVersion"] for e in events(state, "tuning-operator.alias.promoted.v1")]
    assert told == [v2, v4, v5, v2]
    capsys.readouterr()
    assert main(["history", "ticket-router", "--state-dir", str(state)]) == 0
    assert capsys.readouterr().out.count(" promoted: ") == 4

    (jobs / "support" / "evals" / "tickets.jsonl").write_text("".join(json.dumps({"contents": [
        {"role": "user", "parts": [{"text": f"ticket {i}"}]},
        {"role": "model", "parts": [{"text": f"queue-{i + 1}"}]}]}) + "\n" for i in range(5)))
    settle(emulator, project, jobs, state)  # a new set: router-v2 is judged again and fails
    stale = aliases(state, capsys)
    assert (stale["job"], stale["noLongerPassing"]) == ("router-v2", True)
    assert stale["hold"].startswith("no longer passing: evaluation of router-v2 failed")
    assert on(models, v2) == ["ticket-router"]  # it stays: a human decides
    assert events(state, "tuning-operator.alias.held.v1")[-1]["data"]["noLongerPassing"]


def test_kill_during_a_promotion_converges_after_restart(
        emulator: EmulatorProcess, models: Any, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """kill -9 while MergeVersionAliases is being retried: after a restart the alias is on
    exactly one version (the new one) and the record, `aliases` and the events agree."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    (jobs / "support" / "evals").mkdir(parents=True)
    (jobs / "support" / "evals" / "tickets.jsonl").write_text(json.dumps({"contents": [
        {"role": "user", "parts": [{"text": "ticket 0"}]},
        {"role": "model", "parts": [{"text": "queue-0"}]}]}) + "\n")
    emulator.admin.set_answers([{"model": "tuned:router-k", "answers": {"ticket 0": "queue-0"},
                                 "default": "?"}])
    job_file(jobs, "router-k1", BASE + "  tunedModelDisplayName: router-k\n")
    job_file(jobs, "router-k2", "  preTunedModel: {job: router-k1, checkpoint: last}\n"
             "  tunedModelDisplayName: router-k\n")
    alias_file(jobs, "router-k1")
    settle(emulator, project, jobs, state)
    model = tuned_models(state, capsys)["router-k1"].partition("@")[0]

    alias_file(jobs, "router-k2")
    emulator.admin.fail_next("MergeVersionAliases", "UNAVAILABLE", times=1000)
    process = subprocess.Popen(operator_args(emulator, project, jobs, state),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "→ router-k2" not in _trail(state):
            time.sleep(0.05)
        assert "→ router-k2" in _trail(state)  # the promote is under way (audited first)
        time.sleep(0.5)  # inside the retries of MergeVersionAliases
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        emulator.admin.clear_faults()
    assert aliases(state, capsys)["job"] == "router-k1"  # the record was not moved early
    settle(emulator, project, jobs, state)
    carrying = [m.version_id for m in models.list_model_versions(name=model)
                if "ticket-router" in m.version_aliases]
    assert carrying == ["2"]
    shown = aliases(state, capsys)
    assert (shown["job"], shown["modelVersion"], shown["previousJob"]) == (
        "router-k2", f"{model}@2", "router-k1")
    told = {e["id"]: e["data"]["job"]
            for e in events(state, "tuning-operator.alias.promoted.v1")}
    assert sorted(told.values()) == ["router-k1", "router-k2"]


def _trail(state: Path) -> str:
    path = state / "audit.jsonl"
    return path.read_text() if path.exists() else ""
