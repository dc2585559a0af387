"""`LoadedJob`: what the loader keeps of one valid job file, one per job, 10,000s of them.

Slotted (issue 31, P5): no `__dict__` per job. Its own module so that the loader reads as the
incremental cache and the assembly of a directory's load.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tuning_operator.specs.model import TuningJob
from tuning_operator.specs.ratings import HumanRating


@dataclass(frozen=True, slots=True)  # slots: one is kept per job, 10,000s of them
class LoadedJob:
    """A valid job file."""

    path: str  # relative to the jobs directory
    team: str
    job: TuningJob
    spec_hash: str
    evaluation_dataset: str | None = None  # gs:// URI, or the resolved local path
    evaluation_digest: str | None = None  # a local set's content digest (None for gs://)
    # A gs:// set's object generation, stamped by the operator as it plans
    # (`reconciling/evalsets.py`): the loader reads no cloud. `evaluation_unread` says why it
    # is the last known one, not the current one (the read failed).
    evaluation_generation: str | None = None
    evaluation_unread: str | None = None
    # The base model the job tunes in the end: spec.baseModel, or the one its
    # `preTunedModel.job` chain starts from; None when not known offline (a tunedModel).
    base_model: str | None = None
    # Where it tunes when its file names no region: its parent's region (None: the default).
    inherited_region: str | None = None
    # Why no Vertex job may be created for it (a missing parent, a retired model); a job whose
    # Vertex job exists is kept as it is.
    uncreatable: str | None = None
    # The evaluation's other local files: the human ratings as read and checked, and a local
    # `baseline.fewShotFrom` resolved (a gs:// one stays in the spec).
    human_ratings: tuple[HumanRating, ...] = ()
    few_shot_from: str | None = None
    _labels: frozenset[str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.job.metadata.name

    @property
    def spec_labels(self) -> frozenset[str]:
        """The spec label values that mean this spec: the v2 hash's, and the first release's
        (v1) when the spec has one. Only a Vertex job whose label is not the v2 one needs the
        v1 hash, so it is computed then, once (issue 31: it was a tenth of a cold load), and
        kept in a slot of its own (a slotted class has no `__dict__` for `cached_property`)."""
        labels = self._labels
        if labels is None:
            legacy = self.job.legacy_spec_hash()
            labels = frozenset(h[:16] for h in (self.spec_hash, legacy) if h is not None)
            object.__setattr__(self, "_labels", labels)
        return labels

    @property
    def region(self) -> str | None:
        """Where it tunes: its file's region, else its parent's (None: the default region)."""
        return self.job.spec.region or self.inherited_region
