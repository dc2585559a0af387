"""Generated jobs directories for the benchmarks: N realistic job files over ten teams.

Each file looks like the examples (a comment, labels, a validation set, hyperparameters, a
description), so parsing costs what it costs on a real repository. Directories are made under
a temporary directory the caller owns and removes.
"""

from __future__ import annotations

import os
from pathlib import Path

TEAMS = 10
JOB = """\
# Generated for the benchmarks: routes tickets of queue {index} to the right team.
apiVersion: tuning-operator/v1
kind: TuningJob
metadata:
  name: {name}
  labels: {{cost-center: cc-{cost}, use-case: classification}}
spec:
  baseModel: gemini-2.5-flash
  trainingDataset: gs://bench-datasets/{team}/{name}/train.jsonl
  validationDataset: gs://bench-datasets/{team}/{name}/val.jsonl
  hyperParameters:
    epochCount: 3
    adapterSize: 4
    learningRateMultiplier: 1.0
  description: Ticket routing classifier number {index}, generated for the benchmarks.
  priority: {priority}
"""


def job_name(index: int, prefix: str = "job") -> str:
    return f"{prefix}-{index:05d}"


def write_job(root: Path, index: int, *, prefix: str = "job") -> Path:
    """One job file (team = index mod 10); returns its path."""
    name = job_name(index, prefix)
    team = f"team-{index % TEAMS}"
    directory = root / team
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(JOB.format(name=name, team=team, index=index, cost=index % 97,
                               priority=index % 5))
    return path


def write_jobs(root: Path, count: int, *, prefix: str = "job") -> list[Path]:
    """`count` job files under `root`; their paths, in index order."""
    return [write_job(root, index, prefix=prefix) for index in range(count)]


def job_paths(root: Path) -> list[str]:
    """Every job file under `root` (what a floor may touch: the same files, nothing else)."""
    return sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files
                  if f.endswith(".yaml"))
