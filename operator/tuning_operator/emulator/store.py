"""The emulated GenAiTuningService's semantics: create, get, list and cancel tuning jobs.

Transport-free: the gRPC and REST servers both call these methods with the real aiplatform_v1
message types and turn `ApiError` into their own error form. Server-chosen numeric ids, create
order as the stable list order, validation like Vertex and the state file live here; the
concurrent-job quota is counted in `quota`, states come from `timeline`, faults are not this
module's business.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import orjson
from google.cloud import aiplatform_v1
from google.protobuf import json_format
from google.rpc import status_pb2

from tuning_operator.emulator import experiments, paging, statefile, tuning_evaluation
from tuning_operator.emulator.datastats import CountedData, data_stats
from tuning_operator.emulator.filtering import FilterError, JobFacts, compile_filter
from tuning_operator.emulator.quota import ConcurrentJobQuota
from tuning_operator.emulator.registry import ModelRegistry, Registration
from tuning_operator.emulator.status import ApiError, invalid_argument
from tuning_operator.emulator.timeline import (
    CANCELLING,
    SUCCEEDED,
    JobRecord,
    Observation,
    Outcome,
    observe,
)
from tuning_operator.emulator.training_data import TrainingDataReader
from tuning_operator.emulator.validation import (
    TunedModelFacts,
    check_create,
    parse_job_name,
    parse_parent,
)
from tuning_operator.specs.catalog import Catalog

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100  # larger page sizes are coerced down, as AIP-158 allows
OUTCOME_LABEL = "emulator-outcome"  # "fail": the job ends FAILED
DURATION_LABEL = "emulator-duration-ms"  # digits: this job runs that long instead of job_seconds
_OUTPUT_ONLY = (
    "name",
    "state",
    "create_time",
    "start_time",
    "end_time",
    "update_time",
    "error",
    "tuned_model",
    "tuning_data_stats",
    "experiment",
    "evaluate_dataset_runs",
)
QUOTA_SCOPES = ("global", "region")


@dataclass(frozen=True)
class StoreSettings:
    """Timings and quota of the emulated project."""

    job_seconds: float = 60.0
    cancel_seconds: float = 1.0
    max_active: int | None = None  # active jobs per quota scope; None: unlimited
    # "global": one count per project across every region, as Vertex's concurrent tuning job
    # quota (seed 003); "region": one count per project and region.
    quota_scope: str = "global"

    def __post_init__(self) -> None:
        if self.quota_scope not in QUOTA_SCOPES:
            raise ValueError(f"quota_scope must be one of {QUOTA_SCOPES}, not"
                             f" {self.quota_scope!r}")


def _timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class JobStore:
    """Every emulated tuning job, in create order, optionally persisted to a state file."""

    def __init__(
        self,
        settings: StoreSettings,
        *,
        catalog: Catalog,
        clock: Callable[[], float],
        rng: random.Random,
        state_file: Path | None = None,
        training_data: TrainingDataReader | None = None,
    ) -> None:
        self._settings = settings
        self._training_data = training_data
        self._catalog = catalog
        self._clock = clock
        self._rng = rng
        self._state_file = state_file
        self._lock = threading.Lock()
        self._records: list[JobRecord] = []
        self._index: dict[str, int] = {}
        self._ids: set[str] = set()
        # The Model versions the succeeded jobs registered; their aliases beside the state file.
        self._unregistrable: set[str] = set()  # jobs that ended without a tuned model
        self.models = ModelRegistry(aliases_file=None if state_file is None else
                                    state_file.with_name(f"{state_file.name}.models"))
        self._quota = ConcurrentJobQuota(max_active=settings.max_active,
                                         quota_scope=settings.quota_scope,
                                         current=lambda n: self._records[self._index[n]])
        if state_file is not None:
            for document in statefile.load(state_file):
                self._append(self._record_from_document(document))

    @property
    def settings(self) -> StoreSettings:
        return self._settings

    def create(self, parent: str, job: aiplatform_v1.TuningJob) -> aiplatform_v1.TuningJob:
        location = parse_parent(parent)
        clean = aiplatform_v1.TuningJob.deserialize(aiplatform_v1.TuningJob.serialize(job))
        for field in _OUTPUT_ONLY:
            delattr(clean, field)
        labels = dict(clean.labels)
        outcome: Outcome = "fail" if labels.get(OUTCOME_LABEL) == "fail" else "succeed"
        scripted_ms = labels.get(DURATION_LABEL, "")
        duration = int(scripted_ms) / 1000 if scripted_ms.isdigit() else self._settings.job_seconds
        # Read before the lock (a bounded HTTP read at most; None without a storage emulator).
        training = (self._training_data.read(clean.supervised_tuning_spec.training_dataset_uri)
                    if self._training_data is not None else None)
        with self._lock:
            now = self._clock()
            self._register_models(now)
            base = check_create(job, self._catalog, region=location.region,
                                tuned_models=lambda name: self._tuned_model(name, now))
            counted = None
            if training is not None:
                model = self._catalog.get(base)
                limit = model.max_tokens_per_example if model else None
                counted = CountedData(
                    examples=training.examples, tokens=training.trained(limit),
                    characters=training.characters, truncated=training.over(limit))
            if "pre_tuned_model" in clean:
                clean.pre_tuned_model.base_model = base  # output only: Vertex fills it in
            self._quota.check(location, now)
            record = JobRecord(
                seq=len(self._records) + 1,
                name=f"{location.parent}/tuningJobs/{self._new_id()}",
                submitted=json_format.MessageToDict(aiplatform_v1.TuningJob.pb(clean)),
                labels=labels,
                created_at=now,
                duration=duration,
                outcome=outcome,
                cancel_seconds=self._settings.cancel_seconds,
                counted=counted,
                wire=aiplatform_v1.TuningJob.serialize(clean),
            )
            self._append(record)
            self._quota.note_peak(location, now)
            self._persist()
            return self._render(record, now)

    def get(self, name: str) -> aiplatform_v1.TuningJob:
        with self._lock:
            record = self._find(name)
            now = self._clock()
            self._register_models(now)
            return self._render(record, now)

    def cancel(self, name: str) -> None:
        with self._lock:
            record = self._find(name)
            now = self._clock()
            seen = observe(record, now)
            if seen.state == CANCELLING:
                return
            if not seen.active:
                raise ApiError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"Cannot cancel tuning job {name}: it is already in state {seen.state}.",
                )
            cancelled = replace(record, cancel_requested_at=now)
            self._records[self._index[name]] = cancelled
            self._quota.add(cancelled, moved=True)
            self._persist()

    def list(
        self, request: aiplatform_v1.ListTuningJobsRequest
    ) -> aiplatform_v1.ListTuningJobsResponse:
        location = parse_parent(request.parent)
        if request.page_size < 0:
            raise invalid_argument(f"page_size must not be negative, got {request.page_size}.")
        size = min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        try:
            matches = compile_filter(request.filter)
        except FilterError as error:
            raise invalid_argument(f"Invalid filter {request.filter!r}: {error}") from None
        fingerprint = paging.fingerprint(location.parent, request.filter)
        after = paging.read_page_token(request.page_token, fingerprint)
        page: list[aiplatform_v1.TuningJob] = []
        page_end = after
        with self._lock:
            now = self._clock()
            self._register_models(now)
            for record in self._records[after:]:
                if record.parent != location.parent:
                    continue
                seen = observe(record, now)
                if not matches(JobFacts(labels=record.labels, state=seen.state)):
                    continue
                if len(page) == size:
                    token = paging.page_token(page_end=page_end, fingerprint=fingerprint)
                    return aiplatform_v1.ListTuningJobsResponse(
                        tuning_jobs=page, next_page_token=token
                    )
                page.append(self._render(record, now, seen))
                page_end = record.seq
        return aiplatform_v1.ListTuningJobsResponse(tuning_jobs=page)

    def served_by(self, endpoint: str) -> aiplatform_v1.TuningJob | None:
        """The SUCCEEDED job whose tuned model (or one of its checkpoints) `endpoint` serves."""
        parent, _, endpoint_id = endpoint.rpartition("/endpoints/")
        with self._lock:
            now = self._clock()
            self._register_models(now)
            direct = self._index.get(f"{parent}/tuningJobs/{endpoint_id}")
            candidates = ([self._records[direct]] if direct is not None
                          else [r for r in self._records if r.parent == parent])
            for record in candidates:
                tuned = self._render(record, now).tuned_model
                if endpoint in (tuned.endpoint, *(c.endpoint for c in tuned.checkpoints)):
                    return self._render(record, now)
        return None

    def sync_models(self) -> None:
        """Register the Model versions of the jobs that succeeded by now (ModelService calls)."""
        with self._lock:
            self._register_models(self._clock())

    def observe_job(self, name: str) -> tuple[JobRecord, Observation, float]:
        """A job's record, its state now, and now (NOT_FOUND when there is no such job)."""
        with self._lock:
            record = self._find(name)
            now = self._clock()
            return record, observe(record, now), now

    def active_count(self, parent: str) -> int:
        """How many jobs under `parent` (one region) hold a concurrent-job quota slot now."""
        with self._lock:
            return self._quota.active_in(parent, self._clock())

    def active_summary(self) -> dict[str, dict[str, Any]]:
        """Per project: jobs active now, by region, and the most ever active at once in one
        quota scope since start (`peak`; sampled at each create, where the count can grow)."""
        with self._lock:
            now = self._clock()
            summary: dict[str, dict[str, Any]] = {}
            for record in self._records:
                project = record.parent.split("/")[1]
                entry = summary.setdefault(project, {"active": 0, "regions": {}, "peak": 0})
                if observe(record, now).active:
                    region = record.parent.rsplit("/", 1)[1]
                    entry["active"] += 1
                    entry["regions"][region] = entry["regions"].get(region, 0) + 1
            for key, peak in self._quota.peaks.items():
                project = key.split("/")[1]
                if project in summary:
                    summary[project]["peak"] = max(summary[project]["peak"], peak)
            return summary

    # -- internals (callers hold the lock) ------------------------------------------------

    def _register_models(self, now: float) -> None:
        """Each job that succeeded by `now` and has no Model version yet gets one."""
        ended = []
        for record in self._records:
            if record.name in self._unregistrable or self.models.of_job(record.name):
                continue
            seen = observe(record, now)
            if not seen.active and seen.state != SUCCEEDED:
                self._unregistrable.add(record.name)  # ended otherwise: never a Model version
            elif seen.state == SUCCEEDED and seen.end_time is not None:
                submitted = record.submitted
                ended.append(Registration(
                    job=record.name, ended_at=seen.end_time,
                    display_name=str(submitted.get("tunedModelDisplayName", "")),
                    parent_model=submitted.get("preTunedModel", {}).get("tunedModelName")))
        if ended:
            self.models.register(ended)

    def _tuned_model(self, model: str, now: float) -> TunedModelFacts | None:
        """The base model and checkpoint ids of `model` (…/models/ID, @VERSION or @ALIAS) when
        it is the tuned model of a job here that succeeded; None otherwise."""
        version = self.models.resolve(model)
        position = self._index.get(version.job) if version is not None else None
        if position is None:
            return None
        record = self._records[position]
        if observe(record, now).state != SUCCEEDED:
            return None
        submitted = record.submitted
        base = submitted.get("baseModel") or submitted.get("preTunedModel", {}).get("baseModel")
        if not base:
            return None
        return TunedModelFacts(
            base_model=str(base).removeprefix("publishers/google/models/"),
            checkpoints=tuple(c.checkpoint_id for c in experiments.checkpoints(record)),
        )

    def _new_id(self) -> str:
        while True:
            candidate = str(self._rng.randrange(10**18, 10**19))
            if candidate not in self._ids:
                return candidate

    def _append(self, record: JobRecord) -> None:
        self._index[record.name] = len(self._records)
        self._ids.add(record.job_id)
        self._records.append(record)
        self._quota.add(record)

    def _find(self, name: str) -> JobRecord:
        parse_job_name(name)
        position = self._index.get(name)
        if position is None:
            raise ApiError(grpc.StatusCode.NOT_FOUND, f"TuningJob {name} not found.")
        return self._records[position]

    def _persist(self) -> None:
        if self._state_file is not None:
            statefile.save(self._state_file, self._records)

    def _record_from_document(self, document: dict[str, Any]) -> JobRecord:
        submitted = document["submitted"]
        job = aiplatform_v1.TuningJob.from_json(orjson.dumps(submitted).decode())
        return JobRecord(
            seq=len(self._records) + 1,
            name=document["name"],
            submitted=submitted,
            labels=dict(job.labels),
            created_at=float(document["createdAt"]),
            duration=float(document["durationSeconds"]),
            outcome=document["outcome"],
            cancel_requested_at=document["cancelRequestedAt"],
            cancel_seconds=float(document["cancelSeconds"]),
            counted=statefile.counted_from(document),
            wire=aiplatform_v1.TuningJob.serialize(job),
        )

    def _render(
        self, record: JobRecord, now: float, seen: Observation | None = None
    ) -> aiplatform_v1.TuningJob:
        seen = seen or observe(record, now)
        job: aiplatform_v1.TuningJob = aiplatform_v1.TuningJob.deserialize(record.wire)
        job.name = record.name
        job.state = getattr(aiplatform_v1.JobState, seen.state)
        job.create_time = _timestamp(record.created_at)
        job.update_time = _timestamp(seen.entered_at)
        if seen.start_time is not None:
            job.start_time = _timestamp(seen.start_time)
        if seen.end_time is not None:
            job.end_time = _timestamp(seen.end_time)
        if seen.start_time is not None:
            job.experiment = experiments.experiment_name(record)
        if seen.error_code:
            job.error = status_pb2.Status(code=seen.error_code, message=seen.error_message)
        if seen.start_time is not None:  # Vertex has read the dataset once the job runs
            job.tuning_data_stats = data_stats(record.labels, record.submitted, record.counted)
        if seen.state == SUCCEEDED:
            prefix = record.parent
            version = self.models.of_job(record.name)
            job.tuned_model = aiplatform_v1.TunedModel(
                model=version.name if version else f"{prefix}/models/{record.job_id}@1",
                endpoint=f"{prefix}/endpoints/{record.job_id}",
                checkpoints=experiments.checkpoints(record),
            )
            job.evaluate_dataset_runs = tuning_evaluation.evaluate_dataset_runs(record)
        return job
