"""The stored form of Vertex's evaluation during tuning (`evaluation.duringTuning`), per checkpoint.

`{"<checkpoint id>": {"metrics": {"exactMatch": 0.71, ...}, "error": "..."}}` in Vertex's order;
a run that named no checkpoint is keyed `default` (the tuned model's default checkpoint). The
same form is what `status --format json` shows under `evaluation.duringTuning`. Like the
checkpoints, the runs are Vertex's word, read again every pass: a damaged entry is left out,
never the record. A record stored before this existed has none; a release before this one
ignores the key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from tuning_operator.planning.model import TuningEvaluationRun

DEFAULT = "default"  # the key of a run without a checkpoint id


def during_tuning_to_json(runs: tuple[TuningEvaluationRun, ...]) -> dict[str, Any]:
    return {run.checkpoint_id or DEFAULT: {"metrics": dict(run.metrics),
                                          **({"error": run.error} if run.error else {})}
            for run in runs}


def during_tuning_from_json(value: Any) -> tuple[TuningEvaluationRun, ...]:
    if isinstance(value, tuple) and all(isinstance(r, TuningEvaluationRun) for r in value):
        return value
    if not isinstance(value, Mapping):
        return ()
    runs = []
    for checkpoint, run in value.items():
        if not isinstance(run, Mapping):
            continue
        metrics = run.get("metrics")
        error = run.get("error")
        runs.append(TuningEvaluationRun(
            checkpoint_id=None if checkpoint == DEFAULT else str(checkpoint),
            metrics={str(name): float(score) for name, score in (
                metrics.items() if isinstance(metrics, Mapping) else ())
                if isinstance(score, (int, float)) and math.isfinite(score)},
            error=None if error is None else str(error)))
    return tuple(runs)
