"""Continuous tuning through the operator process, as a hostile user would try it (issue 26):
the policy at the root, checkpoints, regions, failed parents, parents that leave, the lineage,
retired models and the baseline of a `tunedModel` continuation. Each test asserts what Vertex
(the emulator), `status`, `plan` and the events say afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import adapter, jobs_by_name
from tests.e2e.test_aftercare_e2e import BASE, eval_set, events, job_file, settle, status
from tests.support.emulator_process import EmulatorProcess
from tuning_operator.cli import main

pytestmark = pytest.mark.timeout(300)
PHASES = "tuning-operator.job.phase-changed.v1"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    """Jobs of 2 s."""
    with EmulatorProcess(job_seconds=2, cancel_seconds=0.3) as process:
        yield process


def continuing(jobs: Path, name: str, pre_tuned: str, *, team: str = "team",
               spec: str = "") -> Path:
    """A job file with `preTunedModel` instead of `baseModel`."""
    path = job_file(jobs, name, team=team, spec=spec)
    path.write_text(path.read_text().replace(f"  baseModel: {BASE}\n",
                                             f"  preTunedModel: {pre_tuned}\n"))
    return path


def phases_of(state: Path, job: str) -> list[str]:
    return [str(e["data"]["phase"])  # type: ignore[index]
            for e in events(state, PHASES) if e["subject"] == job]


def test_the_policy_checks_a_chains_root_and_its_team(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """teama may tune only 2.5 Flash: continuing teamb's 2.5 Pro job (by `job:`, allowed to
    continue teamb) and its tuned model (by `tunedModel:`) are Invalid naming the policy;
    teamc, not allowed to continue teamb, is refused by `validate`. None of them is created."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    jobs.mkdir()
    (jobs / "_policy.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: Policy\nteams:\n"
        "  teama: {baseModels: [gemini-2.5-flash], allowContinuingFrom: [teamb]}\n")
    pro = job_file(jobs, "pro", team="teamb")
    pro.write_text(pro.read_text().replace(BASE, "gemini-2.5-pro"))
    continuing(jobs, "by-job", "{job: pro, checkpoint: '2'}", team="teama")
    continuing(jobs, "other-team", "{job: pro}", team="teamc")
    capsys.readouterr()
    assert main(["validate", "--jobs-dir", str(jobs)]) == 1
    told = capsys.readouterr()
    assert "starts from gemini-2.5-pro" in told.out + told.err
    assert "teams.teamc.allowContinuingFrom" in told.out + told.err
    settle(emulator, project, jobs, state)
    tuned = status(state, capsys)["pro"]["tunedModel"]
    continuing(jobs, "by-model", f"{{tunedModel: '{tuned}'}}", team="teama")
    settle(emulator, project, jobs, state)
    shown = status(state, capsys)
    assert shown["by-model"]["phase"] == "Invalid"
    assert "tuned from gemini-2.5-pro" in str(shown["by-model"]["reason"])
    assert "_policy.yaml" in str(shown["by-model"]["reason"])
    assert shown["by-job"]["phase"] == shown["other-team"]["phase"] == "Invalid"
    assert dict(jobs_by_name(emulator, project)) == {"pro": 1}


def test_a_checkpoint_the_parent_lacks_is_invalid_and_never_sent(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`checkpoint: '99'` on a 3-epoch parent: Invalid naming 1, 2, 3; no create."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    job_file(jobs, "parent", spec="  hyperParameters: {epochCount: 3}\n")
    continuing(jobs, "child", "{job: parent, checkpoint: '99'}")
    settle(emulator, project, jobs, state)
    child = status(state, capsys)["child"]
    assert child["phase"] == "Invalid" and "1, 2, 3" in str(child["reason"])
    assert dict(jobs_by_name(emulator, project)) == {"parent": 1}


def test_a_child_without_a_region_is_planned_and_created_in_its_parents(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Parent in europe-west4, child naming none: `plan` says europe-west4, and the child is
    created and succeeds there."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    job_file(jobs, "parent", spec="  region: europe-west4\n")
    continuing(jobs, "child", "{job: parent}")
    capsys.readouterr()
    main(["plan", "--jobs-dir", str(jobs), "--offline", "--format", "json"])
    planned = {a["job"]: a for a in json.loads(capsys.readouterr().out)["actions"]}
    assert planned["child"]["region"] == "europe-west4"
    settle(emulator, project, jobs, state)
    assert status(state, capsys)["child"]["phase"] == "Succeeded"
    with adapter(emulator, project) as vertex:
        [child] = [j for j in vertex.list_managed("europe-west4").jobs if j.job_name == "child"]
    assert child.region == "europe-west4"


def test_a_failed_parent_blocks_its_child_and_the_run_settles(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The parent ends FAILED: the child is Blocked with the reason (an event), and
    `--until-settled` exits 0 (settle asserts it)."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    job_file(jobs, "parent", labels="emulator-outcome: fail")
    continuing(jobs, "child", "{job: parent}")
    settle(emulator, project, jobs, state, deadline=60)
    child = status(state, capsys)["child"]
    assert child["phase"] == "Blocked" and "FAILED" in str(child["reason"])
    assert phases_of(state, "child")[-1] == "Blocked"
    assert dict(jobs_by_name(emulator, project)) == {"parent": 1}


def test_the_lineage_is_recorded_and_the_parent_may_leave(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`checkpoint: best` is decided at run time and recorded (status, events, history); the
    parent's file removed and the child rewritten to the `{tunedModel, checkpointId}` it was
    created from: the child stays Succeeded, never Invalid or in Conflict, created once."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    parent = job_file(jobs, "parent", labels="emulator-curve: overfit",
                      spec="  validationDataset: gs://datasets/team/val.jsonl\n"
                           "  hyperParameters: {epochCount: 5}\n")
    child_file = continuing(jobs, "child", "{job: parent, checkpoint: best}")
    settle(emulator, project, jobs, state, "--max-concurrent-jobs", "4")
    shown = status(state, capsys)
    best = shown["parent"]["diagnosis"]["bestCheckpoint"]["id"]  # type: ignore[index]
    lineage = shown["child"]["lineage"]
    assert isinstance(lineage, dict)
    assert lineage == {"tunedModel": shown["parent"]["tunedModel"], "checkpointId": best,
                       "baseModel": BASE, "job": "parent", "checkpoint": "best"}
    [submitted] = [e for e in events(state, PHASES) if e["subject"] == "child"
                   and e["data"]["phase"] == "Submitted"]  # type: ignore[index]
    assert submitted["data"]["lineage"] == lineage  # type: ignore[index]
    capsys.readouterr()
    assert main(["history", "child", "--state-dir", str(state)]) == 0
    assert f"checkpoint {best}" in capsys.readouterr().out
    parent.unlink()
    settle(emulator, project, jobs, state)
    child_file.write_text(child_file.read_text().replace(
        "{job: parent, checkpoint: best}",
        f"{{tunedModel: '{lineage['tunedModel']}', checkpointId: '{best}'}}"))
    settle(emulator, project, jobs, state)
    assert status(state, capsys)["child"]["phase"] == "Succeeded"
    assert {"Invalid", "Conflict"}.isdisjoint(phases_of(state, "child"))
    assert jobs_by_name(emulator, project)["child"] == 1


def test_a_new_job_on_a_retired_model_is_never_sent(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """gemini-1.5-flash-002: Invalid naming the retirement and the current models; no create."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    old = job_file(jobs, "old")
    old.write_text(old.read_text().replace(BASE, "gemini-1.5-flash-002"))
    job_file(jobs, "new")
    settle(emulator, project, jobs, state)
    shown = status(state, capsys)
    assert shown["old"]["phase"] == "Invalid" and "retired" in str(shown["old"]["reason"])
    assert BASE in str(shown["old"]["reason"])
    assert dict(jobs_by_name(emulator, project)) == {"new": 1}


def test_the_baseline_of_a_tuned_model_continuation_is_its_root(
        emulator: EmulatorProcess, project: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A `tunedModel` continuation with `baseline: true`: the root base model Vertex reports
    answers as the baseline, so the gain is measured and the gate passes."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    job_file(jobs, "parent")
    settle(emulator, project, jobs, state)
    tuned = status(state, capsys)["parent"]["tunedModel"]
    eval_set(jobs / "team" / "evals" / "tickets.jsonl")
    continuing(jobs, "child", f"{{tunedModel: '{tuned}'}}", spec=(
        "  evaluation:\n    dataset: evals/tickets.jsonl\n    metrics: [exactMatch]\n"
        "    baseline: true\n    checkpoint: last\n"
        "    require: {exactMatch: {min: 0.8, minGainOverBaseline: 0.1}}\n"))
    emulator.admin.set_answers([
        {"model": "tuned:child", "default": "no idea",
         "answers": {f"question {i}": f"Answer {i}." for i in range(9)}},
        {"model": BASE, "default": "something else",
         "answers": {f"question {i}": f"Answer {i}." for i in range(3)}}])
    settle(emulator, project, jobs, state)
    evaluation = status(state, capsys)["child"]["evaluation"]
    assert evaluation["verdict"] == "passed", evaluation  # type: ignore[index]
    exact = evaluation["metrics"]["exactMatch"]  # type: ignore[index]
    assert (exact["tuned"], exact["baseline"]) == pytest.approx((0.9, 0.3))
