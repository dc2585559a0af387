"""`plan` with money: estimates from the pre-flight, the change's total, budgets, and a runner
that cannot read the datasets (no credentials) left with its real actions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.operator.cli.test_gitops_datasets import good, job_file, upload
from tuning_operator.cli import main
from tuning_operator.datasets.jobcheck import JobDatasetChecker
from tuning_operator.datasets.objects import DatasetNotFound, DatasetObjects
from tuning_operator.errors import ConfigError
from tuning_operator.specs import load_jobs_dir

POLICY = """apiVersion: tuning-operator/v1
kind: Policy
prices: {currency: USD, training: {gemini-2.5-flash: 5.00}}
budgets: {t: {monthlyTrainingTokens: TOKENS, onExceed: wait}}
"""


def _plan(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, Any]:
    code = main(["plan", "--offline", "--jobs-dir", str(tmp_path), "--check-datasets",
                 "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_estimates_are_the_preflight_tokens_times_epochs(
    tmp_path: Path, gcs_bucket: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each create carries tokens × epochs (the pre-flight's billable figure) and its cost by
    the policy's price; the change's total adds them."""
    (tmp_path / "_policy.yaml").write_text(POLICY.replace("TOKENS", "1000000000"))
    train = upload(gcs_bucket, "t/train.jsonl", good(150))
    job_file(tmp_path, "three", train, "  hyperParameters: {epochCount: 3}\n")
    job_file(tmp_path, "preset", train, "  hyperParameters: {preset: recommended}\n")
    code, document = _plan(tmp_path, capsys)
    assert code == 0
    actions = {a["job"]: a for a in document["actions"]}
    billable = int(re.search(r"≈([\d,]+) billable", actions["three"]["dataset"])
                   .group(1).replace(",", ""))  # type: ignore[union-attr]
    three = actions["three"]["estimate"]
    assert three["estimatedTrainingTokens"] == billable and three["epochs"] == 3
    assert three["estimatedCost"] == round(billable * 5.0 / 1e6, 2)
    preset = actions["preset"]["estimate"]
    assert preset["epochsAssumed"] and preset["epochs"] == 3  # the catalog's assumed default
    assert document["money"]["change"]["trainingTokens"] == billable * 2
    assert "in this change" in document["money"]["change"]["summary"]


def test_the_job_past_the_budget_waits_with_the_numbers(
    tmp_path: Path, gcs_bucket: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """With room for one job, the higher-priority one is created and the other waits, its
    reason giving the team's use, the budget and the job's need; a budget wait is no error."""
    train = upload(gcs_bucket, "t/train.jsonl", good(150))
    job_file(tmp_path, "first", train, "  hyperParameters: {epochCount: 1}\n  priority: 9\n")
    job_file(tmp_path, "second", train, "  hyperParameters: {epochCount: 1}\n")
    (tmp_path / "_policy.yaml").write_text(POLICY.replace("TOKENS", "1"))
    _, probe = _plan(tmp_path, capsys)
    need = probe["actions"][0]["estimate"]["estimatedTrainingTokens"]
    (tmp_path / "_policy.yaml").write_text(POLICY.replace("TOKENS", str(need + need // 2)))
    code, document = _plan(tmp_path, capsys)
    actions = {a["job"]: a for a in document["actions"]}
    assert code == 0
    assert actions["first"]["action"] == "create"
    assert actions["second"]["action"] == "wait"
    assert actions["second"]["reason"].startswith("budget: t has used ")
    assert "training tokens this month; this job needs" in actions["second"]["reason"]


def test_no_credentials_is_said_once_and_no_job_is_invalid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A runner that cannot read gs:// says so once at the top with the fix; every job keeps
    its action with `estimate unknown`, and the exit code is 1 (the check did not run)."""
    def refuse(self: JobDatasetChecker, loaded: object) -> None:
        raise ConfigError("reading gs:// datasets needs Google credentials: run `gcloud auth"
                          " application-default login`")

    monkeypatch.setattr(JobDatasetChecker, "check", refuse)
    for name in ("a", "b"):
        job_file(tmp_path, name, f"gs://bucket-x/t/{name}.jsonl")
    code = main(["plan", "--offline", "--jobs-dir", str(tmp_path), "--check-datasets"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.count("needs Google credentials") == 1 and "gcloud auth" in out
    assert "invalid" not in out.split("\n", 1)[1]
    assert out.count("+ create") == 2 and out.count("estimate unknown: ") == 2
    (tmp_path / "t" / "broken.yaml").write_text("{")  # and a refused file besides: 3 wins
    assert main(["plan", "--offline", "--jobs-dir", str(tmp_path), "--check-datasets"]) == 3


def test_a_bucket_the_runner_may_not_read_is_the_runners_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`permission denied` on the bucket is said once with the fix (a role for the runner's
    identity); the jobs keep their creates, and `validate` still fails the unread data."""
    def denied(self: DatasetObjects, uri: str, *args: object, **kwargs: object) -> None:
        raise DatasetNotFound(f"{uri}: permission denied (403 Forbidden)")

    monkeypatch.setattr(DatasetObjects, "stat", denied)
    for name in ("a", "b"):
        job_file(tmp_path, name, f"gs://bucket-x/t/{name}.jsonl")
    code = main(["plan", "--offline", "--jobs-dir", str(tmp_path), "--check-datasets"])
    out = capsys.readouterr().out
    assert code == 1 and out.count("+ create") == 2
    assert out.count("may not read gs://bucket-x (permission denied)") == 1
    assert "roles/storage.objectViewer" in out
    assert main(["validate", "--jobs-dir", str(tmp_path), "--check-datasets"]) == 1


def test_an_evaluation_adds_its_expected_prediction_tokens(
    tmp_path: Path, gcs_bucket: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The evaluation's questions (at most maxExamples), asked of the tuned and the base model,
    add prediction tokens; without a prediction price the whole estimate is unpriced."""
    (tmp_path / "_policy.yaml").write_text(POLICY.replace("TOKENS", "1000000000"))
    train = upload(gcs_bucket, "t/train.jsonl", good(150))
    (tmp_path / "t" / "evals").mkdir(parents=True)
    (tmp_path / "t" / "evals" / "set.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in good(30, offset=500)))
    job_file(tmp_path, "judged", train, "  hyperParameters: {epochCount: 1}\n  evaluation:\n"
             "    dataset: evals/set.jsonl\n    maxExamples: 20\n    metrics: [exactMatch]\n"
             "    baseline: true\n")
    code, document = _plan(tmp_path, capsys)
    estimate = document["actions"][0]["estimate"]
    report = JobDatasetChecker().check(load_jobs_dir(tmp_path).jobs["judged"]).report
    assert report is not None and report.evaluation is not None
    mean = report.evaluation.stats.tokens_mean
    assert code == 0
    assert estimate["predictionTokens"] == round(20 * mean * 2)  # 20 of 30 asked, twice
    assert estimate["estimatedCost"] is None  # no prediction price for gemini-2.5-flash here
