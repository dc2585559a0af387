"""The planner: each case names the directory, the Vertex jobs, and the actions it must yield."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.job_files import write_job
from tuning_operator.planning.model import ObservedJob, Phase
from tuning_operator.planning.planner import ActionKind, PlanSettings, Remembered, plan
from tuning_operator.specs import DirectoryLoad, load_jobs_dir
from tuning_operator.specs.labels import ownership_labels

PARENT = "projects/p/locations/us-central1/tuningJobs"


def vertex(load: DirectoryLoad | None, name: str, state: str, *, job_id: int = 1,
           spec_hash: str | None = None, team: str | None = None) -> ObservedJob:
    """A managed Vertex job as List returns it, by default with the directory's spec hash and
    the team of the job's file."""
    digest = spec_hash or (load.jobs[name].spec_hash if load and name in load.jobs else "0" * 16)
    team = team or (load.jobs[name].team if load and name in load.jobs else "t")
    return ObservedJob(name=f"{PARENT}/{job_id}", state=state,
                       labels=ownership_labels(job=name, spec_hash=digest, team=team))


def unmanaged(job_id: int, state: str = "JOB_STATE_RUNNING") -> ObservedJob:
    """A job someone else started, with no ownership labels."""
    return ObservedJob(name=f"{PARENT}/{job_id}", state=state, labels={"owner": "someone"})


def kinds(result_actions: object) -> dict[str | None, ActionKind]:
    """Action kind per job name."""
    return {a.job: a.kind for a in result_actions}  # type: ignore[attr-defined]


@pytest.fixture
def jobs(tmp_path: Path) -> Path:
    """A jobs directory with two teams and three jobs."""
    write_job(tmp_path, "a", team="t")
    write_job(tmp_path, "b", "  priority: 5\n", team="t")
    write_job(tmp_path, "c", "  onDelete: Cancel\n", team="u")
    return tmp_path


def test_absent_jobs_are_created(jobs: Path) -> None:
    """With no Vertex jobs, every valid job is created and the plan has changes."""
    result = plan(load_jobs_dir(jobs), [], PlanSettings())
    assert kinds(result.actions) == {"a": ActionKind.CREATE, "b": ActionKind.CREATE,
                                     "c": ActionKind.CREATE}
    assert result.changes


def test_existing_job_with_same_spec_is_noop_with_its_phase(jobs: Path) -> None:
    """A job already on Vertex with the same spec hash is left alone; its phase is mapped."""
    load = load_jobs_dir(jobs)
    actual = [vertex(load, "a", "JOB_STATE_RUNNING"),
              vertex(load, "b", "JOB_STATE_SUCCEEDED", job_id=2),
              vertex(load, "c", "JOB_STATE_QUEUED", job_id=3)]
    result = plan(load, actual, PlanSettings())
    assert {a.job: (a.kind, a.phase) for a in result.actions} == {
        "a": (ActionKind.NOOP, Phase.RUNNING), "b": (ActionKind.NOOP, Phase.SUCCEEDED),
        "c": (ActionKind.NOOP, Phase.SUBMITTED)}
    assert not result.changes


def test_changed_spec_is_a_conflict_not_a_replacement(jobs: Path) -> None:
    """A Vertex job with another spec hash is a conflict; nothing is cancelled or created."""
    load = load_jobs_dir(jobs)
    result = plan(load, [vertex(load, "a", "JOB_STATE_RUNNING", spec_hash="f" * 16)],
                  PlanSettings())
    assert kinds(result.actions)["a"] == ActionKind.CONFLICT
    conflict = next(a for a in result.actions if a.job == "a")
    assert "rename the job" in conflict.reason


def test_replace_cancels_old_job_then_creates(tmp_path: Path) -> None:
    """onSpecChange: Replace cancels the active old job, and creates once it is terminal."""
    write_job(tmp_path, "a", "  onSpecChange: Replace\n", team="t")
    load = load_jobs_dir(tmp_path)
    running = plan(load, [vertex(load, "a", "JOB_STATE_RUNNING", spec_hash="f" * 16)],
                   PlanSettings())
    done = plan(load, [vertex(load, "a", "JOB_STATE_CANCELLED", spec_hash="f" * 16)],
                PlanSettings())
    assert kinds(running.actions)["a"] == ActionKind.CANCEL
    assert kinds(done.actions)["a"] == ActionKind.CREATE


@pytest.mark.parametrize(
    ("state", "expected"),
    [("JOB_STATE_RUNNING", ActionKind.CANCEL), ("JOB_STATE_PENDING", ActionKind.CANCEL),
     ("JOB_STATE_SUCCEEDED", ActionKind.NOOP), ("JOB_STATE_CANCELLED", ActionKind.NOOP),
     (None, ActionKind.NOOP)],
)
def test_cancel_requested(tmp_path: Path, state: str | None, expected: ActionKind) -> None:
    """spec.cancel cancels an active job, leaves a finished one, and never creates one."""
    write_job(tmp_path, "a", "  cancel: true\n", team="t")
    load = load_jobs_dir(tmp_path)
    actual = [vertex(load, "a", state)] if state else []
    assert kinds(plan(load, actual, PlanSettings()).actions)["a"] == expected


def test_quota_admits_by_priority_then_first_seen(jobs: Path) -> None:
    """One free slot (an unmanaged job uses the other) goes to the highest priority job."""
    load = load_jobs_dir(jobs)
    result = plan(load, [unmanaged(9)], PlanSettings(max_concurrent_jobs=2))
    assert kinds(result.actions) == {"a": ActionKind.WAIT, "b": ActionKind.CREATE,
                                     "c": ActionKind.WAIT}
    first_seen = {"a": 20.0, "c": 10.0}
    result = plan(load, [], PlanSettings(max_concurrent_jobs=2, first_seen=first_seen))
    assert kinds(result.actions) == {"a": ActionKind.WAIT, "b": ActionKind.CREATE,
                                     "c": ActionKind.CREATE}


def test_team_cap_from_policy(jobs: Path) -> None:
    """A team capped at one active job waits once it has one running."""
    (jobs / "_policy.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: Policy\nteams:\n  t: {maxConcurrentJobs: 1}\n")
    load = load_jobs_dir(jobs)
    result = plan(load, [], PlanSettings())
    assert kinds(result.actions) == {"a": ActionKind.WAIT, "b": ActionKind.CREATE,
                                     "c": ActionKind.CREATE}
    [wait] = [a for a in result.actions if a.kind == ActionKind.WAIT]
    assert wait.reason == "team cap: 1/1 jobs of team 't' active"


def test_broken_policy_holds_every_create(jobs: Path) -> None:
    """A policy file that fails to load holds creates: it restricts, it must not be bypassed."""
    (jobs / "_policy.yaml").write_text("apiVersion: tuning-operator/v1\nkind: Policy\nteams: [\n")
    load = load_jobs_dir(jobs)
    result = plan(load, [], PlanSettings())
    assert {a.kind for a in result.actions if a.job} == {ActionKind.WAIT}
    assert any(a.kind == ActionKind.INVALID and a.file.endswith("_policy.yaml")
               for a in result.actions if a.file)


def test_removed_file_orphans_by_default_and_cancels_when_asked(jobs: Path) -> None:
    """Removing a file orphans its job, unless its last spec said onDelete: Cancel."""
    write_job(jobs, "e", team="t")
    load = load_jobs_dir(jobs)
    actual = [vertex(load, n, "JOB_STATE_RUNNING", job_id=i) for i, n in enumerate("abce")]
    remembered = {n: Remembered(path=f"{load.jobs[n].team}/{n}.yaml", team=load.jobs[n].team,
                                on_delete="Cancel" if n == "c" else "Orphan") for n in "abce"}
    (jobs / "u" / "c.yaml").unlink()
    (jobs / "t" / "a.yaml").unlink()
    write_job(jobs, "d", team="t")
    result = plan(load_jobs_dir(jobs), actual, PlanSettings(remembered=remembered))
    assert kinds(result.actions) == {"a": ActionKind.ORPHAN, "b": ActionKind.NOOP,
                                     "c": ActionKind.CANCEL, "d": ActionKind.CREATE,
                                     "e": ActionKind.NOOP}


def test_broken_file_is_not_a_deleted_job(jobs: Path) -> None:
    """A file that fails validation keeps its running job: invalid, never cancelled."""
    load = load_jobs_dir(jobs)
    actual = [vertex(load, "c", "JOB_STATE_RUNNING")]
    (jobs / "u" / "c.yaml").write_text((jobs / "u" / "c.yaml").read_text() + "  oops: 1\n")
    result = plan(load_jobs_dir(jobs), actual, PlanSettings(
        remembered={"c": Remembered(path="u/c.yaml", team="u", on_delete="Cancel")}))
    assert kinds(result.actions)["c"] == ActionKind.INVALID
    assert not any(a.kind == ActionKind.CANCEL for a in result.actions)


def test_unparseable_file_holds_removal_cancels(jobs: Path) -> None:
    """A file broken before its name can be read holds every onDelete: Cancel."""
    load = load_jobs_dir(jobs)
    actual = [vertex(load, "c", "JOB_STATE_RUNNING")]
    (jobs / "u" / "c.yaml").write_text("apiVersion: [\n")
    result = plan(load_jobs_dir(jobs), actual, PlanSettings(
        remembered={"c": Remembered(path="u/c.yaml", team="u", on_delete="Cancel")}))
    assert not any(a.kind == ActionKind.CANCEL for a in result.actions)
    assert any("failed before their job name" in h for h in result.held)


@pytest.mark.parametrize("how", ["emptied", "missing"])
def test_empty_or_missing_directory_cancels_nothing(jobs: Path, how: str) -> None:
    """An emptied or missing jobs directory holds every cancellation and says why."""
    load = load_jobs_dir(jobs)
    actual = [vertex(load, n, "JOB_STATE_RUNNING", job_id=i) for i, n in enumerate("abc")]
    remembered = {n: Remembered(path="x", team="t", on_delete="Cancel") for n in "abc"}
    for path in jobs.rglob("*.yaml"):
        path.unlink()
    target = jobs if how == "emptied" else jobs / "missing"
    result = plan(load_jobs_dir(target), actual, PlanSettings(remembered=remembered))
    assert not any(a.kind == ActionKind.CANCEL for a in result.actions)
    assert any("empty or unreadable" in h for h in result.held)


def test_mass_disappearance_holds_cancels_unless_allowed(jobs: Path) -> None:
    """Two of three jobs vanishing at once cancels nothing, unless the override is given."""
    load = load_jobs_dir(jobs)
    actual = [vertex(load, n, "JOB_STATE_RUNNING", job_id=i) for i, n in enumerate("abc")]
    remembered = {n: Remembered(path="x", team=load.jobs[n].team, on_delete="Cancel")
                  for n in "abc"}
    (jobs / "t" / "a.yaml").unlink()
    (jobs / "u" / "c.yaml").unlink()
    held = plan(load_jobs_dir(jobs), actual, PlanSettings(remembered=remembered))
    allowed = plan(load_jobs_dir(jobs), actual,
                   PlanSettings(remembered=remembered, allow_mass_deletion=True))
    assert not any(a.kind == ActionKind.CANCEL for a in held.actions)
    assert {a.job for a in allowed.actions if a.kind == ActionKind.CANCEL} == {"a", "c"}


def test_unmanaged_jobs_are_never_acted_on(jobs: Path) -> None:
    """Unmanaged jobs yield no action of their own; they only use quota."""
    result = plan(load_jobs_dir(jobs), [unmanaged(7), unmanaged(8, "JOB_STATE_SUCCEEDED")],
                  PlanSettings())
    assert all(a.vertex_name is None or not a.vertex_name.endswith(("/7", "/8"))
               for a in result.actions)


def test_plan_is_deterministic(jobs: Path) -> None:
    """The same inputs give the same plan, in the same order."""
    load = load_jobs_dir(jobs)
    assert plan(load, [], PlanSettings()) == plan(load, [], PlanSettings())


def test_dataset_block_makes_an_absent_job_invalid(jobs: Path) -> None:
    """A job whose dataset fails the pre-flight is Invalid, not created; notes ride along."""
    load = load_jobs_dir(jobs)
    result = plan(load, [vertex(load, "b", "JOB_STATE_RUNNING")], PlanSettings(
        dataset_blocks={"a": "train.jsonl:3: roles must alternate", "b": "ignored: exists"},
        dataset_notes={"a": "dataset errors", "c": "dataset ok"}))
    by_job = {a.job: a for a in result.actions}
    assert by_job["a"].kind == ActionKind.INVALID
    assert "dataset pre-flight failed: train.jsonl:3" in by_job["a"].reason
    assert by_job["b"].kind == ActionKind.NOOP  # already on Vertex: its dataset is history
    assert (by_job["c"].kind, by_job["c"].dataset) == (ActionKind.CREATE, "dataset ok")


NOW = 1_000_000.0


@pytest.mark.parametrize(("remembered", "ages", "checked", "reason"), [
    (Remembered(path="t/a.yaml", team="t", on_delete="Orphan", create_intent_at=NOW - 5),
     {}, None, "earlier create may still land"),
    (Remembered(path="t/a.yaml", team="t", on_delete="Orphan", not_before=NOW + 30),
     {}, None, "backoff after a failed create"),
    (None, {"t/a.yaml": 0.1}, None, "changed 0.1 s ago"),
    (None, {}, frozenset(), "pre-flight has not run"),
])
def test_gates_turn_an_admitted_create_into_a_wait_with_the_reason(
        tmp_path: Path, remembered: Remembered | None, ages: dict[str, float],
        checked: frozenset[str] | None, reason: str) -> None:
    """Fence, backoff, settle and the pre-flight are planner inputs: `plan` shows the wait."""
    from tuning_operator.planning.gates import Timing

    write_job(tmp_path, "a", team="t")
    settings = PlanSettings(
        remembered={"a": remembered} if remembered else {}, datasets_checked=checked,
        timing=Timing(now=NOW, create_fence_seconds=60, settle_seconds=0.5, file_ages=ages))
    [action] = plan(load_jobs_dir(tmp_path), [], settings).actions
    assert (action.kind, action.phase) == (ActionKind.WAIT, Phase.WAITING)
    assert reason in action.reason and action.retry_after is not None


def test_another_teams_job_of_the_same_name_is_a_conflict_never_a_cancel(tmp_path: Path) -> None:
    """beta's file named like alpha's Vertex job cannot cancel, adopt or replace it."""
    write_job(tmp_path, "shared", "  cancel: true\n  onSpecChange: Replace\n", team="beta")
    load = load_jobs_dir(tmp_path)
    alpha = vertex(None, "shared", "JOB_STATE_RUNNING", team="alpha")
    [action] = plan(load, [alpha], PlanSettings()).actions
    assert action.kind == ActionKind.CONFLICT
    assert "belongs to team 'alpha'" in action.reason


def test_removing_a_conflicting_file_does_not_cancel_the_other_teams_job(tmp_path: Path) -> None:
    """A record left by beta's conflicting file says onDelete: Cancel; alpha's job runs on."""
    write_job(tmp_path, "other", team="beta")
    alpha = vertex(None, "shared", "JOB_STATE_RUNNING", team="alpha")
    remembered = {"shared": Remembered(path="beta/shared.yaml", team="beta", on_delete="Cancel"),
                  "other": Remembered(path="beta/other.yaml", team="beta", on_delete="Orphan"),
                  "x": Remembered(path="beta/x.yaml", team="beta", on_delete="Orphan",
                                  in_directory=False)}
    result = plan(load_jobs_dir(tmp_path), [alpha], PlanSettings(remembered=remembered))
    assert kinds(result.actions)["shared"] == ActionKind.ORPHAN


def test_the_quota_is_global_across_regions_unless_scoped(tmp_path: Path) -> None:
    """Two jobs active in two regions fill a global quota of 2; per region, both have room."""
    write_job(tmp_path, "new", "  region: europe-west4\n", team="t")
    active = [ObservedJob(name=f"projects/p/locations/{r}/tuningJobs/{i}",
                          state="JOB_STATE_RUNNING", labels={})
              for i, r in enumerate(["us-central1", "europe-west4"])]
    load = load_jobs_dir(tmp_path)
    held = plan(load, active, PlanSettings(max_concurrent_jobs=2))
    assert kinds(held.actions)["new"] == ActionKind.WAIT
    assert held.quota == "quota: 2/2 concurrent tuning jobs active (global)"
    scoped = plan(load, active, PlanSettings(max_concurrent_jobs=2, quota_scope="region"))
    assert kinds(scoped.actions)["new"] == ActionKind.CREATE


@pytest.mark.parametrize(("state", "phase_before", "kind", "phase"), [
    ("JOB_STATE_CANCELLING", "Cancelling", ActionKind.NOOP, Phase.CANCELLING),
    ("JOB_STATE_CANCELLED", "Cancelling", ActionKind.NOOP, Phase.CANCELLED),
    ("JOB_STATE_CANCELLED", "Cancelled", ActionKind.RETIRE, Phase.CANCELLED),
    ("JOB_STATE_SUCCEEDED", "Orphaned", ActionKind.RETIRE, Phase.ORPHANED),
])
def test_a_removed_job_is_observed_until_its_end_is_told_then_retired(
        tmp_path: Path, state: str, phase_before: str, kind: ActionKind, phase: Phase) -> None:
    """A job whose file is gone: no second cancel, its final phase told, then its record goes."""
    write_job(tmp_path, "other", team="t")
    remembered = {"gone": Remembered(path="t/gone.yaml", team="t", on_delete="Cancel",
                                     in_directory=False, phase=phase_before),
                  "other": Remembered(path="t/other.yaml", team="t", on_delete="Orphan")}
    result = plan(load_jobs_dir(tmp_path), [vertex(None, "gone", state)],
                  PlanSettings(remembered=remembered))
    [action] = [a for a in result.actions if a.job == "gone"]
    assert (action.kind, action.phase) == (kind, phase)


def test_a_removal_after_earlier_removals_is_not_a_mass_deletion(tmp_path: Path) -> None:
    """Jobs whose removal was acted on earlier do not count in the next pass's guard."""
    write_job(tmp_path, "d", team="t")
    remembered = {n: Remembered(path=f"t/{n}.yaml", team="t", on_delete="Cancel",
                                in_directory=n in "cd") for n in "abcd"}
    actual = [vertex(None, n, "JOB_STATE_RUNNING", job_id=i) for i, n in enumerate("cd")]
    result = plan(load_jobs_dir(tmp_path), actual, PlanSettings(remembered=remembered))
    assert not result.held
    assert kinds(result.actions)["c"] == ActionKind.CANCEL


def test_a_broken_file_reports_its_team(tmp_path: Path) -> None:
    """An invalid file's action carries the team of its directory (events say who)."""
    write_job(tmp_path, "bad", "  oops: 1\n", team="support")
    [action] = plan(load_jobs_dir(tmp_path), [], PlanSettings()).actions
    assert (action.kind, action.team) == (ActionKind.INVALID, "support")


def test_a_job_on_a_retired_model_is_still_observed(tmp_path: Path) -> None:
    """Retired is a warning: the existing Vertex job of such a file keeps its phase, no action."""
    path = write_job(tmp_path, "old", team="t")
    path.write_text(path.read_text().replace("gemini-2.5-flash", "gemini-1.5-pro-002"))
    load = load_jobs_dir(tmp_path)
    assert load.warnings and not load.errors
    result = plan(load, [vertex(load, "old", "JOB_STATE_RUNNING")], PlanSettings())
    assert {a.job: (a.kind, a.phase) for a in result.actions} == {
        "old": (ActionKind.NOOP, Phase.RUNNING)}
