"""`LoadedJob`: what the loader keeps of one valid job file, one per job, 10,000s of them.

Slotted (issue 31, P5): no `__dict__` per job. It holds the job's `JobSummary` (the spec fields
read every pass, `spec`; the whole validated job, `job`, rebuilt when the operator's cache keeps
it packed), not the pydantic model. Its own module so that the loader reads as the incremental
cache and the assembly of a directory's load.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tuning_operator.specs.model import TuningJob
from tuning_operator.specs.ratings import HumanRating
from tuning_operator.specs.summary import JobSummary


@dataclass(frozen=True, slots=True, init=False)  # slots: one is kept per job, 10,000s of them
class LoadedJob:
    """A valid job file."""

    path: str  # relative to the jobs directory
    team: str
    summary: JobSummary
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

    def __init__(  # noqa: PLR0917 -- the fields, as a dataclass's __init__ takes them
        self, path: str, team: str, summary: JobSummary | None = None,
        spec_hash: str = "", evaluation_dataset: str | None = None,
        evaluation_digest: str | None = None, evaluation_generation: str | None = None,
        evaluation_unread: str | None = None, base_model: str | None = None,
        inherited_region: str | None = None, uncreatable: str | None = None,
        human_ratings: tuple[HumanRating, ...] = (), few_shot_from: str | None = None, *,
        job: TuningJob | None = None,
    ) -> None:
        """As the dataclass's, with `job` for `summary`: a job made in code is kept whole."""
        if summary is None:
            if job is None:
                raise TypeError("LoadedJob needs its summary or its job")
            summary = JobSummary(job, compact=False)
        if not spec_hash:
            raise TypeError("LoadedJob needs its spec_hash")
        put = object.__setattr__  # frozen: as the dataclass's own __init__ does
        put(self, "path", path)
        put(self, "team", team)
        put(self, "summary", summary)
        put(self, "spec_hash", spec_hash)
        put(self, "evaluation_dataset", evaluation_dataset)
        put(self, "evaluation_digest", evaluation_digest)
        put(self, "evaluation_generation", evaluation_generation)
        put(self, "evaluation_unread", evaluation_unread)
        put(self, "base_model", base_model)
        put(self, "inherited_region", inherited_region)
        put(self, "uncreatable", uncreatable)
        put(self, "human_ratings", human_ratings)
        put(self, "few_shot_from", few_shot_from)
        put(self, "_labels", None)

    @property
    def job(self) -> TuningJob:
        """The whole validated job: for the actions that need all of it (a create, a
        pre-flight check, the aftercare); the planner reads `spec`."""
        return self.summary.job

    @property
    def spec(self) -> JobSummary:
        """The spec fields read every pass (`spec.cancel`, `spec.priority`, ...)."""
        return self.summary

    @property
    def name(self) -> str:
        return self.summary.name

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
        return self.summary.region or self.inherited_region

