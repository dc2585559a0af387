"""A stand-in executor for the crash test: runs one evaluation, one answer at a time.

Run as `python evaluation_child.py GRPC_ENDPOINT STATE_DIR EVAL_SET TUNED_ENDPOINT BASE_MODEL`.
The test kills it with SIGKILL while it asks, then resumes the same evaluation in-process.
"""

from __future__ import annotations

import sys

import structlog

from tuning_operator.datasets.evalset import read_evaluation_set
from tuning_operator.reconciling.evaluation import run_evaluation
from tuning_operator.specs.evaluation import EvaluationSpec
from tuning_operator.state.answers import AnswerJournal
from tuning_operator.vertex.budget import RequestBudget
from tuning_operator.vertex.prediction import VertexPrediction


def main(endpoint: str, state_dir: str, eval_set: str, tuned: str, base: str) -> None:
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    spec = EvaluationSpec(dataset="evals/set.jsonl", metrics=["exactMatch"])
    examples = read_evaluation_set(eval_set, limit=spec.max_examples)
    budget = RequestBudget(crud_per_minute=60_000)
    with VertexPrediction.for_emulator(endpoint, budget=budget) as prediction, \
            AnswerJournal.for_job(state_dir, "crashy-v1") as journal:
        run_evaluation(job_name="crashy-v1", spec=spec, examples=examples, tuned_model=tuned,
                       base_model=base, predict=prediction.generate, journal=journal,
                       concurrency=1)
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:6])
