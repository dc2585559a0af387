"""`validate --check-datasets` and `plan --check-datasets` read real objects (fake-gcs-server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.dataset_examples import example
from tuning_operator.cli import main


def upload(bucket: Any, name: str, lines: list[dict[str, Any]]) -> str:
    """Upload JSONL lines and return the object's gs:// URI."""
    bucket.blob(name).upload_from_string("".join(json.dumps(line) + "\n" for line in lines))
    return f"gs://{bucket.name}/{name}"


def good(count: int, offset: int = 0) -> list[dict[str, Any]]:
    """Distinct, valid examples."""
    return [example(f"question {i} about topic {i * 7919 % 1000} in area {i % 13}",
                    f"answer {i} with detail {i * 31 % 97}") for i in range(offset, offset + count)]


def job_file(root: Path, name: str, train: str, extra: str = "") -> None:
    """A job file in team `t` using `train`."""
    (root / "t").mkdir(parents=True, exist_ok=True)
    (root / "t" / f"{name}.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: TuningJob\n"
        f"metadata:\n  name: {name}\nspec:\n  baseModel: gemini-2.5-flash\n"
        f"  trainingDataset: {train}\n{extra}")


def test_validate_reports_the_bad_dataset_on_its_job_file(
    tmp_path: Path, gcs_bucket: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A job whose data has a model turn missing fails validate, naming the file and line."""
    ok = upload(gcs_bucket, "t/ok.jsonl", good(120))
    broken = [*good(119), {"contents": [{"role": "user", "parts": [{"text": "no answer"}]}]}]
    bad = upload(gcs_bucket, "t/bad.jsonl", broken)
    job_file(tmp_path, "fine", ok)
    job_file(tmp_path, "broken", bad)
    assert main(["validate", "--jobs-dir", str(tmp_path), "--check-datasets"]) == 1
    captured = capsys.readouterr()
    assert f"{tmp_path / 't' / 'broken.yaml'}: dataset pre-flight: {bad}:120:" in captured.err
    assert "1 valid job(s), 1 error(s)" in captured.out


def test_plan_shows_verdict_tokens_and_recommendation(
    tmp_path: Path, gcs_bucket: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """plan --check-datasets shows per job the verdict, billable tokens, recommended vs chosen."""
    train = upload(gcs_bucket, "t/train.jsonl", good(150))
    job_file(tmp_path, "explicit", train, "  hyperParameters: {epochCount: 3, adapterSize: 8}\n")
    job_file(tmp_path, "preset", train, "  hyperParameters: {preset: recommended}\n")
    assert main(["plan", "--offline", "--jobs-dir", str(tmp_path), "--check-datasets",
                 "--format", "json"]) == 0
    actions = {a["job"]: a for a in json.loads(capsys.readouterr().out)["actions"]}
    explicit = actions["explicit"]["dataset"]
    assert explicit.startswith("dataset warnings; ≈")  # no validation set is a warning
    assert "billable tokens" in explicit
    assert "recommended epochs default, adapter 4" in explicit
    assert "chosen epochs 3, adapter 8, lr× default" in explicit
    assert "chosen: preset/defaults" in actions["preset"]["dataset"]
    assert actions["preset"]["action"] == "create"
