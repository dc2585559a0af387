"""Test helpers for job files, shared by the unit, end-to-end and benchmark suites."""

from __future__ import annotations

from pathlib import Path


def write_job(root: Path, name: str, extra: str = "", *, team: str = "team") -> Path:
    """Write a minimal valid job file `root/team/name.yaml`; `extra` lines go under `spec`."""
    (root / team).mkdir(parents=True, exist_ok=True)
    path = root / team / f"{name}.yaml"
    path.write_text(
        "apiVersion: tuning-operator/v1\nkind: TuningJob\n"
        f"metadata:\n  name: {name}\nspec:\n  baseModel: gemini-2.5-flash\n"
        f"  trainingDataset: gs://datasets/{team}/train.jsonl\n{extra}"
    )
    return path


EVALUATED = "  evaluation: {dataset: gs://bucket/evals/t.jsonl}\n"  # spec lines: a gated job


def write_alias(root: Path, name: str, job: str, extra: str = "", *, team: str = "team",
                file: str | None = None) -> Path:
    """Write a `ModelAlias` file `root/team/<file or name>.yaml` pointing at `job`; `extra`
    lines go under `spec`."""
    (root / team).mkdir(parents=True, exist_ok=True)
    path = root / team / f"{file or name}.yaml"
    path.write_text(
        "apiVersion: tuning-operator/v1\nkind: ModelAlias\n"
        f"metadata:\n  name: {name}\nspec:\n  job: {job}\n{extra}"
    )
    return path
