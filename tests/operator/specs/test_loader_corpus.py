"""The bad-input corpus: each broken file gets a clear message and never hides a valid file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tuning_operator.specs import load_jobs_dir

GOOD = """\
apiVersion: tuning-operator/v1
kind: TuningJob
metadata:
  name: {name}
spec:
  baseModel: gemini-2.5-flash
  trainingDataset: gs://datasets/team/train.jsonl
"""


def job(body: str = "", *, name: str = "broken-job", spec: str = "", meta: str = "") -> str:
    """A job file with extra lines added under metadata and spec."""
    return (
        "apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata:\n"
        f"  name: {name}\n{meta}spec:\n  baseModel: gemini-2.5-flash\n"
        f"  trainingDataset: gs://datasets/team/train.jsonl\n{spec}{body}"
    )


# (case id, relative path, file content (str or bytes), expected message part, expected line)
CASES = [
    ("yaml-syntax", "team/bad.yaml", job(spec="  region: [us-central1\n"),
     "YAML syntax error", 9),
    ("yaml-tab-indent", "team/bad.yaml", "apiVersion: x\n\tkind: TuningJob\n",
     "YAML syntax error", 2),
    ("not-utf8", "team/bad.yaml", b"apiVersion: tuning-operator/v1\nkind: \xff\xfe\n",
     "not UTF-8", 2),
    ("empty", "team/bad.yaml", "", "file is empty", None),
    ("only-comments", "team/bad.yaml", "# nothing here\n", "file is empty", None),
    ("too-big", "team/bad.yaml", job() + "# " + "x" * (1024 * 1024) + "\n", "at most", None),
    ("multi-document", "team/bad.yaml", job() + "---\n" + job(name="other"),
     "more than one YAML document", 9),
    ("top-level-list", "team/bad.yaml", "- a\n- b\n", "not a mapping", 1),
    ("top-level-scalar", "team/bad.yaml", "hello\n", "not a mapping", 1),
    ("unknown-top-field", "team/bad.yaml", job() + "sepc: {}\n", "unknown field `sepc`", 8),
    ("unknown-spec-field-typo", "team/bad.yaml", job(spec="  epochs: 3\n"),
     "unknown field `spec.epochs`", 8),
    ("unknown-hp-field-did-you-mean", "team/bad.yaml",
     job(spec="  hyperParameters:\n    epochCont: 3\n"), "did you mean `epochCount`", 9),
    ("missing-spec", "team/bad.yaml",
     "apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata:\n  name: broken-job\n",
     "missing required field `spec`", None),
    ("missing-base-model", "team/bad.yaml",
     "apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata:\n  name: broken-job\nspec:\n"
     "  trainingDataset: gs://datasets/t/train.jsonl\n",
     "`spec`: set exactly one of `baseModel` and `preTunedModel`", None),
    ("wrong-api-version", "team/bad.yaml", job().replace("tuning-operator/v1", "v2"),
     "`apiVersion`: 'v2' is not allowed", 1),
    ("wrong-kind", "team/bad.yaml", job().replace("kind: TuningJob", "kind: Job"),
     "`kind`: 'Job' is not allowed", 2),
    ("bad-on-delete-enum", "team/bad.yaml", job(spec="  onDelete: Delete\n"),
     "`spec.onDelete`: 'Delete' is not allowed", 8),
    ("bad-adapter-enum", "team/bad.yaml", job(spec="  hyperParameters: {adapterSize: 3}\n"),
     "`spec.hyperParameters.adapterSize`", 8),
    ("adapter-not-allowed-for-model", "team/bad.yaml",
     job(spec="  hyperParameters: {adapterSize: 32}\n"), "32 is not allowed for gemini-2.5-flash",
     None),
    ("adapter-not-allowed-1.5-pro", "team/bad.yaml",
     job(spec="  hyperParameters: {adapterSize: 8}\n").replace("gemini-2.5-flash",
                                                              "gemini-1.5-pro-002"),
     "use one of 1, 4 (default 4)", None),
    ("unknown-base-model", "team/bad.yaml", job().replace("gemini-2.5-flash", "gemini-9-ultra"),
     "unknown base model 'gemini-9-ultra'; use one of:", None),
    ("zero-epochs", "team/bad.yaml", job(spec="  hyperParameters: {epochCount: 0}\n"),
     "greater than 0", 8),
    ("negative-learning-rate", "team/bad.yaml",
     job(spec="  hyperParameters: {learningRateMultiplier: -1}\n"), "greater than 0", 8),
    ("preset-plus-values", "team/bad.yaml",
     job(spec="  hyperParameters: {preset: recommended, epochCount: 3}\n"),
     "`preset: recommended` chooses every value itself", 8),
    ("name-uppercase", "team/bad.yaml", job(name="Support-Bot"), "is not valid; use a DNS label",
     4),
    ("name-too-long", "team/bad.yaml", job(name="a" * 64), "use a DNS label", 4),
    ("name-trailing-dash", "team/bad.yaml", job(name="bot-"), "use a DNS label", 4),
    ("dataset-not-gs", "team/bad.yaml",
     job().replace("gs://datasets/team/train.jsonl", "https://x/train.jsonl"),
     "use gs://BUCKET/PATH/FILE.jsonl", 7),
    ("dataset-not-jsonl", "team/bad.yaml",
     job().replace("train.jsonl", "train.csv"), "use gs://BUCKET/PATH/FILE.jsonl", 7),
    ("dataset-bucket-only", "team/bad.yaml",
     job().replace("gs://datasets/team/train.jsonl", "gs://datasets"), "use gs://BUCKET", 7),
    ("validation-equals-training", "team/bad.yaml",
     job(spec="  validationDataset: gs://datasets/team/train.jsonl\n"),
     "is the training dataset itself", None),
    ("label-uppercase-key", "team/bad.yaml", job(meta="  labels: {CostCenter: x}\n"),
     "label key 'CostCenter' breaks Vertex label rules", None),
    ("label-value-too-long", "team/bad.yaml", job(meta=f"  labels: {{k: {'v' * 64}}}\n"),
     "breaks Vertex label rules", None),
    ("label-number-value", "team/bad.yaml", job(meta="  labels: {k: 42}\n"),
     "`metadata.labels.k`", 5),
    ("reserved-label-managed-by", "team/bad.yaml", job(meta="  labels: {managed-by: me}\n"),
     "label key 'managed-by' is reserved", None),
    ("reserved-label-prefix", "team/bad.yaml",
     job(meta="  labels: {tuning-operator-job: x}\n"), "is reserved", None),
    ("bad-region", "team/bad.yaml", job(spec="  region: US Central\n"),
     "use a Vertex region such as us-central1", 8),
    ("bad-service-account", "team/bad.yaml", job(spec="  serviceAccount: me@gmail.com\n"),
     "use a service account email", 8),
    ("bad-kms-key", "team/bad.yaml", job(spec="  encryptionKey: my-key\n"),
     "projects/P/locations/L/keyRings/R/cryptoKeys/K", 8),
    ("cancel-not-bool", "team/bad.yaml", job(spec="  cancel: maybe\n"),
     "`spec.cancel`", 8),
    ("priority-not-int", "team/bad.yaml", job(spec="  priority: high\n"), "`spec.priority`", 8),
    ("duplicate-key", "team/bad.yaml", job(spec="  priority: 1\n  priority: 2\n"),
     "key 'priority' appears twice", 9),
    ("not-in-team-dir", "bad.yaml", job(), "must sit in a team directory", None),
    ("team-dir-not-label", "Team X/bad.yaml", job(), "not a valid Vertex label value", None),
    ("display-name-too-long", "team/bad.yaml",
     job(spec=f"  tunedModelDisplayName: {'x' * 129}\n"), "`spec.tunedModelDisplayName`", 8),
]


@pytest.mark.parametrize(
    ("rel", "content", "expected", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_file_is_reported_and_valid_file_still_loads(
    tmp_path: Path, rel: str, content: str | bytes, expected: str, line: int | None
) -> None:
    """Each broken file yields a message naming the file, and the valid sibling still loads."""
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "ok.yaml").write_text(GOOD.format(name="good-job"))
    target = tmp_path / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")

    load = load_jobs_dir(tmp_path)

    assert list(load.jobs) == ["good-job"]
    messages = [e for e in load.errors if e.file == str(target)]
    assert messages, f"no error for {rel}: {load.errors}"
    assert any(expected in e.message for e in messages), [e.message for e in messages]
    if line is not None:
        assert any(e.line == line for e in messages if expected in e.message), messages


def test_corpus_has_at_least_thirty_cases() -> None:
    """The issue asks for a corpus of at least 30 bad inputs."""
    assert len(CASES) >= 30


def test_duplicate_name_names_both_files(tmp_path: Path) -> None:
    """Two files claiming one job name are both invalid, and each message names the other."""
    for team in ("a", "b"):
        (tmp_path / team).mkdir()
        (tmp_path / team / "job.yaml").write_text(GOOD.format(name="same"))
    (tmp_path / "a" / "other.yaml").write_text(GOOD.format(name="other"))

    load = load_jobs_dir(tmp_path)

    assert list(load.jobs) == ["other"]
    assert load.invalid_names == {"same"}
    files = {e.file: e.message for e in load.errors}
    assert str(tmp_path / "b" / "job.yaml") in files[str(tmp_path / "a" / "job.yaml")]
    assert str(tmp_path / "a" / "job.yaml") in files[str(tmp_path / "b" / "job.yaml")]


def test_symlink_leaving_the_directory_is_an_error(tmp_path: Path) -> None:
    """A link to a file outside the jobs directory is refused unread; a valid file beside it
    loads."""
    outside = tmp_path / "outside.yaml"
    outside.write_text(GOOD.format(name="sneaky"))
    jobs = tmp_path / "jobs"
    (jobs / "team").mkdir(parents=True)
    (jobs / "team" / "ok.yaml").write_text(GOOD.format(name="good-job"))
    os.symlink(outside, jobs / "team" / "link.yaml")

    load = load_jobs_dir(jobs)

    assert list(load.jobs) == ["good-job"]
    refused = "is a symlink; links below the jobs directory are not followed"
    assert any(refused in e.message for e in load.errors)
    assert load.unnamed_failures == 1


def test_broken_file_keeps_its_job_name(tmp_path: Path) -> None:
    """A file with a readable name but an invalid spec marks that name invalid, not deleted."""
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "x.yaml").write_text(job(name="kept", spec="  epochs: 3\n"))

    load = load_jobs_dir(tmp_path)

    assert load.invalid_names == {"kept"}
    assert load.unnamed_failures == 0


def test_editor_temp_and_config_files_are_not_jobs(tmp_path: Path) -> None:
    """Dot files, `_` files, backups and non-YAML files are skipped, not reported."""
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "ok.yaml").write_text(GOOD.format(name="good-job"))
    for name in (".ok.yaml.swp", ".#ok.yaml", "ok.yaml~", "_draft.yaml", "notes.txt", "#ok.yaml#"):
        (tmp_path / "team" / name).write_text("garbage: [")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.yaml").write_text("garbage: [")

    load = load_jobs_dir(tmp_path)

    assert list(load.jobs) == ["good-job"]
    assert load.errors == ()


def test_missing_directory_is_unreadable_not_empty(tmp_path: Path) -> None:
    """A jobs directory that does not exist is reported as unreadable, so nothing is removed."""
    load = load_jobs_dir(tmp_path / "nope")

    assert not load.readable
    assert "cannot read the jobs directory" in load.errors[0].message


def test_warm_cache_parses_nothing_and_sees_policy_edits(tmp_path: Path) -> None:
    """An unchanged directory is not parsed again; editing the policy re-checks every job."""
    from tuning_operator.specs import LoadCache

    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "ok.yaml").write_text(GOOD.format(name="good-job"))
    cache = LoadCache()
    assert list(load_jobs_dir(tmp_path, cache=cache).jobs) == ["good-job"]
    assert list(load_jobs_dir(tmp_path, cache=cache).jobs) == ["good-job"]
    assert cache.parses == 1
    (tmp_path / "_policy.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: Policy\n"
        "teams:\n  team: {baseModels: [gemini-2.5-pro]}\n")
    load = load_jobs_dir(tmp_path, cache=cache)
    assert load.jobs == {}
    assert "team 'team' may use only gemini-2.5-pro" in load.errors[0].message
    assert cache.parses == 1


def test_unreadable_team_directory_is_an_error_not_a_deletion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A team directory the walk cannot read is reported and holds removals (root ignores
    permission bits, so the walk's error is injected)."""
    import tuning_operator.specs.walk as walk

    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "ok.yaml").write_text(GOOD.format(name="good-job"))
    (tmp_path / "locked").mkdir()
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if path == str(tmp_path / "locked"):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(walk.os, "scandir", scandir)
    load = load_jobs_dir(tmp_path)
    assert list(load.jobs) == ["good-job"]
    assert load.unnamed_failures == 1
    assert "cannot read this directory (Permission denied)" in load.errors[0].message
    assert load.errors[0].file == str(tmp_path / "locked")
