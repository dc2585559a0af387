"""P10: examples/s through `run_evaluation` + `VertexPrediction` vs the raw GAPIC client loop.

The emulator runs in its own process and answers at once from a scripted answers file
(`--answers`). Ours: `run_evaluation` of N examples against the tuned endpoint only (no
baseline), one worker, through `VertexPrediction.generate` with its `RequestBudget` lifted
(the default budget paces to 600 requests a minute on purpose) and the answers journal fsync'd
per answer, as the operator runs it. The floor: a plain loop of
`PredictionServiceClient.generate_content` with the same requests, one at a time. The two
alternate in the same run; four workers (the default concurrency) are a supporting figure.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from harness import Figure, Suite, median

from tests.support.emulator_process import EmulatorProcess, sample_job
from tuning_operator.datasets.evalset import EvaluationSet, read_evaluation_set
from tuning_operator.emulator import DURATION_LABEL
from tuning_operator.reconciling.evaluation import run_evaluation
from tuning_operator.specs.evaluation import EvaluationSpec
from tuning_operator.state.answers import AnswerJournal
from tuning_operator.vertex.budget import RequestBudget
from tuning_operator.vertex.clients import emulator_factory
from tuning_operator.vertex.prediction import (
    VertexPrediction,
    emulator_prediction_factory,
    generation_config_message,
)

NAME = "bench-eval"


def _eval_set(path: Path, examples: int) -> EvaluationSet:
    path.write_text("".join(json.dumps({
        "systemInstruction": {"parts": [{"text": "Answer tersely."}]},
        "contents": [{"role": "user", "parts": [{"text": f"question {i}"}]},
                     {"role": "model", "parts": [{"text": f"answer {i}"}]}],
    }) + "\n" for i in range(examples)))
    return read_evaluation_set(str(path), limit=examples)


def _endpoint(emulator: EmulatorProcess) -> str:
    client = emulator_factory(emulator.grpc_endpoint)("us-central1")
    job = sample_job(labels={DURATION_LABEL: "0"})
    job.tuned_model_display_name = NAME
    created = client.create_tuning_job(
        parent=f"projects/p-{uuid.uuid4().hex[:8]}/locations/us-central1", tuning_job=job)
    endpoint: str = client.get_tuning_job(name=created.name).tuned_model.endpoint
    client.transport.close()
    return endpoint


def _raw_loop(endpoint: str, examples: EvaluationSet, grpc: str) -> Callable[[], object]:
    from google.cloud import aiplatform_v1

    client = emulator_prediction_factory(grpc)("us-central1")
    config = generation_config_message(EvaluationSpec(dataset="e.jsonl").generation_config)
    requests = [aiplatform_v1.GenerateContentRequest(
        model=endpoint,
        contents=[aiplatform_v1.Content.from_json(json.dumps(t), ignore_unknown_fields=True)
                  for t in e.contents],
        system_instruction=aiplatform_v1.Content.from_json(
            json.dumps(e.system_instruction), ignore_unknown_fields=True),
        generation_config=config) for e in examples.examples]

    def loop() -> None:
        for request in requests:
            client.generate_content(request=request, retry=None, timeout=120)
    return loop


def _evaluate(prediction: VertexPrediction, state: Path, spec: EvaluationSpec,
              evalset: EvaluationSet, endpoint: str, workers: int) -> tuple[float, str]:
    """Seconds of one whole `run_evaluation` on a fresh journal, and its verdict."""
    with AnswerJournal.for_job(state, NAME) as journal:
        started = time.perf_counter()
        result = run_evaluation(
            job_name=NAME, spec=spec, examples=evalset, tuned_model=endpoint, base_model=None,
            predict=prediction.generate, journal=journal, concurrency=workers)
        seconds = time.perf_counter() - started
    return seconds, f"{result['verdict']} ({result['examples']} examples)"


def measure(examples: int, runs: int) -> Suite:
    suite = Suite("P10 — evaluation throughput")
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        answers = Path(tmp) / "answers.json"
        answers.write_text(json.dumps([{
            "model": f"tuned:{NAME}",
            "answers": {f"question {i}": f"answer {i}" for i in range(examples)},
            "default": "no idea"}]))
        evalset = _eval_set(Path(tmp) / "set.jsonl", examples)
        spec = EvaluationSpec(dataset="evals/set.jsonl", max_examples=examples,
                              baseline=False)
        with EmulatorProcess(extra_args=(f"--answers={answers}",)) as emulator:
            endpoint = _endpoint(emulator)
            budget = RequestBudget(crud_per_minute=60_000_000)
            raw = _raw_loop(endpoint, evalset, emulator.grpc_endpoint)
            times: dict[str, list[float]] = {"raw": [], "ours": [], "ours×4": []}
            verdicts: set[str] = set()
            with VertexPrediction.for_emulator(emulator.grpc_endpoint,
                                               budget=budget) as prediction:
                raw()  # warm the channel and the emulator
                first = _evaluate(prediction, Path(tmp) / "state-warm", spec, evalset,
                                  endpoint, 1)
                for attempt in range(runs):
                    started = time.perf_counter()
                    raw()
                    times["raw"].append(time.perf_counter() - started)
                    for key, workers in (("ours", 1), ("ours×4", 4)):
                        seconds, verdict = _evaluate(
                            prediction, Path(tmp) / f"state-{key}-{attempt}", spec, evalset,
                            endpoint, workers)
                        times[key].append(seconds)
                        verdicts.add(verdict)
    rate = {key: examples / median(values) for key, values in times.items()}
    suite.figures.append(Figure(
        "P10", f"evaluation, {examples} examples, 1 worker", rate["ours"], "examples/s",
        "–", None, floor=rate["raw"], floor_what="raw generate_content loop", runs=runs))
    suite.figures.append(Figure(
        "P10", f"evaluation, {examples} examples, 4 workers", rate["ours×4"], "examples/s",
        "–", None, floor=rate["raw"], floor_what="raw generate_content loop", runs=runs))
    suite.notes.append(
        f"verdicts: {', '.join(sorted(verdicts))}; budget lifted (the default 600 requests/min"
        f" would cap ours at 10 examples/s); the first run of a process, not counted, took"
        f" {first[0]:.2f} s: scoring imports rouge_score (nltk, scipy) on first use")
    return suite
