"""The judges of `evaluation`: few-shot baseline, model-based metrics, human ratings, in files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.operator.specs.test_evaluation_spec import write_eval, write_job
from tuning_operator.specs import load_jobs_dir

JUDGED = """\
  evaluation:
    dataset: evals/tickets.jsonl
    baseline: {zeroShot: true, fewShot: 3}
    modelBased:
      - name: correctness
        kind: pointwise
        rubric: |
          Score 1-5 how correct {response} is against {reference} for {prompt}.
      - name: preferred
        kind: pairwise
        rubric: Which answers {prompt} better, {response} or {baseline_response}?
    humanRatings: evals/human.jsonl
    require:
      exactMatch: {min: 0.5, minGainOverBaseline: 0.1}
      correctness: {min: 4.0, minAgreement: 0.7}
      preferred: {minWinRate: 0.6}
"""
RATING = '{"example": 0, "metric": "correctness", "score": 4}\n'


def write_ratings(root: Path, text: str = RATING) -> Path:
    path = root / "support" / "evals" / "human.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_whole_block_loads_with_its_ratings_read(tmp_path: Path) -> None:
    """A block with every judge loads; the ratings are read, the gate keeps its order."""
    write_eval(tmp_path)
    write_ratings(tmp_path)
    write_job(tmp_path, JUDGED)
    load = load_jobs_dir(tmp_path)
    assert load.errors == ()
    loaded = load.jobs["judged-v1"]
    spec = loaded.job.spec.evaluation
    assert spec is not None and spec.baselines.few_shot == 3
    assert list(spec.require) == ["exactMatch", "correctness", "preferred"]
    assert [(r.example, r.metric, r.score) for r in loaded.human_ratings] == [
        (0, "correctness", 4)]


def test_judges_never_change_the_spec_hash(tmp_path: Path) -> None:
    """Model-based metrics, baselines and ratings are operator-only: the hash stays."""
    write_eval(tmp_path)
    write_ratings(tmp_path)
    write_job(tmp_path, "  evaluation: {dataset: evals/tickets.jsonl}\n")
    before = load_jobs_dir(tmp_path).jobs["judged-v1"].spec_hash
    write_job(tmp_path, JUDGED)
    assert load_jobs_dir(tmp_path).jobs["judged-v1"].spec_hash == before


def test_a_changed_ratings_file_changes_the_evaluation_digest(tmp_path: Path) -> None:
    """The ratings are part of what a verdict is of: rewriting them re-judges."""
    write_eval(tmp_path)
    write_ratings(tmp_path)
    write_job(tmp_path, JUDGED)
    first = load_jobs_dir(tmp_path).jobs["judged-v1"].evaluation_digest
    write_ratings(tmp_path, RATING.replace('"score": 4', '"score": 2'))
    assert load_jobs_dir(tmp_path).jobs["judged-v1"].evaluation_digest != first


BAD = [
    ("unknown-placeholder", JUDGED.replace("against {reference}", "against {answer}"),
     RATING, "unknown placeholder {answer} in the rubric"),
    ("pairwise-reference", JUDGED.replace("or {baseline_response}", "or {reference}"),
     RATING, "a pairwise rubric may use {prompt} {response} {baseline_response}"),
    ("require-undeclared", JUDGED.replace("preferred: {minWinRate", "helpful: {minWinRate"),
     RATING, "unknown metric 'helpful'"),
    ("pointwise-off-scale", JUDGED.replace("min: 4.0,", "min: 0.5,"), RATING,
     "off the 1-5 scale"),
    ("win-rate-on-pointwise", JUDGED.replace("minAgreement: 0.7", "minWinRate: 0.7"), RATING,
     "`minWinRate` applies to pairwise metrics"),
    ("agreement-without-people", JUDGED.replace("    humanRatings: evals/human.jsonl\n", ""),
     RATING, "`minAgreement` needs `humanRatings`"),
    ("rating-out-of-range", JUDGED, RATING.replace('"example": 0', '"example": 7'),
     "example 7 is out of range (the set has 1 examples)"),
    ("rating-off-scale", JUDGED, RATING.replace('"score": 4', '"score": 6'),
     "score 6 is not a whole number from 1 to 5"),
    ("rating-of-pairwise", JUDGED, RATING.replace("correctness", "preferred"),
     "metric 'preferred' is not a pointwise `modelBased` metric"),
    ("pairwise-without-baseline", JUDGED.replace("{zeroShot: true, fewShot: 3}", "false")
     .replace(", minGainOverBaseline: 0.1", ""), RATING, "set `baseline: true`"),
    ("shots-from-without-shots", JUDGED.replace("fewShot: 3}", "fewShot: 0, fewShotFrom:"
                                                " evals/human.jsonl}"), RATING,
     "`fewShotFrom` without `fewShot: N`"),
    ("few-shot-too-many", JUDGED.replace("fewShot: 3", "fewShot: 100"), RATING,
     "less than or equal to 32"),
    ("few-shot-from-missing", JUDGED.replace("fewShot: 3}", "fewShot: 3, fewShotFrom: s.jsonl}"),
     RATING, "`spec.evaluation.baseline.fewShotFrom`: 's.jsonl': no such file"),
]


@pytest.mark.parametrize(("case", "block", "ratings", "expected"), BAD, ids=[c[0] for c in BAD])
def test_bad_judges_are_errors_naming_the_file(
    tmp_path: Path, case: str, block: str, ratings: str, expected: str
) -> None:
    """Each bad judge makes its job file invalid with a message that says what to fix."""
    del case
    write_eval(tmp_path)
    write_ratings(tmp_path, ratings)
    path = write_job(tmp_path, block)
    load = load_jobs_dir(tmp_path)
    assert "judged-v1" in load.invalid_names
    assert len(load.errors) == 1, load.errors
    assert load.errors[0].file == str(path)
    assert expected in load.errors[0].message
