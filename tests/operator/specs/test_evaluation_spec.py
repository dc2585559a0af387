"""The `evaluation` and `smokeTest` blocks: accepted shapes, clear errors, no spec-hash change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tuning_operator.specs import load_jobs_dir
from tuning_operator.specs.evaluation import METRICS, EvaluationSpec

HEADER = """\
apiVersion: tuning-operator/v1
kind: TuningJob
metadata:
  name: {name}
spec:
  baseModel: gemini-2.5-flash
  trainingDataset: gs://datasets/team/train.jsonl
"""

EVAL_LINE = '{"contents": [{"role": "user", "parts": [{"text": "q"}]}, ' \
    '{"role": "model", "parts": [{"text": "a"}]}]}\n'


def write_job(root: Path, body: str, *, name: str = "judged-v1", team: str = "support") -> Path:
    path = root / team / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER.format(name=name) + body)
    return path


def write_eval(root: Path, rel: str = "support/evals/tickets.jsonl") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(EVAL_LINE)
    return path


FULL = """\
  evaluation:
    dataset: evals/tickets.jsonl
    maxExamples: 50
    metrics: [exactMatch, bleu, rougeL]
    baseline: true
    checkpoint: best
    generationConfig: {temperature: 0, topP: 1, topK: 1, maxOutputTokens: 256, thinkingBudget: 0}
    require: {exactMatch: {min: 0.8, minGainOverBaseline: 0.1}}
  smokeTest:
    prompt: "Route this ticket: my invoice is wrong"
"""


def test_full_block_loads_and_resolves_the_relative_dataset(tmp_path: Path) -> None:
    """A complete evaluation block loads; the relative dataset resolves beside the job file."""
    write_eval(tmp_path)
    write_job(tmp_path, FULL)
    load = load_jobs_dir(tmp_path)
    assert load.errors == ()
    loaded = load.jobs["judged-v1"]
    evaluation = loaded.job.spec.evaluation
    assert evaluation is not None and evaluation.max_examples == 50
    assert evaluation.require["exactMatch"].min_gain_over_baseline == 0.1
    assert evaluation.generation_config.thinking_budget == 0
    assert loaded.job.spec.smoke_test is not None
    assert loaded.evaluation_dataset == str((tmp_path / "support/evals/tickets.jsonl").resolve())


def test_gcs_dataset_is_kept_as_written(tmp_path: Path) -> None:
    """A gs:// evaluation set is passed on as written (the pre-flight reads it)."""
    write_job(tmp_path, "  evaluation: {dataset: gs://bucket/evals/t.jsonl}\n")
    load = load_jobs_dir(tmp_path)
    assert load.errors == ()
    loaded = load.jobs["judged-v1"]
    assert loaded.evaluation_dataset == "gs://bucket/evals/t.jsonl"
    evaluation = loaded.job.spec.evaluation
    assert evaluation is not None and evaluation.metrics == list(METRICS)
    assert evaluation.max_examples == 200 and evaluation.checkpoint == "best"


def test_evaluation_fields_never_change_the_spec_hash(tmp_path: Path) -> None:
    """Adding, or changing, evaluation and smokeTest leaves the spec hash and labels alone."""
    write_eval(tmp_path)
    write_job(tmp_path, "", name="plain-v1")
    write_job(tmp_path, FULL.replace("name", "name"), name="plain-v2")
    load = load_jobs_dir(tmp_path)
    plain, judged = load.jobs["plain-v1"], load.jobs["plain-v2"]
    renamed = judged.job.model_copy(update={"metadata": plain.job.metadata})
    assert renamed.spec_hash() == plain.spec_hash
    assert renamed.spec_labels() == plain.spec_labels


# (case, evaluation block lines, expected part of the one error message)
BAD = [
    ("unknown-metric", "    dataset: evals/tickets.jsonl\n    metrics: [exactMatch, bleu4]\n",
     "unknown metric 'bleu4'; known metrics: exactMatch, bleu, rougeL"),
    ("metric-twice", "    dataset: evals/tickets.jsonl\n    metrics: [bleu, bleu]\n",
     "listed twice"),
    ("no-metrics", "    dataset: evals/tickets.jsonl\n    metrics: []\n", "at least 1"),
    ("require-unmeasured", "    dataset: evals/tickets.jsonl\n    metrics: [bleu]\n"
     "    require: {exactMatch: {min: 0.5}}\n", "`require` names 'exactMatch', which is not in"),
    ("require-unknown", "    dataset: evals/tickets.jsonl\n    require: {accuracy: {min: 0.5}}\n",
     "unknown metric 'accuracy'"),
    ("bar-empty", "    dataset: evals/tickets.jsonl\n    require: {bleu: {}}\n",
     "needs `min`, `minGainOverBaseline` or `minWinRate`"),
    ("bar-above-one", "    dataset: evals/tickets.jsonl\n    require: {bleu: {min: 3}}\n",
     "`min` 3.0 is above 1 (string metrics score 0-1)"),
    ("gain-without-baseline", "    dataset: evals/tickets.jsonl\n    baseline: false\n"
     "    require: {bleu: {minGainOverBaseline: 0.1}}\n", "needs `baseline: true`"),
    ("absolute-path", "    dataset: /etc/evals.jsonl\n", "is absolute"),
    ("dotdot", "    dataset: ../other/evals.jsonl\n", "leaves the job's directory"),
    ("not-jsonl", "    dataset: evals/tickets.csv\n", "must be a .jsonl file"),
    ("bad-gcs", "    dataset: gs://B/x.jsonl\n", "is not gs://BUCKET/PATH/FILE.jsonl"),
    ("other-scheme", "    dataset: https://x.example/e.jsonl\n", "only gs:// URIs"),
    ("max-examples-zero", "    dataset: evals/tickets.jsonl\n    maxExamples: 0\n",
     "greater than or equal to 1"),
    ("bad-checkpoint", "    dataset: evals/tickets.jsonl\n    checkpoint: 'best one'\n",
     "checkpoint"),
    ("typo-field", "    dataset: evals/tickets.jsonl\n    maxExample: 3\n",
     "did you mean `maxExamples`"),
    ("temperature-high",
     "    dataset: evals/tickets.jsonl\n    generationConfig: {temperature: 3}\n",
     "less than or equal to 2"),
    ("missing-file", "    dataset: evals/missing.jsonl\n", "no such file"),
]


@pytest.mark.parametrize(("case", "block", "expected"), BAD, ids=[c[0] for c in BAD])
def test_bad_evaluation_blocks_are_per_file_errors(
    tmp_path: Path, case: str, block: str, expected: str
) -> None:
    """Each bad evaluation block makes its file invalid with a message that names the fix."""
    del case
    write_eval(tmp_path)
    path = write_job(tmp_path, "  evaluation:\n" + block)
    load = load_jobs_dir(tmp_path)
    assert "judged-v1" in load.invalid_names
    assert len(load.errors) == 1, load.errors
    error = load.errors[0]
    assert error.file == str(path) and error.job == "judged-v1"
    assert expected in error.message


def test_symlink_leading_outside_the_jobs_directory_is_refused(tmp_path: Path) -> None:
    """A relative dataset that is a symlink to a file outside the jobs directory is an error."""
    outside = tmp_path / "outside.jsonl"
    outside.write_text(EVAL_LINE)
    jobs = tmp_path / "jobs"
    (jobs / "support" / "evals").mkdir(parents=True)
    os.symlink(outside, jobs / "support" / "evals" / "tickets.jsonl")
    write_job(jobs, "  evaluation: {dataset: evals/tickets.jsonl}\n")
    load = load_jobs_dir(jobs)
    assert "judged-v1" in load.invalid_names
    assert "leads outside the jobs directory" in load.errors[0].message


def test_a_directory_is_not_an_evaluation_set(tmp_path: Path) -> None:
    """A relative dataset that names a directory is refused."""
    (tmp_path / "support" / "evals" / "d.jsonl").mkdir(parents=True)
    write_job(tmp_path, "  evaluation: {dataset: evals/d.jsonl}\n")
    load = load_jobs_dir(tmp_path)
    assert "is not a regular file" in load.errors[0].message


def test_a_dataset_that_appears_later_is_seen_without_touching_the_job_file(
    tmp_path: Path,
) -> None:
    """The dataset check is not cached with the job file: adding the set fixes the job."""
    from tuning_operator.specs import LoadCache

    write_job(tmp_path, "  evaluation: {dataset: evals/tickets.jsonl}\n")
    cache = LoadCache()
    assert "judged-v1" in load_jobs_dir(tmp_path, cache=cache).invalid_names
    write_eval(tmp_path)
    assert "judged-v1" in load_jobs_dir(tmp_path, cache=cache).jobs


def test_smoke_test_prompt_must_not_be_empty() -> None:
    """An empty smoke-test prompt is rejected by the model."""
    from pydantic import ValidationError

    from tuning_operator.specs.evaluation import SmokeTest

    with pytest.raises(ValidationError):
        SmokeTest(prompt="")


def test_defaults_measure_every_metric_with_no_gate() -> None:
    """Without options an evaluation measures all metrics, asks the base model, gates nothing."""
    spec = EvaluationSpec(dataset="evals/x.jsonl")
    assert (spec.metrics, spec.baseline, spec.require) == (list(METRICS), True, {})
    assert spec.generation_config.temperature == 0.0


def test_team_dataset_prefixes_apply_to_a_gcs_evaluation_set(tmp_path: Path) -> None:
    """A gs:// evaluation set outside the team's prefixes is refused; a relative one is not."""
    (tmp_path / "_policy.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: Policy\n"
        "teams:\n  support:\n    datasetPrefixes: [gs://datasets/team/]\n")
    write_eval(tmp_path)
    write_job(tmp_path, "  evaluation: {dataset: gs://elsewhere/e.jsonl}\n", name="outside")
    write_job(tmp_path, "  evaluation: {dataset: evals/tickets.jsonl}\n", name="inside")
    load = load_jobs_dir(tmp_path)
    assert "inside" in load.jobs and "outside" in load.invalid_names
    assert any("`spec.evaluation.dataset`: gs://elsewhere/e.jsonl is outside the prefixes"
               in e.message for e in load.errors)


def test_a_rewritten_set_changes_its_digest_and_is_not_a_quiet_load(tmp_path: Path) -> None:
    """The set's content is part of the load: a rewrite (job file untouched) is a new load
    whose digest differs; an untouched set keeps its digest without being read again."""
    from tuning_operator.specs import LoadCache

    write_job(tmp_path, "  evaluation: {dataset: evals/tickets.jsonl}\n")
    path = write_eval(tmp_path)
    cache = LoadCache()
    first = load_jobs_dir(tmp_path, cache=cache)
    assert load_jobs_dir(tmp_path, cache=cache) is first  # nothing changed: the same load
    digest = first.jobs["judged-v1"].evaluation_digest
    assert digest is not None
    path.write_text(EVAL_LINE.replace('"a"', '"b"'))
    second = load_jobs_dir(tmp_path, cache=cache)
    assert second is not first
    assert second.jobs["judged-v1"].evaluation_digest not in (None, digest)
