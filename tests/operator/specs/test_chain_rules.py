"""A `preTunedModel.job` chain answers to its root: the team policy, the team, the region and a
retired model are judged from the job that names the base model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.operator.specs.test_pre_tuned_model import write_continuing
from tests.support.job_files import write_job
from tuning_operator.specs import load_jobs_dir

POLICY = """apiVersion: tuning-operator/v1
kind: Policy
teams:
  teama: {{baseModels: [gemini-2.5-flash]{extra}}}
"""


def write_policy(root: Path, extra: str = "") -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "_policy.yaml").write_text(POLICY.format(extra=extra))


def test_the_policy_checks_the_root_base_model_of_a_chain(tmp_path: Path) -> None:
    """teama may tune only 2.5 Flash: continuing teamb's 2.5 Pro chain (allowed to continue
    teamb's jobs) is an error naming the file, the root model, the rule and the fix."""
    write_policy(tmp_path, ", allowContinuingFrom: [teamb]")
    pro = write_job(tmp_path, "pro", team="teamb")
    pro.write_text(pro.read_text().replace("gemini-2.5-flash", "gemini-2.5-pro"))
    write_continuing(tmp_path, "mid", "{job: pro}", team="teamb")
    child = write_continuing(tmp_path, "child", "{job: mid, checkpoint: '2'}", team="teama")
    load = load_jobs_dir(tmp_path)
    (error,) = load.errors
    assert error.file == str(child)
    assert "starts from gemini-2.5-pro" in error.message and "_policy.yaml" in error.message
    assert "may use only gemini-2.5-flash" in error.message
    assert sorted(load.jobs) == ["mid", "pro"]


def test_another_teams_job_cannot_be_continued_without_the_policy_saying_so(
        tmp_path: Path) -> None:
    """A job of team teama naming teamb's job is an error naming both teams and the policy key
    that would allow it; with `allowContinuingFrom: [teamb]` it loads."""
    write_policy(tmp_path)
    write_job(tmp_path, "theirs", team="teamb")
    path = write_continuing(tmp_path, "mine", "{job: theirs}", team="teama")
    (error,) = load_jobs_dir(tmp_path).errors
    assert error.file == str(path) and "team 'teamb'" in error.message
    assert "teams.teama.allowContinuingFrom" in error.message
    write_policy(tmp_path, ", allowContinuingFrom: [teamb]")
    load = load_jobs_dir(tmp_path)
    assert load.errors == () and load.jobs["mine"].base_model == "gemini-2.5-flash"


@pytest.mark.parametrize(("parent_region", "expected"), [
    ("europe-west4", "europe-west4"), (None, None)])
def test_a_child_without_a_region_inherits_its_parents(
        tmp_path: Path, parent_region: str | None, expected: str | None) -> None:
    """The child names no region: it tunes where its parent (or grandparent) does."""
    write_job(tmp_path, "root", f"  region: {parent_region}\n" if parent_region else "")
    write_continuing(tmp_path, "mid", "{job: root}")
    write_continuing(tmp_path, "child", "{job: mid}")
    load = load_jobs_dir(tmp_path)
    assert load.errors == ()
    assert load.jobs["child"].inherited_region == expected
    assert load.jobs["mid"].inherited_region == expected


def test_a_tuned_model_child_inherits_the_models_region(tmp_path: Path) -> None:
    """A `tunedModel` resource names its region: a child naming none tunes there."""
    write_continuing(tmp_path, "child",
                     "{tunedModel: 'projects/p/locations/europe-west4/models/9@1'}")
    assert load_jobs_dir(tmp_path).jobs["child"].inherited_region == "europe-west4"


@pytest.mark.parametrize("via_chain", [False, True])
def test_a_retired_root_model_is_uncreatable(tmp_path: Path, via_chain: bool) -> None:
    """A new job on a retired model (itself, or its chain's root) is marked uncreatable with
    the retirement and the current models; `validate` warns (an existing job stays valid)."""
    root = write_job(tmp_path, "root")
    root.write_text(root.read_text().replace("gemini-2.5-flash", "gemini-1.5-flash-002"))
    if via_chain:
        write_continuing(tmp_path, "child", "{job: root}")
    load = load_jobs_dir(tmp_path)
    name = "child" if via_chain else "root"
    reason = load.jobs[name].uncreatable
    assert reason is not None and "retired" in reason and "gemini-2.5-flash" in reason
    assert any(w.job == name for w in load.warnings)
