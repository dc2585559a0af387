"""`spec.preTunedModel`: its two forms, exclusive with baseModel, and dependencies across files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.job_files import write_job
from tuning_operator.specs import load_jobs_dir

MODEL = "projects/p/locations/us-central1/models/123@1"


def write_continuing(root: Path, name: str, pre_tuned: str, extra: str = "", *,
                     team: str = "team") -> Path:
    """A job file that continues tuning (`preTunedModel: …`) instead of naming a base model."""
    path = write_job(root, name, extra, team=team)
    path.write_text(path.read_text().replace("  baseModel: gemini-2.5-flash\n",
                                             f"  preTunedModel: {pre_tuned}\n"))
    return path


@pytest.mark.parametrize(("pre_tuned", "expected"), [
    (f"{{tunedModel: '{MODEL}'}}", None),
    (f"{{tunedModel: '{MODEL}', checkpointId: '2'}}", None),
    ("{tunedModel: 'projects/p/locations/us-central1/models/123'}", None),
    ("{job: base-job, checkpoint: best}", None),
    ("{job: base-job, checkpoint: last}", None),
    ("{job: base-job, checkpoint: '7'}", None),
    ("{job: base-job}", None),
    ("{}", "set exactly one of `tunedModel`"),
    (f"{{tunedModel: '{MODEL}', job: base-job}}", "set exactly one of `tunedModel`"),
    ("{job: base-job, checkpointId: '2'}", "`checkpointId` goes with `tunedModel`"),
    (f"{{tunedModel: '{MODEL}', checkpoint: best}}", "`checkpoint` goes with `job`"),
    ("{tunedModel: 'models/123'}", "spec.preTunedModel.tunedModel"),
    ("{job: Base_Job}", "spec.preTunedModel.job"),
])
def test_pre_tuned_model_forms(tmp_path: Path, pre_tuned: str, expected: str | None) -> None:
    """Either a model resource (+ checkpointId) or another job (+ checkpoint), never both."""
    write_job(tmp_path, "base-job")
    write_continuing(tmp_path, "next-job", pre_tuned)
    load = load_jobs_dir(tmp_path)
    messages = [e.message for e in load.errors]
    if expected is None:
        assert messages == [] and sorted(load.jobs) == ["base-job", "next-job"]
    else:
        assert any(expected in m for m in messages), messages
        assert "next-job" in load.invalid_names


def test_base_model_and_pre_tuned_model_are_exclusive(tmp_path: Path) -> None:
    """Both set is an error naming both fields, as the API's oneof has it."""
    write_job(tmp_path, "job", f"  preTunedModel: {{tunedModel: '{MODEL}'}}\n")
    (error,) = load_jobs_dir(tmp_path).errors
    assert "set exactly one of `baseModel` and `preTunedModel`" in error.message


def test_a_dependency_on_an_unknown_job_is_a_warning_and_uncreatable(tmp_path: Path) -> None:
    """A parent's file may leave once its child exists: a missing parent is a warning naming
    the file, and the job is marked uncreatable (the planner refuses only a new create)."""
    path = write_continuing(tmp_path, "next-job", "{job: nowhere}")
    load = load_jobs_dir(tmp_path)
    assert load.errors == ()
    (warning,) = load.warnings
    assert warning.file == str(path)
    assert "no job named 'nowhere'" in warning.message
    uncreatable = load.jobs["next-job"].uncreatable
    assert uncreatable is not None and "cannot be created" in uncreatable


def test_a_dependency_on_a_broken_file_is_not_unknown(tmp_path: Path) -> None:
    """A parent whose file fails to load is reported there; the dependent stays valid."""
    broken = write_job(tmp_path, "base-job")
    broken.write_text(broken.read_text().replace("gemini-2.5-flash", "gemini-9"))
    write_continuing(tmp_path, "next-job", "{job: base-job}")
    load = load_jobs_dir(tmp_path)
    assert [e.file for e in load.errors] == [str(broken)]
    assert list(load.jobs) == ["next-job"] and load.jobs["next-job"].base_model is None


@pytest.mark.parametrize("edges", [
    {"a": "a"},
    {"a": "b", "b": "a"},
    {"a": "b", "b": "c", "c": "a"},
])
def test_a_dependency_cycle_is_an_error_naming_every_file(
        tmp_path: Path, edges: dict[str, str]) -> None:
    """A cycle can never be created in any order: each job in it is invalid, its files named."""
    paths = {name: write_continuing(tmp_path, name, f"{{job: {parent}}}")
             for name, parent in edges.items()}
    write_job(tmp_path, "bystander")
    load = load_jobs_dir(tmp_path)
    assert list(load.jobs) == ["bystander"]
    assert load.invalid_names == set(edges)
    for name, path in paths.items():
        (error,) = [e for e in load.errors if e.job == name]
        assert error.file == str(path)
        assert "dependency cycle" in error.message
        assert all(str(p) in error.message for p in paths.values())


def test_a_job_behind_a_cycle_is_valid_but_has_no_base_model(tmp_path: Path) -> None:
    """Hanging off a cycle is not being in it: the job loads, its base model is unknown."""
    write_continuing(tmp_path, "a", "{job: b}")
    write_continuing(tmp_path, "b", "{job: a}")
    write_continuing(tmp_path, "c", "{job: a}")
    load = load_jobs_dir(tmp_path)
    assert list(load.jobs) == ["c"] and load.jobs["c"].base_model is None


def test_a_chain_inherits_the_base_model_and_its_rules(tmp_path: Path) -> None:
    """c → b → a(gemini-3.5-flash): c tunes 3.5 Flash, so its CMEK key is an error naming the
    rule; the edges are the loader's output for the planner."""
    root = write_job(tmp_path, "a")
    root.write_text(root.read_text().replace("gemini-2.5-flash", "gemini-3.5-flash"))
    write_continuing(tmp_path, "b", "{job: a, checkpoint: best}")
    write_continuing(tmp_path, "c", "{job: b}",
                     "  encryptionKey: projects/p/locations/l/keyRings/r/cryptoKeys/k\n")
    load = load_jobs_dir(tmp_path)
    assert sorted(load.jobs) == ["a", "b"]
    assert load.jobs["b"].base_model == "gemini-3.5-flash"
    assert dict(load.depends_on) == {"b": "a"}
    (error,) = load.errors
    assert error.job == "c" and "catalog rule: CMEK not supported" in error.message


@pytest.mark.parametrize(("mine", "theirs", "ok"), [
    ("us-central1", "us-central1", True),
    ("europe-west4", "us-central1", False),
    (None, "us-central1", True),
])
def test_a_continued_job_tunes_in_its_models_region(
        tmp_path: Path, mine: str | None, theirs: str, ok: bool) -> None:
    """A tuned model stays in its region: a job continuing it elsewhere is an error."""
    region = f"  region: {mine}\n" if mine else ""
    write_continuing(tmp_path, "next-job",
                     f"{{tunedModel: 'projects/p/locations/{theirs}/models/9'}}", region)
    write_job(tmp_path, "parent", f"  region: {theirs}\n")
    write_continuing(tmp_path, "child", "{job: parent}", region)
    load = load_jobs_dir(tmp_path)
    if ok:
        assert load.errors == ()
    else:
        assert sorted(e.job or "" for e in load.errors) == ["child", "next-job"]
        assert all(f"set `spec.region: {theirs}`" in e.message for e in load.errors)


def test_the_spec_hash_of_a_continued_job_covers_its_pre_tuned_model(tmp_path: Path) -> None:
    """Another checkpoint is another Vertex job: the hash changes, and there is no v1 form."""
    write_job(tmp_path, "parent")
    write_continuing(tmp_path, "child", "{job: parent, checkpoint: best}")
    first = load_jobs_dir(tmp_path).jobs["child"].job
    write_continuing(tmp_path, "child", "{job: parent, checkpoint: last}")
    second = load_jobs_dir(tmp_path).jobs["child"].job
    assert first.spec_hash() != second.spec_hash()
    assert first.legacy_spec_hash() is None
