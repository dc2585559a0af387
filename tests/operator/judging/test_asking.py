"""Whom the evaluation asks: the checkpoint's endpoint and the generation config it sends."""

from __future__ import annotations

import pytest

from tuning_operator.judging.asking import (
    Checkpoint,
    CheckpointUnavailable,
    best_fallback,
    effective_generation_config,
    publisher_model,
    resolve_checkpoint,
    trusted_best,
)
from tuning_operator.specs.catalog import default_catalog
from tuning_operator.specs.evaluation import GenerationConfig

TUNED = "projects/p/locations/l/endpoints/9"
CKPTS = (Checkpoint("1", 1, 100, "projects/p/locations/l/endpoints/c1"),
         Checkpoint("2", 2, 200, "projects/p/locations/l/endpoints/c2"),
         Checkpoint("3", 3, 300, ""))

# (case, choice, checkpoints, best, expected (endpoint, id))
CHOICES = [
    ("best-known", "best", CKPTS, "1", ("projects/p/locations/l/endpoints/c1", "1")),
    ("best-unknown", "best", CKPTS, None, (TUNED, None)),
    ("best-without-endpoint", "best", CKPTS, "3", (TUNED, None)),
    ("last-with-endpoint", "last", CKPTS, None, ("projects/p/locations/l/endpoints/c2", "2")),
    ("last-no-checkpoints", "last", (), None, (TUNED, None)),
    ("by-id", "2", CKPTS, "1", ("projects/p/locations/l/endpoints/c2", "2")),
    ("best-no-checkpoints", "best", (), "1", (TUNED, None)),
]


@pytest.mark.parametrize(("case", "choice", "checkpoints", "best", "expected"), CHOICES,
                         ids=[c[0] for c in CHOICES])
def test_resolve_checkpoint(case: str, choice: str, checkpoints: tuple[Checkpoint, ...],
                            best: str | None, expected: tuple[str, str | None]) -> None:
    """best | last | id pick a checkpoint endpoint, else the tuned model's own endpoint."""
    del case
    assert resolve_checkpoint(choice, tuned_endpoint=TUNED, checkpoints=checkpoints,
                              best=best) == expected


def test_an_unknown_checkpoint_id_names_the_ones_there() -> None:
    """Asking for a checkpoint without an endpoint is an error that lists the available ones."""
    with pytest.raises(CheckpointUnavailable, match="checkpoints with endpoints: 1, 2"):
        resolve_checkpoint("7", tuned_endpoint=TUNED, checkpoints=CKPTS)


# (case, base model, configured thinking budget, expected budget sent)
THINKING = [
    ("flash-default-off", "gemini-2.5-flash", None, 0),
    ("pro-lowest", "gemini-2.5-pro", None, 128),
    ("job-says-otherwise", "gemini-2.5-flash", 1024, 1024),
    ("non-thinking-model", "gemini-2.0-flash-001", None, None),
    ("unknown-model", "gemini-9", None, None),
]


@pytest.mark.parametrize(("case", "model", "configured", "expected"), THINKING,
                         ids=[c[0] for c in THINKING])
def test_thinking_budget(case: str, model: str, configured: int | None,
                         expected: int | None) -> None:
    """Thinking models get their lowest budget unless the job file names one."""
    del case
    config = GenerationConfig(thinking_budget=configured, max_output_tokens=64)
    effective = effective_generation_config(config, default_catalog().get(model))
    assert effective.thinking_budget == expected
    assert effective.max_output_tokens == 64


def test_publisher_model() -> None:
    """A base model is asked under its publisher resource name."""
    assert publisher_model("p", "us-central1", "gemini-2.5-flash") == (
        "projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash")


# (case, diagnosis verdict, best id, trusted best, the fallback's words for `checkpoint: best`)
TRUST = [
    ("healthy", "healthy", "2", "2", None),
    ("diverged-with-an-earlier-best", "diverged", "1", None,
     "checkpoint: best → the final model: the curves diverged, no best checkpoint"),
    ("no-best", "overfitting", None, None,
     "checkpoint: best → the final model: the diagnosis chose no best checkpoint"),
    ("no-diagnosis", None, None, None,
     "checkpoint: best → the final model: the curves were not diagnosed"),
]


@pytest.mark.parametrize(("case", "verdict", "best", "trusted", "words"), TRUST,
                         ids=[c[0] for c in TRUST])
def test_a_diverged_run_has_no_best_checkpoint_to_ask(
        case: str, verdict: str | None, best: str | None, trusted: str | None,
        words: str | None) -> None:
    """`best` is the diagnosis' choice unless the curves diverged; the fallback is in words."""
    del case
    assert trusted_best(verdict, best)[0] == trusted
    assert best_fallback("best", verdict, best) == words
    assert best_fallback("last", verdict, best) is None
    asked = resolve_checkpoint("best", tuned_endpoint=TUNED, checkpoints=CKPTS,
                               best=trusted_best(verdict, best)[0])
    assert (asked == (TUNED, None)) == (words is not None)
