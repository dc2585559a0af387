"""`plan --actual FILE` is strict: what could make the plan false is one error naming the entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tuning_operator.cli import main

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "jobs"
JOB = {"name": "projects/p/locations/us-central1/tuningJobs/1", "state": "JOB_STATE_RUNNING",
       "labels": {"managed-by": "tuning-operator"}}


@pytest.mark.parametrize(("document", "message"), [
    ({"tuningJobs": [JOB], "nextPageToken": "abc"}, "`nextPageToken` is set: this is one page"),
    ({"tuningjobs": [JOB]}, "unknown top-level key(s) 'tuningjobs'"),
    ([{"state": "JOB_STATE_RUNNING"}], "job #0: no `name`"),
    ([{**JOB, "state": None}], "job #0 (projects/p/locations/us-central1/tuningJobs/1): no"
     " `state`"),
    ([{**JOB, "name": "foo"}], "job #0 (foo): `name` is not a tuning job resource name"),
    ([JOB, JOB], "job #1 (projects/p/locations/us-central1/tuningJobs/1): the same job as"
     " job #0"),
    ([{**JOB, "labels": 5}], "job #0 (projects/p/locations/us-central1/tuningJobs/1):"
     " `labels` must be a map"),
    ([{**JOB, "labels": {"a": 1}}], "`labels` must be a map of strings to strings"),
    ([3], "job #0: expected an object"),
    ("jobs", "expected a JSON list of jobs or a List response"),
], ids=["paged", "unknown-key", "no-name", "no-state", "malformed-name", "duplicate",
        "labels-5", "label-value-number", "not-an-object", "a-string"])
def test_a_doubtful_actual_file_is_one_error(tmp_path: Path, document: object, message: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 1 and one line that names the file, the entry and what is wrong; no plan."""
    actual = tmp_path / "actual.json"
    actual.write_text(json.dumps(document))
    assert main(["plan", "--actual", str(actual), "--jobs-dir", str(EXAMPLES)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{actual}: ") and message in err and err.count("\n") == 1


def test_a_complete_response_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The last page (an empty nextPageToken) and a job without labels are fine."""
    actual = tmp_path / "actual.json"
    job = {k: v for k, v in JOB.items() if k != "labels"}
    actual.write_text(json.dumps({"tuningJobs": [job], "nextPageToken": ""}))
    assert main(["plan", "--actual", str(actual), "--jobs-dir", str(EXAMPLES)]) == 0
    assert capsys.readouterr().out.startswith("Plan: ")
