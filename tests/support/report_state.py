"""State directories for reports, written as the operator writes them: for tests and demos.

`training_run` makes the metrics document of a plausible run (train loss falling with noise,
validation loss falling then rising: over-fitting past the middle, so a best checkpoint exists);
`write_job` puts a record and, optionally, its metrics file into a state directory.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tuning_operator.reporting.loading import METRICS_DIR
from tuning_operator.reporting.model import EVAL_ACCURACY, EVAL_LOSS, TRAIN_ACCURACY, TRAIN_LOSS
from tuning_operator.state.store import FileStatusStore

HOSTILE = "<script>alert(1)</script> | <!-- hidden `code` *bold* [link](javascript:x) @everyone $x$"


def training_run(*, steps: int, epochs: int = 5, eval_points: int = 50,
                 seed: int = 7) -> dict[str, Any]:
    """A metrics document of `steps` training steps, `eval_points` evaluations, a checkpoint
    per epoch; the validation loss is lowest at about 60 % of the run."""
    rng = random.Random(seed)

    def train_loss(step: float) -> float:
        return 0.35 + 2.4 * math.exp(-5 * step / steps)

    def eval_loss(step: float) -> float:
        x = step / steps
        return 0.6 + 2.2 * math.exp(-6 * x) + 0.5 * max(0.0, x - 0.6) ** 2 * 4

    train = [[s, round(train_loss(s) + rng.gauss(0, 0.08), 5)] for s in range(1, steps + 1)]
    evals = [max(1, round(steps * (i + 1) / eval_points)) for i in range(eval_points)]
    validation = [[s, round(eval_loss(s) + rng.gauss(0, 0.01), 5)] for s in evals]
    accuracy = [[s, round(min(0.99, 0.45 + 0.5 * (1 - math.exp(-4 * s / steps))), 5)]
                for s in range(1, steps + 1)]
    eval_accuracy = [[s, round(0.42 + 0.4 * (1 - math.exp(-5 * s / steps)), 5)] for s in evals]
    per_epoch = steps // epochs
    checkpoints = [{"id": str(e), "epoch": e, "step": e * per_epoch,
                    "endpoint": f"projects/1/locations/us-central1/endpoints/{100 + e}"}
                   for e in range(1, epochs + 1)]
    return {
        "experiment": "projects/1/locations/us-central1/metadataStores/default/contexts/run-1",
        "series": {TRAIN_LOSS: train, EVAL_LOSS: validation, TRAIN_ACCURACY: accuracy,
                   EVAL_ACCURACY: eval_accuracy},
        "checkpoints": checkpoints,
    }


def write_job(state_dir: Path, name: str, record: Mapping[str, Any],
              metrics: Mapping[str, Any] | None = None) -> None:
    """Add one job's record (keys as in status.json) and its metrics file to `state_dir`."""
    path = state_dir / FileStatusStore.FILE
    document: dict[str, Any] = (json.loads(path.read_text()) if path.exists()
                                else {"version": 1, "jobs": {}})
    document["jobs"][name] = {"name": name, "first_seen": 0.0, **record}
    state_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))
    if metrics is not None:
        (state_dir / METRICS_DIR).mkdir(exist_ok=True)
        (state_dir / METRICS_DIR / f"{name}.json").write_text(json.dumps(metrics))


def finished_job(*, steps: int = 10000) -> dict[str, Any]:
    """The record of a job that over-fitted past epoch 3 and then passed its evaluation gate."""
    best = 3 * (steps // 5)
    return {
        "team": "support",
        "phase": "Succeeded",
        "vertex_state": "JOB_STATE_SUCCEEDED",
        "vertex_name": "projects/1/locations/us-central1/tuningJobs/123",
        "tuned_model": "projects/1/locations/us-central1/models/456@1",
        "endpoint": "projects/1/locations/us-central1/endpoints/789",
        "diagnosis": {
            "verdict": "overfitting",
            "reason": f"validation loss rose 0.29 above its minimum (step {best:,}) while train"
                      " loss kept falling",
            "mitigation": "serve checkpoint 3, or tune again with 3 epochs or more data",
            "bestCheckpoint": {"id": "3", "epoch": 3, "step": best,
                               "endpoint": "projects/1/locations/us-central1/endpoints/103"},
            "finalTrainLoss": 0.37, "finalEvalLoss": 0.93,
        },
        "evaluation": {
            "verdict": "passed", "examples": 200, "checkpoint": "3",
            "metrics": {"exactMatch": {"tuned": 0.9, "baseline": 0.3, "gain": 0.6},
                        "bleu": {"tuned": 71.2, "baseline": 35.1, "gain": 36.1},
                        "rougeL": {"tuned": 0.88, "baseline": 0.51, "gain": 0.37}},
            "failures": [{"example": "17", "error": "DEADLINE_EXCEEDED after 3 tries"}],
            "reason": "exactMatch 0.900 ≥ min 0.8, gain over baseline 0.600 ≥ 0.1",
        },
        # As the status store writes them: Vertex's figures and the pre-flight's at the create.
        "data_stats": {"examples": 1200, "billable_tokens": 1834000, "truncated_examples": 2},
        "preflight": {
            "summary": "gs://datasets/support/train.jsonl + gs://datasets/support/val.jsonl for"
                       " gemini-2.5-flash: OK (0 errors, 1 warning)\n"
                       "  1,200 examples, mean 1,528 tokens, max 7,310\n"
                       "  recommended: epochs 5, adapter size 4, learning rate multiplier 1.0",
            "estimated_tokens": 1790000},
    }


def hostile_record() -> dict[str, Any]:
    """A record whose every free-text field tries to break out of HTML or Markdown."""
    record = finished_job()
    record["reason"] = HOSTILE
    record["team"] = "</p><img src=x onerror=alert(1)>"
    record["diagnosis"] = {**record["diagnosis"], "reason": HOSTILE,
                           "mitigation": "</td></tr></table><iframe src=//evil>",
                           "bestCheckpoint": {"id": "3</title><script>x</script>", "step": 6000}}
    record["evaluation"] = {
        **record["evaluation"], "reason": HOSTILE,
        "metrics": {"exact|Match<!--": {"tuned": 0.9, "baseline": 0.3, "gain": 0.6}},
        "failures": [{"example": "```\n# heading\n<script>", "error": HOSTILE}],
    }
    record["preflight"] = {
        "summary": "line one\n``````\n</pre><script>alert(2)</script>\n<!-- hide",
        "estimated_tokens": 1790000}
    return record


def diverged_run(*, steps: int = 300, nan_from: int = 100) -> dict[str, Any]:
    """`training_run` whose losses and accuracies are NaN from step `nan_from` on, spelled as
    the operator's metrics file spells them ("NaN")."""
    run = training_run(steps=steps)
    for name in (TRAIN_LOSS, EVAL_LOSS, TRAIN_ACCURACY, EVAL_ACCURACY):
        run["series"][name] = [[s, "NaN" if s >= nan_from else v] for s, v in run["series"][name]]
    return run


def diverged_job() -> dict[str, Any]:
    """The record of a job whose losses turned NaN at step 100 of 300: no best checkpoint."""
    record = finished_job(steps=300)
    record["diagnosis"] = {
        "verdict": "diverged",
        "reason": "training loss is NaN from step 100: the run diverged; no checkpoint before"
                  " it to choose",
        "mitigation": "Lower the learningRateMultiplier and check the training data.",
        "bestCheckpoint": None, "finalTrainLoss": None, "finalEvalLoss": None}
    record.pop("evaluation")
    return record
