"""Pure judgment of a tuning run and of a tuned model (no cloud, no files, no clock).

`curves`/`diagnosis` read the loss curves by seed 004's rules and choose the best checkpoint;
`scoring` turns answers into metrics (exact match, BLEU, ROUGE-L) and applies the reviewed
gate. The Vertex adapters fetch; the reconciler's executors connect the two. Sits just below
`planning` (which may import it).
"""

from tuning_operator.judging.curves import (
    EVAL_LOSS,
    TAGS,
    TRAIN_LOSS,
    Checkpoint,
    Curves,
    Point,
)
from tuning_operator.judging.diagnosis import (
    VERDICTS,
    Diagnosis,
    Divergence,
    Verdict,
    best_checkpoint,
    diagnose,
    divergence,
)

__all__ = [
    "EVAL_LOSS",
    "TAGS",
    "TRAIN_LOSS",
    "VERDICTS",
    "Checkpoint",
    "Curves",
    "Diagnosis",
    "Divergence",
    "Point",
    "Verdict",
    "best_checkpoint",
    "diagnose",
    "divergence",
]
