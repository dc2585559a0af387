"""P9: `judging.diagnose` on a 10,000-step run against sorting the same points.

The curves are `tests.support.report_state.training_run`'s plausible run (training loss falling with
noise, validation loss falling then rising, one checkpoint per epoch), built as
`judging.curves.Curves`, with a validation point at every step: the worst case, since the
smoothing (a running median) and the best-checkpoint search both walk the validation series.
The floor is `sorted()` of the same training and validation values: one pass over every point
that any diagnosis must at least read. Building the `Curves` is timed apart (it is done once
per metrics read, not per diagnosis).
"""

from __future__ import annotations

from harness import Figure, Suite, interleaved, median

from tests.support.report_state import training_run
from tuning_operator.judging import Checkpoint, Curves, diagnose
from tuning_operator.judging.curves import EVAL_LOSS, TRAIN_LOSS


def measure(steps: int, runs: int) -> Suite:
    suite = Suite("P9 — diagnosis of a long run")
    run = training_run(steps=steps, eval_points=steps)
    curves = Curves.from_dict(run["series"])
    checkpoints = [Checkpoint.from_dict(c) for c in run["checkpoints"]]
    values = [p.value for p in curves.get(TRAIN_LOSS) + curves.get(EVAL_LOSS)]
    times = interleaved({
        "floor": lambda: sorted(values),
        "diagnose": lambda: diagnose(curves, checkpoints),
        "build": lambda: Curves.from_dict(run["series"]),
    }, runs)
    ours, floor = median(times["diagnose"]), median(times["floor"])
    suite.figures.append(Figure(
        "P9", f"`diagnose` of a {steps:,}-step run ({len(values):,} loss points)", ours, "s",
        "–", None, floor=floor, floor_what="sorted() of the same points", runs=runs))
    verdict = diagnose(curves, checkpoints)
    suite.notes.append(
        f"verdict {verdict.verdict}, best checkpoint {verdict.best_checkpoint}; building the"
        f" Curves of all {sum(len(s) for s in curves.series.values()):,} points"
        f" (`Curves.from_dict`) takes {median(times['build']):.3f} s")
    return suite
