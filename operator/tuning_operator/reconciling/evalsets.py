"""The generation of each gs:// evaluation set, read as the operator plans, so a verdict follows it.

A local evaluation set is part of its verdict's key by its content digest (the loader reads
it); a `gs://` object's version is known only to the storage service: its generation. This
module reads it (one metadata request per set per pass, a set shared by several jobs once, and
only for jobs whose Vertex job succeeded: nobody else has a verdict yet) and stamps it on the
jobs of the load, so that the planner's key and the executor's key are the same one.

A read that fails (no credentials, an outage, a deleted object) must never flip the key: that
would throw away a verdict the team paid for on a hiccup. The last generation read, kept in the
job's record so a restart and `plan --state-dir` know it too, stands; the job carries why, for
`plan`; and the set is not asked again for a while (a storage client without credentials may
take seconds to find that out). Nothing here decides: the planner compares the keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tuning_operator.errors import TemporaryError
from tuning_operator.planning.model import ObservedJob, Phase
from tuning_operator.specs import DirectoryLoad

if TYPE_CHECKING:  # `plan` without a state directory imports no status store (issue 31, P7)
    from tuning_operator.state.store import JobRecord

GCS_SCHEME = "gs://"
RETRY_SECONDS = 30.0  # a set whose generation could not be read is asked again after this
# ... unless nothing but a person can help (no credentials, no such object): a storage client
# without credentials may spend seconds of a pass finding that out again.
STUCK_RETRY_SECONDS = 600.0

Stat = Callable[[str], str]  # gs:// URI → its generation; raises when it cannot be read
Stamp = tuple[str | None, str | None]  # (generation the key uses, why it is not the current one)


READ_DEADLINE = 5.0  # seconds for the one metadata request, without retries: a pass goes on


def storage_generation() -> Stat:
    """The generation as the dataset reader sees it (`DatasetObjects.stat`: one get_blob)."""
    from tuning_operator.datasets.objects import DatasetObjects  # a storage client on first use

    objects = DatasetObjects()
    return lambda uri: objects.stat(uri, deadline=READ_DEADLINE).generation


class EvaluationSetVersions:
    """Stamps each job's gs:// evaluation set with its generation; the same load, while the
    directory and the generations are unchanged (a quiet pass compares loads by identity)."""

    def __init__(self, stat: Stat | None, *, log: Any = None) -> None:
        """`stat` None reads nothing (`plan --offline`): each set keeps its last generation.
        `log`: where a failed read is told (the operator's log; `plan` tells it in the plan)."""
        self._stat = stat
        self._not_before: dict[str, tuple[float, str]] = {}  # a failed read: until, why
        self._last: tuple[DirectoryLoad, dict[str, Stamp], DirectoryLoad] | None = None
        self.log = log

    def stamp(self, load: DirectoryLoad, actual: Sequence[ObservedJob],
              records: Mapping[str, JobRecord], *, now: float) -> DirectoryLoad:
        """`load` with each gs:// set's generation; a generation read is kept in the record."""
        succeeded = {o.job_name for o in actual if o.job_name and o.phase == Phase.SUCCEEDED}
        read: dict[str, Stamp] = {}  # by URI: one request per set per pass
        stamps: dict[str, Stamp] = {}
        for name, loaded in load.jobs.items():
            uri = loaded.evaluation_dataset
            if uri is None or not uri.startswith(GCS_SCHEME):
                continue
            record = records.get(name)
            known = record.evaluation_set_generation if record is not None else None
            if name not in succeeded or self._stat is None:
                if known is not None:
                    stamps[name] = (known, None)
                continue
            if uri not in read:
                read[uri] = self._read(uri, now)
            generation, problem = read[uri]
            if generation is not None and record is not None:
                record.evaluation_set_generation = generation
            stamps[name] = (generation, None) if generation is not None else (
                known, _unread(problem, known))
        if not stamps:  # no gs:// set has a generation: the loader's own object, untouched
            return load
        if self._last is not None and self._last[0] is load and self._last[1] == stamps:
            return self._last[2]
        jobs = {name: replace(loaded, evaluation_generation=stamps[name][0],
                              evaluation_unread=stamps[name][1]) if name in stamps else loaded
                for name, loaded in load.jobs.items()}
        stamped = replace(load, jobs=jobs)
        self._last = (load, stamps, stamped)
        return stamped

    def _read(self, uri: str, now: float) -> Stamp:
        """(generation, None), or (None, why not): a failure is not asked again for a while."""
        assert self._stat is not None
        waiting = self._not_before.get(uri)
        if waiting is not None and now < waiting[0]:
            return None, waiting[1]
        try:
            generation = self._stat(uri)
        except Exception as exc:  # any failure keeps the key: a pass never fails for it
            retry = (max(RETRY_SECONDS, exc.retry_after) if isinstance(exc, TemporaryError)
                     else RETRY_SECONDS if isinstance(exc, OSError) else STUCK_RETRY_SECONDS)
            self._not_before[uri] = (now + retry, str(exc) or type(exc).__name__)
            if self.log is not None:
                self.log.warning("evaluation_set_unread", uri=uri, error=str(exc),
                                 retry_in=retry)
            return None, self._not_before[uri][1]
        self._not_before.pop(uri, None)
        return generation, None


def _unread(problem: str | None, known: str | None) -> str:
    kept = (f"the verdict's key keeps generation {known}" if known is not None
            else "no generation is known yet")
    return f"the evaluation set's generation cannot be read ({problem}): {kept}"
