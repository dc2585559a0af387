"""Money end to end: the operator process, the emulator and fake-gcs-server; two teams, priced
models, one budget. The plan's estimates are the pre-flight's tokens × epochs; the job that
would cross the budget waits with the numbers and is created once the policy raises it;
`spend` reports billed vs estimated, prediction tokens as the emulator billed them; the events
carry the cost."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import jobs_by_name, run_operator
from tests.operator.cli.test_gitops_datasets import good, upload
from tests.support.emulator_process import EmulatorProcess
from tuning_operator.cli import main
from tuning_operator.datasets.local_gcs import LocalGcsServer

POLICY = """apiVersion: tuning-operator/v1
kind: Policy
prices: {currency: USD, training: {gemini-2.5-flash: 5.00}}
budgets: {support: {monthlyTrainingTokens: LIMIT, onExceed: wait}}
"""


EVALUATION = """  evaluation:
    dataset: evals/k.jsonl
    metrics: [exactMatch]
    baseline: true
    checkpoint: last
"""


def _job(root: Path, team: str, name: str, train: str, priority: int, extra: str = "") -> None:
    (root / team).mkdir(parents=True, exist_ok=True)
    (root / team / f"{name}.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: TuningJob\n"
        f"metadata:\n  name: {name}\nspec:\n  baseModel: gemini-2.5-flash\n"
        f"  trainingDataset: {train}\n  hyperParameters: {{epochCount: 2}}\n"
        f"  priority: {priority}\n{extra}")


def _evaluation_set(path: Path, count: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"contents": [
        {"role": "user", "parts": [{"text": f"question {i} " + "word " * i}]},
        {"role": "model", "parts": [{"text": f"Answer {i}."}]}]}) + "\n" for i in range(count)))


def test_budget_wait_then_created_when_raised(
    emulator: EmulatorProcess, project: str, tmp_path: Path, gcs_bucket: Any,
    fake_gcs: LocalGcsServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """Support's third job would cross its budget: it waits with the numbers, the run still
    settles, and once the budget is raised it is created; `spend` shows both figures."""
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    train = upload(gcs_bucket, "support/train.jsonl", good(150))
    for name, priority in (("s1", 9), ("s2", 5), ("s3", 1)):
        _job(jobs, "support", name, train, priority)
    _job(jobs, "knowledge", "k1", train, 1, EVALUATION)
    _evaluation_set(jobs / "knowledge" / "evals" / "k.jsonl", 6)
    (jobs / "_policy.yaml").write_text(POLICY.replace("LIMIT", "1"))

    assert main(["plan", "--offline", "--jobs-dir", str(jobs), "--check-datasets",
                 "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    actions = {a["job"]: a for a in document["actions"]}
    billable = int(re.search(r"≈([\d,]+) billable", actions["k1"]["dataset"])
                   .group(1).replace(",", ""))  # type: ignore[union-attr]
    need = actions["k1"]["estimate"]["estimatedTrainingTokens"]
    assert need == billable  # the pre-flight's tokens × 2 epochs
    (jobs / "_policy.yaml").write_text(POLICY.replace("LIMIT", str(need * 2 + need // 2)))
    main(["plan", "--offline", "--jobs-dir", str(jobs), "--check-datasets",
          "--format", "markdown"])
    markdown = capsys.readouterr().out
    assert "in this change**" in markdown and "- support: used" in markdown
    assert len(markdown) < 60_000

    env = {"STORAGE_EMULATOR_HOST": fake_gcs.url}
    billed_before = emulator.admin.usage()
    first = run_operator(emulator, project, jobs, state, "--until-settled", "--deadline", "60",
                         env=env)
    assert first.returncode == 0, first.stdout[-3000:]
    assert jobs_by_name(emulator, project) == {"s1": 1, "s2": 1, "k1": 1}
    status = json.loads((state / "status.json").read_text())["jobs"]
    assert status["s3"]["phase"] == "Waiting"
    assert status["s3"]["reason"].startswith("budget: support has used ")
    assert "this job needs" in status["s3"]["reason"]
    events = [json.loads(x)["data"] for x in (state / "events.jsonl").read_text().splitlines()]
    submitted = next(e for e in events if e["job"] == "s1" and e["phase"] == "Submitted")
    assert submitted["cost"]["estimatedTrainingTokens"] == need
    assert submitted["cost"]["estimatedCost"] == round(need * 5.0 / 1e6, 2)
    succeeded = next(e for e in events if e["job"] == "s1" and e["phase"] == "Succeeded")
    assert succeeded["cost"]["billedTrainingTokens"] is not None

    (jobs / "_policy.yaml").write_text(POLICY.replace("LIMIT", str(10**12)))
    second = run_operator(emulator, project, jobs, state, "--until-settled", "--deadline", "60",
                          env=env)
    assert second.returncode == 0, second.stdout[-3000:]
    assert jobs_by_name(emulator, project) == {"s1": 1, "s2": 1, "s3": 1, "k1": 1}

    assert main(["spend", "--state-dir", str(state), "--jobs-dir", str(jobs),
                 "--format", "json"]) == 0
    teams = {t["team"]: t for t in json.loads(capsys.readouterr().out)["teams"]}
    assert teams["support"]["jobs"] == 3 and teams["knowledge"]["jobs"] == 1
    assert teams["support"]["estimatedTrainingTokens"] == 3 * need
    assert teams["support"]["billedTrainingTokens"] is not None
    # Every answer (k1's evaluation, 6 examples × tuned and base; each job's smoke test) is
    # in the ledger exactly as the emulator's usage_metadata billed it.
    billed = {k: v - billed_before[k] for k, v in emulator.admin.usage().items()}
    assert sum(t["billedPredictionTokens"] or 0 for t in teams.values()) == (
        billed["input"] + billed["output"]) > 0
    status = json.loads((state / "status.json").read_text())["jobs"]
    assert status["k1"]["evaluation"]["verdict"] in ("passed", "failed")
    assert status["k1"]["evaluation"]["predictionTokens"]["input"] > 0
    told = [json.loads(x) for x in (state / "events.jsonl").read_text().splitlines()]
    evaluated = [e["data"] for e in told if e["type"] == "tuning-operator.job.evaluated.v1"]
    assert [e["job"] for e in evaluated] == ["k1"]
    assert evaluated[0]["evaluation"]["predictionTokens"] == (
        status["k1"]["evaluation"]["predictionTokens"])
