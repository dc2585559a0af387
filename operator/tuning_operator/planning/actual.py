"""`plan --actual FILE`: Vertex jobs as a List call returned them, read strictly.

A plan is only as true as its actual state. A file that holds one page of a paged List, a key
misspelt (`tuningjobs`), a job without its state or with a name that is no resource name, the
same job twice or labels that are no map would each make the plan say something false ("40 to
create" for jobs that exist), so each is one error naming the entry, never a guess or a
traceback. Pure: the caller reads the file and decodes the JSON.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tuning_operator.planning.model import ObservedJob

RESPONSE_KEYS = frozenset({"tuningJobs", "nextPageToken"})
_RESOURCE = re.compile(r"projects/[^/\s]+/locations/[^/\s]+/tuningJobs/[^/\s]+")


def parse_actual(document: Any) -> list[ObservedJob]:
    """The jobs of a JSON list, or of one complete List response `{"tuningJobs": [...]}`;
    raises ValueError with one line naming what is wrong and where."""
    items = _items(document)
    jobs: list[ObservedJob] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        where = f"job #{index}"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: expected an object with `name`, `state` and `labels`")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where}: no `name` (a string, projects/P/locations/R/tuningJobs/ID)")
        where = f"{where} ({name})"
        if not _RESOURCE.fullmatch(name):
            raise ValueError(f"{where}: `name` is not a tuning job resource name"
                             " (projects/P/locations/R/tuningJobs/ID)")
        if name in seen:
            raise ValueError(f"{where}: the same job as job #{seen[name]}; a List returns each"
                             " job once")
        seen[name] = index
        jobs.append(_job(item, name, where))
    return jobs


def _items(document: Any) -> list[Any]:
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        raise ValueError("expected a JSON list of jobs or a List response {\"tuningJobs\": [...]}")
    unknown = sorted(set(document) - RESPONSE_KEYS)
    if unknown:
        raise ValueError(f"unknown top-level key(s) {', '.join(map(repr, unknown))}: a List"
                         " response has `tuningJobs` (and `nextPageToken`)")
    if document.get("nextPageToken"):
        raise ValueError("`nextPageToken` is set: this is one page of a paged List; jobs on the"
                         " other pages would look absent (and be planned as creates): put every"
                         " page's `tuningJobs` in the file")
    items = document.get("tuningJobs", [])
    if not isinstance(items, list):
        raise ValueError("`tuningJobs` is not a list")
    return items


def _job(item: dict[str, Any], name: str, where: str) -> ObservedJob:
    state = item.get("state")
    if not isinstance(state, str) or not state:
        raise ValueError(f"{where}: no `state` (e.g. JOB_STATE_RUNNING)")
    labels = item.get("labels")
    if labels is None:
        labels = {}
    if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise ValueError(f"{where}: `labels` must be a map of strings to strings")
    created = item.get("createTime")
    try:
        return ObservedJob(
            name=name, state=state, labels=labels,
            create_time=datetime.fromisoformat(created.replace("Z", "+00:00"))
            if isinstance(created, str) else None)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
