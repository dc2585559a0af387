"""P10: examples/s of an evaluation with baseline vs the raw GAPIC client at the same concurrency.

The emulator runs in its own process and answers at once from a scripted answers file
(`--answers`). Ours: `run_evaluation` of N examples against the tuned endpoint and the base
model, as the operator's workers run it: `VertexPrediction.generate` behind the per-endpoint
limit (`EndpointLimit`, 8 requests in flight per endpoint), the answers journal with group
commit (each answer durable before it counts), the prediction budget lifted (the default paces
to 600 requests a minute on purpose; `--predictions-per-minute` raises it). The floor: the same
2 × N `PredictionServiceClient.generate_content` requests from 16 threads (8 per endpoint), no
journal, no scoring. The two alternate in the same run.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness import Figure, Suite, median

from tests.support.emulator_process import EmulatorProcess, sample_job
from tuning_operator.datasets.evalset import EvaluationSet, read_evaluation_set
from tuning_operator.emulator import DURATION_LABEL
from tuning_operator.judging import scoring
from tuning_operator.judging.asking import publisher_model
from tuning_operator.reconciling.aftercare import EVALUATION_CONCURRENCY
from tuning_operator.reconciling.evaluation import EndpointLimit, run_evaluation
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


def _models(emulator: EmulatorProcess) -> tuple[str, str]:
    """The tuned endpoint of a succeeded job and its base model, as the operator asks them."""
    client = emulator_factory(emulator.grpc_endpoint)("us-central1")
    job = sample_job(labels={DURATION_LABEL: "0"})
    job.tuned_model_display_name = NAME
    created = client.create_tuning_job(
        parent="projects/bench/locations/us-central1", tuning_job=job)
    endpoint: str = client.get_tuning_job(name=created.name).tuned_model.endpoint
    client.transport.close()
    return endpoint, publisher_model("bench", "us-central1", job.base_model)


def _raw(models: tuple[str, str], examples: EvaluationSet, grpc: str) -> Callable[[], object]:
    from google.cloud import aiplatform_v1

    client = emulator_prediction_factory(grpc)("us-central1")
    config = generation_config_message(EvaluationSpec(dataset="e.jsonl").generation_config)
    requests = [aiplatform_v1.GenerateContentRequest(
        model=model,
        contents=[aiplatform_v1.Content.from_json(json.dumps(t), ignore_unknown_fields=True)
                  for t in e.contents],
        system_instruction=aiplatform_v1.Content.from_json(
            json.dumps(e.system_instruction), ignore_unknown_fields=True),
        generation_config=config) for e in examples.examples for model in models]

    def ask(request: aiplatform_v1.GenerateContentRequest) -> None:
        client.generate_content(request=request, retry=None, timeout=120)

    def run() -> None:
        with ThreadPoolExecutor(EVALUATION_CONCURRENCY * len(models)) as pool:
            list(pool.map(ask, requests))
    return run


def _evaluate(predict: EndpointLimit, state: Path, spec: EvaluationSpec,
              evalset: EvaluationSet, models: tuple[str, str]) -> tuple[float, str, int]:
    """Seconds of one whole `run_evaluation` on a fresh journal, its verdict, its fsyncs."""
    scoring._bleu_against.cache_clear()  # each run tokenises its references, as a first one
    with AnswerJournal.for_job(state, NAME) as journal:
        started = time.perf_counter()
        result = run_evaluation(
            job_name=NAME, spec=spec, examples=evalset, tuned_model=models[0],
            base_model=models[1], predict=predict, journal=journal,
            concurrency=EVALUATION_CONCURRENCY)
        seconds = time.perf_counter() - started
    return seconds, f"{result.verdict} ({result.examples} examples)", journal.fsyncs


def measure(examples: int, runs: int) -> Suite:
    suite = Suite("P10 — evaluation throughput")
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        answers = Path(tmp) / "answers.json"
        answers.write_text(json.dumps([
            {"model": f"tuned:{NAME}", "default": "no idea",
             "answers": {f"question {i}": f"answer {i}" for i in range(examples)}},
            {"model": "gemini-2.5-flash", "default": "something else", "answers": {}}]))
        evalset = _eval_set(Path(tmp) / "set.jsonl", examples)
        spec = EvaluationSpec(dataset="evals/set.jsonl", max_examples=examples)
        with EmulatorProcess(extra_args=(f"--answers={answers}",)) as emulator:
            models = _models(emulator)
            raw = _raw(models, evalset, emulator.grpc_endpoint)
            times: dict[str, list[float]] = {"raw": [], "ours": []}
            verdicts, fsyncs = set(), []
            budget = RequestBudget(crud_per_minute=60_000_000)
            with VertexPrediction.for_emulator(emulator.grpc_endpoint,
                                               budget=budget) as prediction:
                predict = EndpointLimit(prediction.generate, EVALUATION_CONCURRENCY)
                raw()  # warm the channel, the emulator and the scoring imports
                _evaluate(predict, Path(tmp) / "state-warm", spec, evalset, models)
                for attempt in range(runs):
                    started = time.perf_counter()
                    raw()
                    times["raw"].append(time.perf_counter() - started)
                    seconds, verdict, synced = _evaluate(
                        predict, Path(tmp) / f"state-{attempt}", spec, evalset, models)
                    times["ours"].append(seconds)
                    verdicts.add(verdict)
                    fsyncs.append(synced)
    rate = {key: examples / median(values) for key, values in times.items()}
    suite.figures.append(Figure(
        "P10", f"evaluation with baseline, {examples:,} examples, 8 in flight per endpoint",
        rate["ours"], "examples/s", "≥ 0.8×", rate["ours"] >= 0.8 * rate["raw"],
        floor=rate["raw"], floor_what="raw generate_content, same concurrency", runs=runs))
    suite.notes.append(
        f"P10: {examples:,} examples with baseline ({2 * examples:,} answers) took"
        f" {median(times['ours']):.1f} s (raw requests alone {median(times['raw']):.1f} s);"
        f" {median(fsyncs):,.0f} fsyncs for {2 * examples:,} answers (group commit);"
        f" verdicts: {', '.join(sorted(verdicts))}")
    return suite
