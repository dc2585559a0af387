"""The evaluation set in the pre-flight: the training format's rules, its own findings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.dataset_examples import example
from tuning_operator.cli import main
from tuning_operator.datasets import DatasetCheckCache, DatasetRole, FindingKind, check_dataset
from tuning_operator.specs.catalog import BaseModel

TRAIN = [example(f"train question {i}", f"train answer {i}") for i in range(120)]
EVAL = [example(f"eval question {i}", f"eval answer {i}") for i in range(10)]
NO_ANSWER = {"contents": [{"role": "user", "parts": [{"text": "no reference"}]}]}


def test_a_good_evaluation_set_is_read_and_reported(
    jsonl: Callable[..., Path], flash: BaseModel
) -> None:
    """A valid evaluation set adds its file report and no finding."""
    train, evals = jsonl(TRAIN), jsonl(EVAL, name="eval.jsonl")
    report = check_dataset(str(train), None, model=flash, evaluation_uri=str(evals))
    assert report.evaluation is not None and report.evaluation.read
    assert report.evaluation.stats.examples == 10
    assert not [f for f in report.findings if f.dataset is DatasetRole.EVALUATION]
    assert report.to_dict()["evaluation"]["role"] == "evaluation"


# (case, evaluation lines or None for a missing file, expected finding kind)
BAD = [
    ("no-reference", [*EVAL, NO_ANSWER], FindingKind.LAST_TURN_NOT_MODEL),
    ("not-json", [*EVAL, "{oops\n"], FindingKind.INVALID_JSON),
    ("empty", [], FindingKind.TOO_FEW_EXAMPLES),
    ("missing", None, FindingKind.UNREADABLE),
]


@pytest.mark.parametrize(("case", "lines", "kind"), BAD, ids=[c[0] for c in BAD])
def test_bad_evaluation_sets_are_errors_of_their_own_file(
    jsonl: Callable[..., Path], flash: BaseModel, tmp_path: Path, case: str,
    lines: list[Any] | None, kind: FindingKind,
) -> None:
    """A bad evaluation set blocks with an error that names the evaluation file."""
    del case
    train = jsonl(TRAIN)
    evals = tmp_path / "eval.jsonl" if lines is None else jsonl(lines, name="eval.jsonl")
    report = check_dataset(str(train), None, model=flash, evaluation_uri=str(evals))
    errors = [f for f in report.findings if f.severity.value == "error"]
    assert [(f.dataset, f.kind) for f in errors] == [(DatasetRole.EVALUATION, kind)]
    assert report.verdict.value == "errors"
    assert report.reason().startswith(str(evals))


def test_a_changed_evaluation_set_is_checked_again(
    jsonl: Callable[..., Path], flash: BaseModel
) -> None:
    """The cache is keyed by the evaluation set's version too."""
    train, evals = jsonl(TRAIN), jsonl(EVAL, name="eval.jsonl")
    cache = DatasetCheckCache()
    first = check_dataset(str(train), None, model=flash, evaluation_uri=str(evals), cache=cache)
    assert first.verdict.value != "errors"
    jsonl([*EVAL, NO_ANSWER], name="eval.jsonl")
    second = check_dataset(str(train), None, model=flash, evaluation_uri=str(evals), cache=cache)
    assert second.verdict.value == "errors"


def test_dataset_validate_takes_an_evaluation_file(
    jsonl: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`dataset validate --evaluation` checks the set and fails on its errors."""
    train, evals = jsonl(TRAIN), jsonl([*EVAL, NO_ANSWER], name="eval.jsonl")
    assert main(["dataset", "validate", str(train), "--evaluation", str(evals)]) == 1
    out = capsys.readouterr().out
    assert f"{evals}:11: error:" in out and "evaluation:" in out


def test_job_checker_reads_the_relative_evaluation_set(tmp_path: Path) -> None:
    """The job check (`validate --check-datasets`, the operator) reads the set beside the job."""
    from tests.support.dataset_examples import write_jsonl

    jobs = tmp_path / "jobs"
    (jobs / "t" / "evals").mkdir(parents=True)
    train = write_jsonl(tmp_path / "train.jsonl", TRAIN)
    evals = write_jsonl(jobs / "t" / "evals" / "set.jsonl", [*EVAL, NO_ANSWER])
    (jobs / "t" / "judged.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata:\n  name: judged\nspec:\n"
        "  baseModel: gemini-2.5-flash\n  trainingDataset: gs://bucket/t/train.jsonl\n"
        "  evaluation: {dataset: evals/set.jsonl}\n")
    # The training set is local here: the loaded job is pointed at it before the check.
    from tuning_operator.datasets.jobcheck import JobDatasetChecker
    from tuning_operator.specs import load_jobs_dir

    loaded = load_jobs_dir(jobs).jobs["judged"]
    spec = loaded.job.spec.model_copy(update={"training_dataset": str(train)})
    job = loaded.job.model_copy(update={"spec": spec})
    check = JobDatasetChecker().check(
        type(loaded)(path=loaded.path, team=loaded.team, job=job, spec_hash=loaded.spec_hash,
                     evaluation_dataset=loaded.evaluation_dataset))
    assert check.blocks_create
    assert check.reason.startswith(f"{evals.resolve()}:11:")
    # What a create would train on: the training object's version, not the evaluation set's.
    assert list(check.generations) == [str(train)]
    assert check.generations[str(train)] == check.report.training.object.generation  # type: ignore[union-attr]
