"""A stand-in executor for the judging crash test: one evaluation with model-based metrics.

Run as `python judging_child.py GRPC_ENDPOINT STATE_DIR EVAL_SET TUNED_ENDPOINT BASE_MODEL`.
The test journals the answers first, then kills this child with SIGKILL while it judges.
"""

from __future__ import annotations

import sys
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the tests package's root

from tests.operator.reconciling.test_judging import JUDGED_SPEC, PEOPLE, SHOTS
from tuning_operator.datasets.evalset import read_evaluation_set
from tuning_operator.reconciling.evaluation import run_evaluation
from tuning_operator.state.answers import AnswerJournal
from tuning_operator.vertex.budget import RequestBudget
from tuning_operator.vertex.evaluation import VertexEvaluation
from tuning_operator.vertex.prediction import VertexPrediction


def main(endpoint: str, state_dir: str, eval_set: str, tuned: str, base: str) -> None:
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    examples = read_evaluation_set(eval_set, limit=JUDGED_SPEC.max_examples)
    budget = RequestBudget(crud_per_minute=60_000)
    with VertexPrediction.for_emulator(endpoint, budget=budget) as prediction, \
            VertexEvaluation.for_emulator(endpoint, budget=budget, project="p") as evaluation, \
            AnswerJournal.for_job(state_dir, "judged-v1") as journal:
        run_evaluation(job_name="judged-v1", spec=JUDGED_SPEC, examples=examples,
                       tuned_model=tuned, base_model=base, predict=prediction.generate,
                       journal=journal, shots=SHOTS, ratings=PEOPLE,
                       judge=lambda m, i: evaluation.judge("us-central1", m, i))
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:6])
