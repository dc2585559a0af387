"""The emulated Model Registry: the Model versions tuning jobs register, and their aliases.

Vertex registers a Model version when a tuning job succeeds: a job from a base model starts a
new Model at version 1 (which carries `default`); a job that continues a tuned model
(`pre_tuned_model`) with that model's display name adds version N+1 to the same Model, any
other display name starts a new Model. Versions are derived from the jobs in the order they
ended, so a restarted emulator numbers them the same; the aliases are the one thing a client
changes (`MergeVersionAliases`), kept in a file of their own beside the job state.

Vertex's alias rules live here: the format, one version per alias within a Model (adding an
alias takes it off the version that held it), `-alias` removes, `default` is on exactly one
version and cannot be removed. Transport-free, like the job store; no faults, no counting.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import orjson

from tuning_operator.emulator import statefile
from tuning_operator.emulator.status import ApiError, invalid_argument

DEFAULT = "default"
_ALIAS = re.compile(r"[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]")
_MODEL = re.compile(r"(?P<model>projects/[^/]+/locations/[^/]+/models/[^/@]+)(@(?P<ref>[^/@]+))?")


@dataclass(frozen=True)
class Registration:
    """A succeeded tuning job, as the registry needs it to give it a Model version."""

    job: str  # projects/P/locations/L/tuningJobs/ID
    ended_at: float
    display_name: str
    parent_model: str | None  # pre_tuned_model.tuned_model_name, as sent


@dataclass(frozen=True)
class ModelVersion:
    model: str  # projects/P/locations/L/models/ID
    version_id: str
    job: str  # the tuning job that registered it
    display_name: str
    created_at: float

    @property
    def name(self) -> str:
        return f"{self.model}@{self.version_id}"


def model_of_job(job: str) -> str:
    """The Model a job starts when it starts one: its id is the job's (as the emulator's
    endpoints are)."""
    parent, _, job_id = job.rpartition("/tuningJobs/")
    return f"{parent}/models/{job_id}"


class ModelRegistry:
    """Model versions by job and by Model, and the aliases clients put on them."""

    def __init__(self, *, aliases_file: Path | None = None) -> None:
        self._file = aliases_file
        self._lock = threading.Lock()
        self._by_job: dict[str, ModelVersion] = {}
        self._versions: dict[str, list[ModelVersion]] = {}
        self._aliases: dict[str, dict[str, str]] = {}  # model → alias → version id
        if aliases_file is not None and aliases_file.exists():
            document = orjson.loads(aliases_file.read_bytes())
            self._aliases = {m: dict(a) for m, a in document.get("aliases", {}).items()}

    def register(self, ended: Iterable[Registration]) -> None:
        """Give each newly succeeded job its version, in the order the jobs ended."""
        with self._lock:
            for job in sorted(ended, key=lambda r: r.ended_at):
                if job.job in self._by_job:
                    continue
                parent = self._resolve(job.parent_model) if job.parent_model else None
                if parent is not None and parent.display_name == job.display_name:
                    model = parent.model
                else:
                    model = model_of_job(job.job)
                versions = self._versions.setdefault(model, [])
                version = ModelVersion(model=model, version_id=str(len(versions) + 1),
                                       job=job.job, display_name=job.display_name,
                                       created_at=job.ended_at)
                versions.append(version)
                self._by_job[job.job] = version

    def of_job(self, job: str) -> ModelVersion | None:
        with self._lock:
            return self._by_job.get(job)

    def resolve(self, name: str) -> ModelVersion | None:
        """`…/models/ID`, `…@VERSION` or `…@ALIAS` → the version (None: there is none)."""
        with self._lock:
            return self._resolve(name)

    def versions(self, model: str) -> Sequence[ModelVersion]:
        match = _MODEL.fullmatch(model)
        if match is None or match["ref"] is not None:
            raise invalid_argument(f"Invalid Model name {model!r}: expected"
                                   " projects/{project}/locations/{location}/models/{model}.")
        with self._lock:
            versions = list(self._versions.get(model, ()))
        if not versions:
            raise ApiError(grpc.StatusCode.NOT_FOUND, f"Model {model} not found.")
        return versions

    def aliases_of(self, version: ModelVersion) -> list[str]:
        with self._lock:
            return self._aliases_of(version)

    def merge(self, name: str, version_aliases: Sequence[str]) -> ModelVersion:
        """MergeVersionAliases: add (`alias`) and remove (`-alias`) aliases of one version."""
        match = _MODEL.fullmatch(name)
        if match is None or match["ref"] is None or not match["ref"].isdigit():
            raise invalid_argument(f"Invalid model version name {name!r}: MergeVersionAliases"
                                   " needs projects/{project}/locations/{location}/models/"
                                   "{model}@{version_id}.")
        adds, removes = _split(version_aliases)
        with self._lock:
            version = self._resolve(name)
            if version is None:
                raise ApiError(grpc.StatusCode.NOT_FOUND, f"Model {name} not found.")
            aliases = self._aliases.setdefault(version.model, {})
            for alias in removes - adds:  # adding and removing one alias cancel out
                if aliases.get(alias) == version.version_id:
                    del aliases[alias]
            for alias in adds - removes:
                aliases[alias] = version.version_id  # off whichever version held it
            self._save()
            return version

    # -- internals (callers hold the lock) ------------------------------------------------

    def _resolve(self, name: str) -> ModelVersion | None:
        match = _MODEL.fullmatch(name)
        if match is None:
            return None
        versions = self._versions.get(match["model"], [])
        ref = match["ref"] or DEFAULT
        if not ref.isdigit():
            ref = self._aliases.get(match["model"], {}).get(ref) or (
                "1" if ref == DEFAULT else "")
        return next((v for v in versions if v.version_id == ref), None)

    def _aliases_of(self, version: ModelVersion) -> list[str]:
        aliases = self._aliases.get(version.model, {})
        held = sorted(a for a, v in aliases.items() if v == version.version_id)
        if DEFAULT not in aliases and version.version_id == "1":
            held.insert(0, DEFAULT)
        return held

    def _save(self) -> None:
        if self._file is not None:
            statefile.write_json(self._file, {"aliases": self._aliases})


def _split(version_aliases: Sequence[str]) -> tuple[set[str], set[str]]:
    """The aliases to add and to remove, each checked against Vertex's format."""
    if not version_aliases:
        raise invalid_argument("version_aliases must not be empty.")
    adds: set[str] = set()
    removes: set[str] = set()
    for raw in version_aliases:
        alias = raw.removeprefix("-")
        if _ALIAS.fullmatch(alias) is None:
            raise invalid_argument(f"Invalid version alias {raw!r}: an alias matches"
                                   " [a-z][a-zA-Z0-9-]{0,126}[a-z0-9] (prefix '-' to remove it).")
        if raw.startswith("-") and alias == DEFAULT:
            raise invalid_argument("The default version alias cannot be removed; move it by"
                                   " adding `default` to another version.")
        (removes if raw.startswith("-") else adds).add(alias)
    return adds, removes
