"""`JobSummary`: what the operator keeps of a valid job file, one per job, 10,000s of them.

Pydantic validates; the operator then keeps, per job, the few spec fields it reads on every
pass (the planner, the identity of its Vertex job, its status record) and the validated job
itself in a compact form: its JSON, compressed against a dictionary of the model's keys (about
200 bytes where the models took 1.4 kB and the strings they held 0.4 kB; issue 31, P5). The
whole `TuningJob` is needed only by the actions that use all of it (a create, a pre-flight
check, the aftercare); `JobSummary.job` rebuilds it from that form, exactly as validated (the
JSON of a frozen model validates back to an equal model with the same fields set and the same
spec hash), and keeps the most recent ones in a small cache of its own, so that a job read
twice in a row is one object and a pass that creates 10,000 jobs holds a few hundred models at
once. The form is what was validated, never the file read again: a file changed since its load
cannot lend a create its new content under the old spec hash (the next load sees the change).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel
from pydantic_core import from_json

from tuning_operator.lru import Lru
from tuning_operator.specs import evaluation as evaluation_models
from tuning_operator.specs import model as job_models
from tuning_operator.specs.model import TuningJob

if TYPE_CHECKING:
    from tuning_operator.specs.evaluation import EvaluationSpec, SmokeTest
    from tuning_operator.specs.model import PreTunedModel
    from tuning_operator.specs.sharing import SharedParts

RECENT_JOBS = 256  # rebuilt jobs kept; a create, its pre-flight and its aftercare reuse one


class EvaluatedSpec(Protocol):
    @property
    def evaluation(self) -> EvaluationSpec | None: ...


class Evaluated(Protocol):
    """A job whose evaluation block is read: a `TuningJob`, a `LoadedJob` or a summary."""

    @property
    def spec(self) -> EvaluatedSpec: ...


def _keys() -> bytes:
    """The deflate dictionary: every key a job file may use, as JSON writes them, and the
    fixed head of every job (most of a small document is its keys)."""
    names: set[str] = set()
    for module in (job_models, evaluation_models):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel):
                names.update(f.alias or n for n, f in value.model_fields.items())
    head = '{"apiVersion":"tuning-operator/v1","kind":"TuningJob","metadata":{"name":"'
    return ("".join(f'"{name}":' for name in sorted(names)) + head).encode()


_DICTIONARY = _keys()
_WBITS = -15  # raw deflate: no header or checksum for a few hundred bytes


def _pack(job: TuningJob) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, _WBITS, 8, zdict=_DICTIONARY)
    data = job.model_dump_json(by_alias=True, exclude_unset=True).encode()
    return packer.compress(data) + packer.flush()


def _validated(packed: bytes) -> TuningJob:
    """The packed job validated again, from the plain values a file's YAML gives as well (the
    JSON parser's string cache is off: it would keep 16,384 of the jobs' strings alive)."""
    data = zlib.decompressobj(_WBITS, zdict=_DICTIONARY).decompress(packed)
    return TuningJob.model_validate(from_json(data, cache_strings=False))


class JobSummary:
    """A valid job: the spec fields read every pass (named as in `Spec`, so `summary.cancel`
    reads as `spec.cancel`) and the whole job, compact, rebuilt on demand (`job`)."""

    __slots__ = (
        "_shared",
        "_stored",
        "base_model",
        "cancel",
        "evaluation",
        "name",
        "on_delete",
        "on_spec_change",
        "pre_tuned_model",
        "priority",
        "region",
        "smoke_test",
    )

    name: str
    base_model: str | None
    pre_tuned_model: PreTunedModel | None
    region: str | None
    priority: int
    cancel: bool
    on_delete: Literal["Orphan", "Cancel"]
    on_spec_change: Literal["Conflict", "Replace"]
    evaluation: EvaluationSpec | None  # kept whole: few jobs have one, each reads it often
    smoke_test: SmokeTest | None

    def __init__(self, job: TuningJob, *, shared: SharedParts | None = None,
                 compact: bool = True) -> None:
        """`compact`: keep the job packed and rebuild it when asked (the loader, with its
        `shared` parts); otherwise keep `job` itself (a job made in code, e.g. a copy with an
        update, which need not validate again)."""
        spec = job.spec
        self.name = job.metadata.name
        self.base_model = spec.base_model
        self.pre_tuned_model = spec.pre_tuned_model
        self.region = spec.region
        self.priority = spec.priority
        self.cancel = spec.cancel
        self.on_delete = spec.on_delete
        self.on_spec_change = spec.on_spec_change
        self.evaluation = spec.evaluation
        self.smoke_test = spec.smoke_test
        self._shared = shared
        self._stored: bytes | TuningJob = _pack(job) if compact else job
        if compact:
            _RECENT.put(self, job)  # the loader's checks read it next

    @property
    def spec(self) -> JobSummary:
        """Itself: a summary reads as the spec of a job (`Evaluated`)."""
        return self

    @property
    def job(self) -> TuningJob:
        """The validated job (the same object while it is among the recent ones)."""
        stored = self._stored
        if isinstance(stored, TuningJob):
            return stored
        job = _RECENT.get(self)
        if job is None:
            job = _validated(stored)
            if self._shared is not None:
                self._shared.share(job)
            _RECENT.put(self, job)
        return job


_RECENT: Lru[JobSummary, TuningJob] = Lru(RECENT_JOBS)  # by summary: workers read jobs too
