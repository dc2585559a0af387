"""`ModelAlias` files: their own checks, the team rules across files, and the one schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.job_files import EVALUATED, write_alias, write_job
from tuning_operator.specs import load_jobs_dir
from tuning_operator.specs.schema import jobs_file_schema


def test_a_valid_alias_is_loaded_with_its_defaults(tmp_path: Path) -> None:
    """An alias of an evaluated job of its team loads with checkpoint evaluated, gate passed."""
    write_job(tmp_path, "router-v3", EVALUATED, team="support")
    write_alias(tmp_path, "ticket-router", "router-v3", team="support")
    load = load_jobs_dir(tmp_path)
    assert load.errors == ()
    loaded = load.aliases["support/ticket-router"]
    assert (loaded.team, loaded.name, loaded.job) == ("support", "ticket-router", "router-v3")
    assert loaded.alias.spec.checkpoint == "evaluated"
    assert loaded.alias.spec.require_evaluation == "passed"
    assert sorted(load.jobs) == ["router-v3"]  # an alias is not a job


@pytest.mark.parametrize(("name", "ok"), [
    ("ticket-router", True), ("ab", True), ("a" * 63, True),
    ("a", False),  # Vertex aliases have two characters at least
    ("Ticket-router", False), ("ticket_router", False), ("ticket-", False),
    ("1router", False), ("a" * 64, False),
    ("default", False),  # Vertex's own alias
])
def test_alias_names_are_dns_labels_and_vertex_aliases(tmp_path: Path, name: str,
                                                       ok: bool) -> None:
    """The name is both a DNS label and `[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]`, and not default."""
    write_job(tmp_path, "router-v3", EVALUATED)
    write_alias(tmp_path, name, "router-v3", file="alias")
    load = load_jobs_dir(tmp_path)
    assert (load.errors == ()) is ok, load.errors
    if not ok:
        assert "metadata.name" in load.errors[0].message


@pytest.mark.parametrize(("spec", "expected"), [
    ("  checkpoint: best\n", None),
    ("  checkpoint: last\n", None),
    ("  checkpoint: '4'\n", None),
    ("  requireEvaluation: none\n", None),
    ("  requireEvaluation: maybe\n", "spec.requireEvaluation"),
    ("  checkpoint: 'a b'\n", "spec.checkpoint"),
    ("  chekpoint: best\n", "did you mean `checkpoint`"),
])
def test_alias_spec_fields(tmp_path: Path, spec: str, expected: str | None) -> None:
    """checkpoint is evaluated|best|last|ID, requireEvaluation passed|none, typos named."""
    write_job(tmp_path, "router-v3", EVALUATED)
    write_alias(tmp_path, "ticket-router", "router-v3", spec)
    messages = [e.message for e in load_jobs_dir(tmp_path).errors]
    if expected is None:
        assert messages == []
    else:
        assert any(expected in m for m in messages), messages


def test_an_unknown_job_is_an_error(tmp_path: Path) -> None:
    """The job must be a TuningJob of the directory."""
    path = write_alias(tmp_path, "ticket-router", "router-v9")
    load = load_jobs_dir(tmp_path)
    (error,) = load.errors
    assert "no job named 'router-v9'" in error.message and error.file == str(path)
    assert load.aliases == {} and load.invalid_aliases == {"team/ticket-router"}


def test_another_teams_job_is_an_error(tmp_path: Path) -> None:
    """A team's alias never points at another team's model."""
    write_job(tmp_path, "router-v3", EVALUATED, team="support")
    write_alias(tmp_path, "ticket-router", "router-v3", team="sales")
    (error,) = load_jobs_dir(tmp_path).errors
    assert "belongs to team 'support'" in error.message


def test_a_duplicate_alias_in_a_team_is_an_error_on_both_files(tmp_path: Path) -> None:
    """Two files moving one name would fight: both are errors; other teams may reuse it."""
    write_job(tmp_path, "router-v3", EVALUATED)
    write_job(tmp_path, "router-v4", EVALUATED)
    write_alias(tmp_path, "ticket-router", "router-v3", file="one")
    write_alias(tmp_path, "ticket-router", "router-v4", file="two")
    write_job(tmp_path, "other-v1", EVALUATED, team="sales")
    write_alias(tmp_path, "ticket-router", "other-v1", team="sales")
    load = load_jobs_dir(tmp_path)
    assert sorted(e.file.rsplit("/", 1)[1] for e in load.errors) == ["one.yaml", "two.yaml"]
    assert list(load.aliases) == ["sales/ticket-router"]


def test_a_gate_needs_an_evaluated_job(tmp_path: Path) -> None:
    """requireEvaluation: passed on a job without evaluation says how to fix it."""
    write_job(tmp_path, "router-v3")
    write_alias(tmp_path, "ticket-router", "router-v3")
    (error,) = load_jobs_dir(tmp_path).errors
    assert "has no `spec.evaluation`" in error.message
    assert "requireEvaluation: none" in error.message


def test_no_gate_still_needs_a_checkpoint_it_can_name(tmp_path: Path) -> None:
    """Without an evaluation, `evaluated` names nothing: best, last or an id must be written."""
    write_job(tmp_path, "router-v3")
    write_alias(tmp_path, "ticket-router", "router-v3", "  requireEvaluation: none\n")
    (error,) = load_jobs_dir(tmp_path).errors
    assert "checkpoint: evaluated" in error.message
    write_alias(tmp_path, "ticket-router", "router-v3",
                "  requireEvaluation: none\n  checkpoint: last\n")
    assert load_jobs_dir(tmp_path).errors == ()


def test_an_alias_of_a_broken_job_waits_without_an_error_of_its_own(tmp_path: Path) -> None:
    """The job file's error says what to fix; the alias is valid and the planner holds it."""
    write_job(tmp_path, "router-v3", "  bogus: 1\n")
    write_alias(tmp_path, "ticket-router", "router-v3")
    load = load_jobs_dir(tmp_path)
    assert [e.job for e in load.errors] == ["router-v3"]


def test_an_alias_outside_a_team_directory_is_an_error(tmp_path: Path) -> None:
    """Like a job file, an alias file sits in a team directory."""
    write_job(tmp_path, "router-v3", EVALUATED)
    (tmp_path / "ticket-router.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: ModelAlias\nmetadata: {name: ticket-router}\n"
        "spec: {job: router-v3}\n")
    messages = [e.message for e in load_jobs_dir(tmp_path).errors]
    assert any("team directory" in m for m in messages), messages


def test_a_broken_alias_file_is_not_a_broken_job(tmp_path: Path) -> None:
    """A broken alias file never makes a job of its name invalid."""
    write_job(tmp_path, "router-v3", EVALUATED)
    write_alias(tmp_path, "router-v3", "router-v3", "  bogus: 1\n", file="alias")
    load = load_jobs_dir(tmp_path)
    assert "router-v3" in load.jobs and load.invalid_names == frozenset()
    assert load.invalid_aliases == {"team/router-v3"}


def test_the_schema_covers_both_kinds() -> None:
    """One schema, told apart by kind."""
    schema = jobs_file_schema()
    mapping = schema["discriminator"]["mapping"]  # type: ignore[index]
    assert mapping.keys() == {"TuningJob", "ModelAlias"}


def test_validate_names_another_teams_job(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`validate` fails on an alias of another team's job; its JSON lists the valid aliases."""
    from tuning_operator.cli import main

    write_job(tmp_path, "router-v3", EVALUATED, team="support")
    write_alias(tmp_path, "ticket-router", "router-v3", team="support")
    assert main(["validate", "--jobs-dir", str(tmp_path), "--format", "json"]) == 0
    assert '"support/ticket-router"' in capsys.readouterr().out
    write_alias(tmp_path, "ticket-router", "router-v3", team="sales")
    assert main(["validate", "--jobs-dir", str(tmp_path)]) == 1
    shown = capsys.readouterr()
    assert "belongs to team 'support'" in shown.out + shown.err
