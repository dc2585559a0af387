"""A gs:// evaluation set's generation: read once a pass, stamped on the load, kept on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.job_files import write_job
from tuning_operator.errors import ConfigError, TemporaryError
from tuning_operator.planning.aftercare import Progress, due, evaluation_key
from tuning_operator.planning.gates import Timing
from tuning_operator.planning.model import ObservedJob
from tuning_operator.reconciling.evalsets import (
    RETRY_SECONDS,
    STUCK_RETRY_SECONDS,
    EvaluationSetVersions,
)
from tuning_operator.specs import DirectoryLoad, load_jobs_dir
from tuning_operator.specs.labels import ownership_labels
from tuning_operator.state.store import JobRecord

NOW = 1_800_000_000.0
SET = "gs://evals/team/set.jsonl"


class Bucket:
    """The storage service: a generation per URI, or an error for every read while `down`."""

    def __init__(self) -> None:
        self.generation, self.reads = "7", 0
        self.down: Exception | None = None

    def __call__(self, uri: str) -> str:
        self.reads += 1
        if self.down is not None:
            raise self.down
        return self.generation


def directory(tmp_path: Path, *names: str) -> DirectoryLoad:
    for name in names:
        write_job(tmp_path, name, f"  evaluation: {{dataset: '{SET}'}}\n")
    return load_jobs_dir(tmp_path)


def succeeded(load: DirectoryLoad, *names: str) -> list[ObservedJob]:
    return [ObservedJob(name=f"projects/p/locations/us-central1/tuningJobs/{i}",
                        state="JOB_STATE_SUCCEEDED",
                        labels=ownership_labels(job=n, spec_hash=load.jobs[n].spec_hash,
                                                team="team"))
            for i, n in enumerate(names)]


def test_a_set_shared_by_two_jobs_is_read_once_and_kept_in_their_records(
        tmp_path: Path) -> None:
    """One metadata read a pass for a set, its generation on each job and in each record."""
    load, bucket = directory(tmp_path, "a", "b"), Bucket()
    records = {n: JobRecord(name=n, first_seen=0.0) for n in ("a", "b")}
    stamped = EvaluationSetVersions(bucket).stamp(load, succeeded(load, "a", "b"), records,
                                                  now=NOW)
    assert bucket.reads == 1
    assert [stamped.jobs[n].evaluation_generation for n in ("a", "b")] == ["7", "7"]
    assert [records[n].evaluation_set_generation for n in ("a", "b")] == ["7", "7"]
    assert stamped.jobs["a"].evaluation_unread is None


def test_a_job_not_yet_succeeded_costs_no_read(tmp_path: Path) -> None:
    """No verdict to keep or lose: its set is not read, the last known generation stays, and
    with none known the loader's very load is returned."""
    load, bucket = directory(tmp_path, "a"), Bucket()
    records = {"a": JobRecord(name="a", first_seen=0.0, evaluation_set_generation="3")}
    stamped = EvaluationSetVersions(bucket).stamp(load, [], records, now=NOW)
    assert bucket.reads == 0 and stamped.jobs["a"].evaluation_generation == "3"
    assert EvaluationSetVersions(bucket).stamp(load, [], {}, now=NOW) is load


def test_a_rewritten_object_changes_the_key_and_an_unchanged_one_keeps_the_load(
        tmp_path: Path) -> None:
    """The same generation gives the very same load (a quiet pass stays quiet); a new one
    changes the verdict's key."""
    load, bucket = directory(tmp_path, "a"), Bucket()
    versions, actual = EvaluationSetVersions(bucket), succeeded(load, "a")
    first = versions.stamp(load, actual, {}, now=NOW)
    assert versions.stamp(load, actual, {}, now=NOW + 1) is first
    bucket.generation = "8"
    second = versions.stamp(load, actual, {}, now=NOW + 2)
    assert evaluation_key(second.jobs["a"]) != evaluation_key(first.jobs["a"])
    assert bucket.reads == 3


@pytest.mark.parametrize(("error", "wait"), [
    (TemporaryError("stat failed: 503", retry_after=5.0), RETRY_SECONDS),
    (OSError("connection refused"), RETRY_SECONDS),
    (ConfigError("reading gs:// datasets needs credentials"), STUCK_RETRY_SECONDS),
], ids=["outage", "socket", "no-credentials"])
def test_an_unreadable_generation_keeps_the_key_and_says_why(
        tmp_path: Path, error: Exception, wait: float) -> None:
    """The last generation read stands (no re-evaluation on an error), the job carries why,
    and the set is not asked again for a while (longer when only a person can help)."""
    load, bucket = directory(tmp_path, "a"), Bucket()
    record = JobRecord(name="a", first_seen=0.0, evaluation_set_generation="7")
    versions, actual = EvaluationSetVersions(bucket), succeeded(load, "a")
    before = versions.stamp(load, actual, {"a": record}, now=NOW)
    bucket.down, bucket.generation = error, "8"
    after = versions.stamp(load, actual, {"a": record}, now=NOW + 1)
    assert evaluation_key(after.jobs["a"]) == evaluation_key(before.jobs["a"])
    assert record.evaluation_set_generation == "7"
    unread = after.jobs["a"].evaluation_unread
    assert unread is not None and str(error) in unread and "keeps generation 7" in unread
    versions.stamp(load, actual, {"a": record}, now=NOW + wait - 1)
    assert bucket.reads == 2  # backing off
    bucket.down = None
    healed = versions.stamp(load, actual, {"a": record}, now=NOW + wait + 2)
    assert bucket.reads == 3 and healed.jobs["a"].evaluation_generation == "8"
    assert healed.jobs["a"].evaluation_unread is None


def test_an_offline_plan_reads_nothing_and_keeps_the_last_generation(tmp_path: Path) -> None:
    """Without a storage reader the key is the one of the last generation read, unflipped."""
    load = directory(tmp_path, "a")
    record = JobRecord(name="a", first_seen=0.0, evaluation_set_generation="7")
    stamped = EvaluationSetVersions(None).stamp(load, succeeded(load, "a"), {"a": record},
                                                now=NOW)
    assert stamped.jobs["a"].evaluation_generation == "7"
    assert stamped.jobs["a"].evaluation_unread is None


def test_plan_holds_the_verdict_with_the_reason_while_the_generation_is_unreadable(
        tmp_path: Path) -> None:
    """A final verdict for the last known generation: no evaluate, a held step that says why;
    once the generation is read and differs, `evaluate` with the set-changed reason."""
    load, bucket = directory(tmp_path, "a"), Bucket()
    record = JobRecord(name="a", first_seen=0.0)
    versions, actual = EvaluationSetVersions(bucket), succeeded(load, "a")
    judged = versions.stamp(load, actual, {"a": record}, now=NOW).jobs["a"]
    progress = Progress(smoke="healthy", evaluation_verdict="passed",
                        evaluation_key=evaluation_key(judged))
    bucket.down = TemporaryError("stat failed: 503")
    unread = versions.stamp(load, actual, {"a": record}, now=NOW + 1).jobs["a"]
    [step] = due(unread, actual[0], progress, Timing(now=NOW + 1))
    assert step.held and step.retry_after is None
    assert "generation cannot be read (stat failed: 503)" in step.reason
    bucket.down, bucket.generation = None, "8"
    rewritten = versions.stamp(load, actual, {"a": record}, now=NOW + RETRY_SECONDS + 2)
    [step] = due(rewritten.jobs["a"], actual[0], progress, Timing(now=NOW + RETRY_SECONDS + 2))
    assert not step.held
    assert step.reason.startswith("the evaluation set or its settings changed since the verdict")
