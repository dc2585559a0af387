"""YAML that costs more than its size: anchors and aliases are refused before any walk."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.job_files import write_job
from tuning_operator.specs import load_jobs_dir


def bomb(levels: int, *, name: str = "bomb") -> str:
    """The "billion laughs": each level refers nine times to the one below."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return (f"apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata: {{name: {name}}}\n"
            f"spec:\n  description: *l{levels - 1}\n" + "\n".join(lines) + "\n")


@pytest.mark.timeout(10)
@pytest.mark.parametrize("levels", [3, 12, 20])
def test_alias_bomb_is_an_error_that_names_the_file(tmp_path: Path, levels: int) -> None:
    """However deep the nesting, the file is refused at once and its neighbour still loads."""
    write_job(tmp_path, "neighbour", team="a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "bomb.yaml").write_text(bomb(levels))
    load = load_jobs_dir(tmp_path)
    assert set(load.jobs) == {"neighbour"}
    [error] = load.errors
    assert error.file.endswith("bomb.yaml") and "anchors and aliases" in error.message
    assert error.line == 5  # the first alias, in `description`


@pytest.mark.parametrize("text", [
    "apiVersion: tuning-operator/v1\nkind: Policy\nteams:\n  a: &x {baseModels: [m]}\n  b: *x\n",
])
def test_aliases_in_the_policy_break_the_policy(tmp_path: Path, text: str) -> None:
    """A policy file with an alias is invalid: it holds creates, as any broken policy does."""
    write_job(tmp_path, "job", team="a")
    (tmp_path / "_policy.yaml").write_text(text)
    load = load_jobs_dir(tmp_path)
    assert load.policy_broken
    assert any("anchors and aliases" in e.message for e in load.errors)


def test_a_star_or_ampersand_in_a_quoted_string_is_fine(tmp_path: Path) -> None:
    """Only real anchors and aliases are refused, not the characters inside strings."""
    write_job(tmp_path, "ok", '  description: "R&D * team"\n', team="a")
    assert set(load_jobs_dir(tmp_path).jobs) == {"ok"}
