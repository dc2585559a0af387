"""`plan` decides a duringTuning job's create as the operator does: by the same --artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.job_files import write_job
from tuning_operator.cli import main

DURING = ("  validationDataset: gs://datasets/team/val.jsonl\n"
          "  evaluation: {dataset: gs://bucket/evals/t.jsonl, duringTuning: true}\n")


def test_plan_refuses_without_artifacts_and_creates_with_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --artifacts the job is invalid (exit 3, the reason names the flag); with the
    flag, or the operator's settings file carrying it, it is a create."""
    write_job(tmp_path, "bot", DURING)
    assert main(["plan", "--offline", "--jobs-dir", str(tmp_path)]) == 3
    assert "needs the operator's --artifacts" in capsys.readouterr().out
    assert main(["plan", "--offline", "--jobs-dir", str(tmp_path),
                 "--artifacts", "gs://bucket/ops"]) == 0
    assert "no Vertex job with this name yet" in capsys.readouterr().out
    config = tmp_path.parent / "operator.yaml"
    config.write_text("artifacts: gs://bucket/ops\n")
    assert main(["plan", "--offline", "--jobs-dir", str(tmp_path), "--config", str(config)]) == 0
