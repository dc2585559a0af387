"""Pure judgment of a tuning run: its curves, seed 004's diagnosis, the best checkpoint.

Functions of data only: no Google library, no I/O, no clock. The Vertex adapter fetches the
curves; the reconciler connects the two. Sits just below `planning` (which may import it).
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
    Verdict,
    best_checkpoint,
    diagnose,
)

__all__ = [
    "EVAL_LOSS",
    "TAGS",
    "TRAIN_LOSS",
    "VERDICTS",
    "Checkpoint",
    "Curves",
    "Diagnosis",
    "Point",
    "Verdict",
    "best_checkpoint",
    "diagnose",
]
