"""`evaluation`, `smokeTest` and `preTunedModel` are built when a file has them
(`shapes.WhenPresent`), and validate and describe themselves as the nested models they stand
for."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from tuning_operator.specs.evaluation import EvaluationSpec, SmokeTest
from tuning_operator.specs.model import PreTunedModel, TuningJob

JOB: dict[str, Any] = {
    "apiVersion": "tuning-operator/v1", "kind": "TuningJob", "metadata": {"name": "judged-v1"},
    "spec": {"baseModel": "gemini-2.5-flash", "trainingDataset": "gs://data-set/t/train.jsonl"},
}


def job(**spec: object) -> dict[str, Any]:
    return {**JOB, "spec": {**JOB["spec"], **spec}}


def errors(document: dict[str, Any]) -> list[tuple[tuple[int | str, ...], str, str]]:
    with pytest.raises(ValidationError) as raised:
        TuningJob.model_validate(document)
    return [(e["loc"], e["type"], e["msg"]) for e in raised.value.errors()]


def test_a_job_without_the_blocks_builds_none_of_their_models() -> None:
    """In a fresh process, importing and validating a job file without `evaluation`,
    `smokeTest` or `preTunedModel` leaves their models (and the models they nest) unbuilt; a
    block builds them."""
    code = (
        "from tuning_operator.specs.model import TuningJob\n"
        "from tuning_operator.specs import evaluation, judges, model\n"
        "blocks = (evaluation.EvaluationSpec, evaluation.GenerationConfig, evaluation.MetricBar,"
        " evaluation.SmokeTest, judges.BaselineSpec, judges.ModelBasedMetric,"
        " model.PreTunedModel)\n"
        f"job = {JOB!r}\n"
        "TuningJob.model_validate(job)\n"
        "assert not any(m.__pydantic_complete__ for m in blocks), 'built'\n"
        "job['spec']['evaluation'] = {'dataset': 'gs://data-set/e/evals.jsonl'}\n"
        "assert TuningJob.model_validate(job).spec.evaluation.max_examples == 200\n"
        "assert evaluation.EvaluationSpec.__pydantic_complete__\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=60, env=env)
    assert done.returncode == 0, done.stderr


def test_a_block_is_its_model_or_none() -> None:
    """Absent or null: None; there: an instance of the nested model, as a nested field gives;
    an instance given is kept as it is."""
    assert TuningJob.model_validate(job()).spec.evaluation is None
    assert TuningJob.model_validate(job(evaluation=None, smokeTest=None)).spec.smoke_test is None
    smoke = TuningJob.model_validate(job(smokeTest={"prompt": "hi"})).spec.smoke_test
    assert type(smoke) is SmokeTest and smoke.prompt == "hi"
    given = EvaluationSpec(dataset="gs://data-set/e/evals.jsonl")
    assert TuningJob.model_validate(job(evaluation=given)).spec.evaluation is given


@pytest.mark.parametrize(("block", "expected"), [
    ({"evaluation": 3}, [(("spec", "evaluation"), "model_type",
                          "Input should be a valid dictionary or instance of EvaluationSpec")]),
    ({"smokeTest": []}, [(("spec", "smokeTest"), "model_type",
                          "Input should be a valid dictionary or instance of SmokeTest")]),
    ({"preTunedModel": {"job": "other-v1", "checkpointId": "3"}},
     [(("spec", "preTunedModel"), "value_error", "Value error, `checkpointId` goes with"
       " `tunedModel`; with `job`, write `checkpoint: best|last|ID`")]),
    ({"evaluation": {"dataset": "gs://data-set/e/evals.jsonl", "maxExampels": 3}},
     [(("spec", "evaluation", "maxExampels"), "extra_forbidden",
       "Extra inputs are not permitted")]),
    ({"evaluation": {"dataset": "gs://data-set/e/evals.jsonl",
                     "generationConfig": {"temperature": 5}}, "priority": "high"},
     [(("spec", "priority"), "int_parsing",
       "Input should be a valid integer, unable to parse string as an integer"),
      (("spec", "evaluation", "generationConfig", "temperature"), "less_than_equal",
       "Input should be less than or equal to 2")]),
])
def test_errors_are_located_below_the_field(block: dict[str, object],
                                            expected: list[tuple[object, ...]]) -> None:
    """Each error of a block keeps its place below `spec.evaluation` / `spec.smokeTest`, its
    type and its message, beside the errors of the other fields."""
    assert sorted(errors(job(**block))) == sorted(expected)


@pytest.mark.parametrize(("name", "model"), [("evaluation", EvaluationSpec),
                                             ("smokeTest", SmokeTest),
                                             ("preTunedModel", PreTunedModel)])
def test_the_json_schema_is_the_nested_models(name: str, model: type[BaseModel]) -> None:
    """The field's JSON Schema is that of `Model | None`: a reference to the model's
    definition or null, without a title of the field's own."""
    schema = TuningJob.model_json_schema(by_alias=True)
    field = schema["$defs"]["Spec"]["properties"][name]
    assert field["anyOf"] == [{"$ref": f"#/$defs/{model.__name__}"}, {"type": "null"}]
    assert "title" not in field
    alone = model.model_json_schema(by_alias=True)
    assert schema["$defs"][model.__name__] == {k: v for k, v in alone.items() if k != "$defs"}
