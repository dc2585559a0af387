"""Which Vertex job is a job file's: the one with its name, its team and its spec.

A Vertex job answers to a file when its team label is the file's team and its spec label is the
file's spec hash (current or an earlier hash version), or the hash of the file written with the
other spelling of the parent the job was created from (`{job: X}` or the `{tunedModel,
checkpointId}` it resolved to): Vertex got the same request either way. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tuning_operator.planning.model import Lineage, ObservedJob
from tuning_operator.specs import labels as owner
from tuning_operator.specs.loader import LoadedJob
from tuning_operator.specs.model import PreTunedModel


def current_job(loaded: LoadedJob, observed: Sequence[ObservedJob],
                lineage: Lineage | None = None,
                resolved: Lineage | None = None) -> ObservedJob | None:
    """The Vertex job that is this file's spec (by its spec label, current or earlier hash, or
    the other spelling of the parent it was created from)."""
    current = loaded.spec_hash[:16]  # most labels are: the earlier hashes only when not
    other = spellings(loaded, lineage, resolved)
    mine = [o for o in observed if owned_by(o, loaded.team) and (
        o.spec_hash == current or o.spec_hash in other or o.spec_hash in loaded.spec_labels)]
    return newest(mine) if mine else None


def newest(jobs: Iterable[ObservedJob]) -> ObservedJob:
    # Resource ids grow with creation; create_time breaks no tie the id does not.
    return max(jobs, key=lambda j: (j.create_time.timestamp() if j.create_time else 0, j.name))


def owned_by(job: ObservedJob, team: str) -> bool:
    """A Vertex job is a team's only if its team label says so (jobs of the first release
    without one count as anybody's, as they did then)."""
    label = job.labels.get(owner.TEAM)
    return label is None or label == team


def spellings(loaded: LoadedJob, lineage: Lineage | None,
              resolved: Lineage | None = None) -> frozenset[str]:
    """The spec labels this file also answers to: the other spelling of the parent the job was
    created from. Created from `{job: X}` and now naming the very `{tunedModel, checkpointId}`
    that resolved to; or created from a `{tunedModel, checkpointId}` and now naming a job that
    `resolved` (its resolution now) to exactly that. Either way Vertex got the same request."""
    pre = loaded.spec.pre_tuned_model
    if pre is None or lineage is None:
        return frozenset()
    if pre.tuned_model is not None and lineage.job is not None and (
            (pre.tuned_model, pre.checkpoint_id) == lineage.sent):
        written = PreTunedModel(job=lineage.job, checkpoint=lineage.checkpoint)
    elif pre.job is not None and lineage.job is None and resolved is not None and (
            resolved.sent == lineage.sent):
        written = PreTunedModel(tuned_model=lineage.tuned_model,
                                checkpoint_id=lineage.checkpoint_id)
    else:
        return frozenset()
    spec = loaded.job.spec.model_copy(update={"pre_tuned_model": written})
    return loaded.job.model_copy(update={"spec": spec}).spec_labels()


def respelled_as_job(loaded: LoadedJob, lineage: Lineage | None) -> bool:
    """Created from a `tunedModel`, the file now names a `job`: only that job's resolution can
    tell whether it is the same parent."""
    pre = loaded.spec.pre_tuned_model
    return (pre is not None and pre.job is not None and lineage is not None
            and lineage.job is None)
