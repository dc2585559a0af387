"""After the create: read the curves, smoke-test the endpoint, evaluate the tuned model.

Pure decisions, like the rest of the planner: for each job whose Vertex job exists, which of
the post-success steps is due this pass, and which are still owed before the job is settled.
Inputs are what Vertex says (state, experiment, endpoint) and what the operator already did
(`Progress`, from the status store). The executors in `reconciling/aftercare.py` do the work.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pydantic_core import to_json

from tuning_operator.planning.gates import Timing
from tuning_operator.planning.model import FINAL_PHASES, ObservedJob, Phase
from tuning_operator.specs.evaluation import EvaluationSpec
from tuning_operator.specs.loader import LoadedJob

METRICS_EVERY_SECONDS = 60.0  # while a job runs, its curves are read at most this often
FINAL_VERDICTS = frozenset({"passed", "failed", "error"})


@dataclass(frozen=True)
class Progress:
    """What the operator already did after the create, from the status store."""

    metrics_read_at: float | None = None
    metrics_final: bool = False  # read once after the Vertex job ended
    best_checkpoint: str | None = None  # of the final diagnosis
    diagnosis: str | None = None  # its verdict: a diverged run's best checkpoint is not used
    smoke: str | None = None  # "healthy" | "unhealthy"
    smoke_not_before: float | None = None  # an unhealthy endpoint is asked again after this
    evaluation_verdict: str | None = None
    evaluation_key: str | None = None  # which evaluation spec the verdict is for
    evaluation_not_before: float | None = None  # the endpoint was down: asked again after this


def evaluation_key(loaded: LoadedJob) -> str | None:
    """A digest of the job's evaluation block and of its set's version: a local set's content,
    a gs:// object's generation (as last read). A change of either re-runs the evaluation (no
    conflict); a gs:// set whose generation was never read is keyed by its URI."""
    evaluation = loaded.spec.evaluation
    if evaluation is None:
        return None
    block = evaluation_block(evaluation)
    if loaded.evaluation_digest is not None:
        block += f"\x1f{loaded.evaluation_digest}"
    if loaded.evaluation_generation is not None:
        block += f"\x1fgeneration {loaded.evaluation_generation}"
    return hashlib.sha256(block.encode()).hexdigest()[:16]


# Fields added after verdicts were first keyed: left out while unset, so an upgrade keeps
# every verdict whose job file did not change.
_LATER_FIELDS = ("model_based", "human_ratings", "checkpoints")
_LATER_BAR_FIELDS = ("min_agreement", "min_win_rate")


def evaluation_block(evaluation: EvaluationSpec) -> str:
    """The JSON an evaluation key digests: the block without what only steers (giveUpAfter)
    or is Vertex's business (duringTuning: the operator's own evaluation is the same), and
    without the later fields it does not set."""
    document = evaluation.model_dump(mode="json", exclude={"give_up_after", "during_tuning", *(
        name for name in _LATER_FIELDS if not getattr(evaluation, name))})
    for bar in document["require"].values():
        for name in _LATER_BAR_FIELDS:
            if bar.get(name) is None:
                bar.pop(name, None)
    return to_json(document).decode()


def needs_smoke_test(loaded: LoadedJob) -> bool:
    spec = loaded.spec
    return spec.evaluation is not None or spec.smoke_test is not None


def owed(loaded: LoadedJob, current: ObservedJob, progress: Progress) -> list[str]:
    """The post-success steps this job still owes (empty: nothing more to do for it)."""
    steps = []
    if current.experiment and current.phase in FINAL_PHASES and not progress.metrics_final:
        steps.append("metrics")
    if current.phase != Phase.SUCCEEDED:
        return steps
    if needs_smoke_test(loaded) and progress.smoke != "healthy":
        steps.append("smoke")
    if loaded.spec.evaluation is not None and (
            progress.evaluation_key != evaluation_key(loaded)
            or progress.evaluation_verdict not in FINAL_VERDICTS):
        steps.append("evaluation")
    return steps


@dataclass(frozen=True)
class Due:
    """One post-success step due this pass, or held with the reason."""

    step: str  # "metrics" | "smoke" | "evaluation"
    reason: str
    held: bool = False
    retry_after: float | None = None  # held: look again this soon (None: the next pass looks)
    pacing: bool = False  # held only to pace a routine read: not shown as a hold by `plan`


def due(loaded: LoadedJob, current: ObservedJob, progress: Progress,
        timing: Timing) -> list[Due]:
    """Which steps go out this pass (the planner turns each into an action)."""
    steps: list[Due] = []
    if current.experiment:
        read_at = progress.metrics_read_at
        if current.active and (read_at is None
                               or timing.now - read_at >= METRICS_EVERY_SECONDS):
            steps.append(Due("metrics", "read the loss curves while the job runs"))
        elif current.active and read_at is not None:
            steps.append(Due("metrics", "curves read less than a minute ago", held=True,
                             retry_after=read_at + METRICS_EVERY_SECONDS - timing.now,
                             pacing=True))
    remaining = owed(loaded, current, progress)
    if "metrics" in remaining:
        steps.append(Due("metrics", "read the final loss curves"))
    if "smoke" in remaining:
        wait = (progress.smoke_not_before or 0.0) - timing.now
        steps.append(Due("smoke", "smoke-test the tuned endpoint") if wait <= 0 else
                     Due("smoke", f"endpoint unhealthy: asked again in {wait:.0f} s",
                         held=True, retry_after=wait))
    if "evaluation" in remaining:
        wait = (progress.evaluation_not_before or 0.0) - timing.now
        steps.append(_evaluation_due(loaded, progress, remaining) if wait <= 0 else
                     Due("evaluation", f"endpoint unavailable: asked again in {wait:.0f} s"
                         " (answers received are kept)", held=True, retry_after=wait))
    elif loaded.evaluation_unread and current.phase == Phase.SUCCEEDED:
        # The verdict stands on the last generation read; the next pass reads again.
        steps.append(Due("evaluation", loaded.evaluation_unread, held=True))
    return steps


def _evaluation_due(loaded: LoadedJob, progress: Progress, remaining: list[str]) -> Due:
    evaluation = loaded.spec.evaluation
    assert evaluation is not None
    if "smoke" in remaining:
        return Due("evaluation", "waits for a healthy endpoint (smoke test)", held=True,
                   retry_after=5.0)
    if evaluation.checkpoint == "best" and "metrics" in remaining:
        return Due("evaluation", "waits for the final diagnosis (checkpoint: best)",
                   held=True, retry_after=1.0)
    again = (progress.evaluation_verdict in FINAL_VERDICTS
             and progress.evaluation_key != evaluation_key(loaded))
    from tuning_operator.judging.asking import best_fallback  # off the validate path

    fallback = best_fallback(evaluation.checkpoint, progress.diagnosis, progress.best_checkpoint)
    if evaluation.checkpoints == "all":
        fallback = None  # the evaluation chooses the checkpoint itself
    return Due("evaluation", ("the evaluation set or its settings changed since the verdict: "
                              if again else "") + "evaluate the tuned model" + (
        " (every checkpoint)" if evaluation.checkpoints == "all" else "") + _whom(evaluation) + (
        f" ({fallback})" if fallback else "") + (
        f"; {loaded.evaluation_unread}" if loaded.evaluation_unread else ""))


def _whom(evaluation: EvaluationSpec) -> str:
    """Who else the evaluation asks, in the plan's words."""
    baselines = evaluation.baselines
    shots = [label for label, asked in (("zero-shot", baselines.zero_shot),
                                        (f"{baselines.few_shot}-shot", baselines.few_shot))
             if asked]
    base = f" and the base model ({', '.join(shots)})" if shots and shots != ["zero-shot"] else (
        " and the base model" if shots else "")
    judged = len(evaluation.model_based)
    return base + (f"; {judged} model-based metric{'s' if judged > 1 else ''} judged by the"
                   " autorater" if judged else "")

