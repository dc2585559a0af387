"""`defaultTeam` in the policy: a team the policy does not name is allowed with a warning that
names it, or denied (its files invalid)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.job_files import write_job
from tuning_operator.cli import main
from tuning_operator.specs import load_jobs_dir

POLICY = ("apiVersion: tuning-operator/v1\nkind: Policy\n{default}"
          "teams:\n  ads: {{baseModels: [gemini-2.5-flash]}}\n")


@pytest.fixture
def jobs(tmp_path: Path) -> Path:
    """Team ads is in the policy; team growth is not (two files)."""
    root = tmp_path / "jobs"
    write_job(root, "a", team="ads")
    write_job(root, "g1", team="growth")
    write_job(root, "g2", team="growth")
    return root


@pytest.mark.parametrize("default", ["", "defaultTeam: allow\n"], ids=["absent", "allow"])
def test_an_unlisted_team_is_allowed_with_one_warning_naming_it(jobs: Path, default: str) -> None:
    """Every job loads; one warning, on the team's first file, says what it may read."""
    (jobs / "_policy.yaml").write_text(POLICY.format(default=default))
    load = load_jobs_dir(jobs)
    assert sorted(load.jobs) == ["a", "g1", "g2"] and not load.errors
    [warning] = load.warnings
    assert warning.file.endswith("growth/g1.yaml")
    assert "team 'growth' is not in the policy" in warning.message
    assert "may read any dataset bucket" in warning.message


def test_deny_makes_an_unlisted_teams_files_invalid(
        jobs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`defaultTeam: deny`: growth's files are errors that say how to fix them; ads loads."""
    (jobs / "_policy.yaml").write_text(POLICY.format(default="defaultTeam: deny\n"))
    load = load_jobs_dir(jobs)
    assert sorted(load.jobs) == ["a"] and load.invalid_names == {"g1", "g2"}
    assert all("defaultTeam is deny" in e.message for e in load.errors) and not load.warnings
    assert main(["validate", "--jobs-dir", str(jobs)]) == 1
    assert "list it under `teams`" in capsys.readouterr().err


def test_no_policy_no_warning(jobs: Path) -> None:
    """Without a policy file nothing is restricted and nothing is said."""
    assert not load_jobs_dir(jobs).warnings


def test_a_misspelt_setting_is_an_error(jobs: Path) -> None:
    """`defaultTeam: block` is neither allow nor deny: the policy is broken, creates held."""
    (jobs / "_policy.yaml").write_text(POLICY.format(default="defaultTeam: block\n"))
    assert load_jobs_dir(jobs).policy_broken
