"""`checkpoints: all`: evaluate every checkpoint endpoint and keep the best one's verdict.

Seed 004 asks that evaluation choose the checkpoint, not only the loss curve. The executor
hands this module one evaluation per checkpoint (each with its own answers, the baselines'
answers and judgements shared through the journal, so a baseline is asked once per example
whatever the number of checkpoints); the checkpoint chosen is the one best on the gate's first
metric (its win rate when that metric is pairwise), a tie going to the later one, and the
verdict and metrics are that checkpoint's, with every checkpoint's figures beside them. A
checkpoint still pending makes the whole evaluation pending (the next batch goes on from the
journal); an outage raised by one run pauses them all. Nothing here asks a model directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from tuning_operator.judging.asking import best_by_evaluation
from tuning_operator.judging.curves import Checkpoint
from tuning_operator.state.records import CheckpointEvaluation, Evaluation

Run = Callable[[str, str], Evaluation]  # (endpoint, checkpoint id) → its evaluation


def evaluate_checkpoints(run: Run, checkpoints: Sequence[Checkpoint], *,
                         metric: str) -> Evaluation:
    """Each checkpoint with an endpoint evaluated in step order; the best one's verdict."""
    ordered = sorted((c for c in checkpoints if c.endpoint), key=lambda c: (c.step, c.epoch))
    results: list[tuple[Checkpoint, Evaluation]] = []
    for checkpoint in ordered:
        assert checkpoint.endpoint is not None
        result = run(checkpoint.endpoint, checkpoint.checkpoint_id)
        if not result.final:  # the rest waits for the next batch
            return replace(result, reason=f"checkpoint {checkpoint.checkpoint_id}:"
                           f" {result.reason}")
        results.append((checkpoint, result))
    summaries = tuple(CheckpointEvaluation(checkpoint=c.checkpoint_id, verdict=e.verdict,
                                           metrics=e.metrics, step=c.step)
                      for c, e in results)
    chosen = best_by_evaluation([(c.checkpoint_id, _score(e, metric)) for c, e in results])
    if chosen is None:
        broken = next((e for _, e in results if e.verdict == "error"), None)
        reason = broken.reason if broken else f"no checkpoint was scored on {metric}"
        return Evaluation(verdict="error", reason=f"no checkpoint could be chosen: {reason}",
                          checkpoints=summaries)
    best = next(e for c, e in results if c.checkpoint_id == chosen)
    figures = ", ".join(f"{c.checkpoint_id} {_shown(_score(e, metric))}" for c, e in results)
    # The last run read every earlier run's answers from the journal: its usage is the bill.
    return replace(best, checkpoint=chosen, checkpoints=summaries, usage=results[-1][1].usage,
                   reason=f"{best.reason} (checkpoint {chosen} chosen by {metric}: {figures})")


def _score(evaluation: Evaluation, metric: str) -> float | None:
    figures = evaluation.metrics.get(metric)
    return None if figures is None or evaluation.verdict == "error" else figures.tuned


def _shown(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
