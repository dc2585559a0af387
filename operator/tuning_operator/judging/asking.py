"""Whom an evaluation asks, and how: the checkpoint's endpoint, the base model, the config.

Pure decisions from the job file, the catalog and what Vertex reported: no call is made here.
- `resolve_checkpoint`: `best` | `last` | an id → the endpoint to ask and the checkpoint id.
  Without per-checkpoint endpoints (Vertex exported only the final model) the tuned model's
  endpoint is the only one; `best` falls back to it when no best checkpoint is known yet.
- `trusted_best`: the diagnosis' best checkpoint, unless the curves diverged; `best_fallback`
  says in words that `checkpoint: best` asks the final model instead, and why.
- `effective_generation_config`: the job's config, with the model's lowest thinking budget when
  the job names none (Vertex's advice for tuned models); models that do not think get none.
- `publisher_model`: the resource name of a base model in a project and region.
- `best_by_evaluation`: with `checkpoints: all`, the checkpoint the evaluation prefers.
"""

from __future__ import annotations

from collections.abc import Sequence

from tuning_operator.judging.curves import Checkpoint
from tuning_operator.judging.diagnosis import Diagnosis
from tuning_operator.specs.catalog import BaseModel
from tuning_operator.specs.evaluation import GenerationConfig


class CheckpointUnavailable(ValueError):
    """The job file names a checkpoint that the tuned model does not have."""


def trusted_best(verdict: str | None, best: str | None) -> tuple[str | None, str | None]:
    """(the best checkpoint's id, None), or (None, why there is none to use).

    A diverged run has no best checkpoint worth its name: the diagnosis may have kept one from
    before the divergence, but the run is one the team is told to tune again, and `best` would
    then quietly judge (or continue from) a model nobody chose. Its verdict is about the final
    model, which is what the tuned endpoint serves, and the reason says so.
    """
    if verdict == "diverged":
        return None, "the curves diverged, no best checkpoint"
    if best is None:
        return None, ("the diagnosis chose no best checkpoint" if verdict is not None
                      else "the curves were not diagnosed")
    return best, None


def diagnosed_best(diagnosis: Diagnosis | None) -> tuple[str | None, str | None]:
    """(verdict, best checkpoint id) of a diagnosis, the inputs of `trusted_best`."""
    if diagnosis is None:
        return None, None
    best = diagnosis.best_checkpoint
    return diagnosis.verdict, best.checkpoint_id if best else None


def best_fallback(choice: str, verdict: str | None, best: str | None) -> str | None:
    """`checkpoint: best → the final model: …` when `best` cannot be honoured; None otherwise."""
    if choice != "best":
        return None
    _, why = trusted_best(verdict, best)
    return None if why is None else f"checkpoint: best → the final model: {why}"


def resolve_checkpoint(
    choice: str,
    *,
    tuned_endpoint: str,
    checkpoints: Sequence[Checkpoint] = (),
    best: str | None = None,
) -> tuple[str, str | None]:
    """(endpoint to ask, checkpoint id or None when the tuned model's own endpoint is asked)."""
    with_endpoint = [c for c in checkpoints if c.endpoint]
    if choice == "last":
        if not with_endpoint:
            return tuned_endpoint, None
        last = max(with_endpoint, key=lambda c: (c.step, c.epoch))
        return last.endpoint or tuned_endpoint, last.checkpoint_id
    wanted = best if choice == "best" else choice
    if wanted is None:
        return tuned_endpoint, None
    for checkpoint in with_endpoint:
        if checkpoint.checkpoint_id == wanted:
            return checkpoint.endpoint or tuned_endpoint, checkpoint.checkpoint_id
    if choice == "best":  # the best one was not exported with an endpoint: ask the final model
        return tuned_endpoint, None
    known = ", ".join(c.checkpoint_id for c in with_endpoint) or "none (only the final model)"
    raise CheckpointUnavailable(
        f"checkpoint {choice!r} has no endpoint; checkpoints with endpoints: {known}"
        " (set exportLastCheckpointOnly false to export per-epoch checkpoints)")


def effective_generation_config(
    config: GenerationConfig, model: BaseModel | None
) -> GenerationConfig:
    """`config` with the model's lowest thinking budget when it names none."""
    if config.thinking_budget is not None or model is None:
        return config
    if model.min_thinking_budget is None:
        return config
    return config.model_copy(update={"thinking_budget": model.min_thinking_budget})


def publisher_model(project: str, region: str, base_model: str) -> str:
    """`projects/P/locations/L/publishers/google/models/M`: how a base model is asked."""
    return f"projects/{project}/locations/{region}/publishers/google/models/{base_model}"


def best_by_evaluation(scores: Sequence[tuple[str, float | None]]) -> str | None:
    """With `checkpoints: all`: the checkpoint scoring highest on the gate's first metric, given
    in step order; a tie goes to the later one (as good, and trained on more); None when no
    checkpoint has the score."""
    best: tuple[str, float] | None = None
    for checkpoint_id, value in scores:
        if value is not None and (best is None or value >= best[1]):
            best = (checkpoint_id, value)
    return best[0] if best else None
