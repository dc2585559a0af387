"""An evaluation over an outage, through the executor: pending and backing off across passes,
`error` only once the outage outlasts the reviewed `giveUpAfter`; answers are never lost."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tuning_operator.errors import ArtifactsUnavailable, TemporaryError
from tuning_operator.planning.model import ObservedJob
from tuning_operator.reconciling.aftercare import Aftercare
from tuning_operator.reconciling.backoff import Requeue, Throttler
from tuning_operator.specs import LoadedJob, load_jobs_dir
from tuning_operator.specs.evaluation import GenerationConfig
from tuning_operator.state.records import Evaluation
from tuning_operator.state.store import JobRecord

ENDPOINT = "projects/p/locations/us-central1/endpoints/1"
SUCCEEDED = ObservedJob(name="projects/p/locations/us-central1/tuningJobs/1",
                        state="JOB_STATE_SUCCEEDED", tuned_endpoint=ENDPOINT)


class Endpoint:
    """Answers every question right, or fails every call while `down`."""

    def __init__(self) -> None:
        self.down, self.calls = True, 0

    def __call__(self, model: str, contents: Any, config: GenerationConfig, *,
                 system_instruction: Any = None) -> str:
        self.calls += 1
        if self.down:
            raise TemporaryError("UNAVAILABLE: endpoint down", retry_after=5.0)
        return str(contents[-1]["parts"][0]["text"]).replace("question", "Answer")


def job(tmp_path: Path, give_up: str) -> LoadedJob:
    jobs = tmp_path / "jobs"
    (jobs / "team" / "evals").mkdir(parents=True)
    (jobs / "team" / "evals" / "set.jsonl").write_text("".join(
        f'{{"contents": [{{"role": "user", "parts": [{{"text": "question {i}"}}]}},'
        f' {{"role": "model", "parts": [{{"text": "Answer {i}"}}]}}]}}\n' for i in range(5)))
    (jobs / "team" / "bot.yaml").write_text(
        "apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata: {name: bot}\nspec:\n"
        "  baseModel: gemini-2.5-flash\n  trainingDataset: gs://datasets/team/train.jsonl\n"
        "  evaluation: {dataset: evals/set.jsonl, baseline: false, checkpoint: last,"
        f" giveUpAfter: {give_up}}}\n")
    return load_jobs_dir(jobs).jobs["bot"]


def test_an_outage_shorter_than_give_up_after_only_delays_the_verdict(tmp_path: Path) -> None:
    """Down for three passes: pending with the reason, one call a pass, a growing backoff
    remembered by the throttler; back up: passed, each example answered once."""
    now = [1_800_000_000.0]
    endpoint, throttler = Endpoint(), Throttler()
    aftercare = Aftercare(throttler=throttler, concurrency=1,
                          clock=lambda: now[0], state_dir=tmp_path / "state", predict=endpoint)
    loaded, record = job(tmp_path, "1h"), JobRecord(name="bot", first_seen=0.0)
    waits = []
    for _ in range(3):
        outcome = aftercare.evaluate(None, record, SUCCEEDED, loaded)  # type: ignore[arg-type]
        assert isinstance(outcome, Requeue)
        waits.append(outcome.after)
        assert record.evaluation is not None and record.evaluation.verdict == "pending"
        assert "the endpoint is unavailable" in record.evaluation.reason
        assert throttler.not_before["evaluation:bot"] == now[0] + outcome.after
        now[0] += outcome.after
    assert endpoint.calls == 3 and waits[0] >= 5.0 and waits[-1] >= waits[0]
    endpoint.down = False
    aftercare.evaluate(None, record, SUCCEEDED, loaded)  # type: ignore[arg-type]
    assert record.evaluation is not None and record.evaluation.verdict == "passed"
    assert record.evaluation.unavailable_since is None
    assert endpoint.calls == 3 + 5 and "evaluation:bot" not in throttler.not_before


def test_an_outage_longer_than_give_up_after_is_an_error_verdict(tmp_path: Path) -> None:
    """giveUpAfter 90s: pending at first, `error` naming the bound once the outage outlasts it."""
    now = [1_800_000_000.0]
    aftercare = Aftercare(throttler=Throttler(), concurrency=1,
                          clock=lambda: now[0], state_dir=tmp_path / "state", predict=Endpoint())
    loaded, record = job(tmp_path, "90s"), JobRecord(name="bot", first_seen=0.0)
    aftercare.evaluate(None, record, SUCCEEDED, loaded)  # type: ignore[arg-type]
    assert record.evaluation is not None and record.evaluation.verdict == "pending"
    now[0] += 60
    aftercare.evaluate(None, record, SUCCEEDED, loaded)  # type: ignore[arg-type]
    assert record.evaluation.verdict == "pending"
    now[0] += 60
    aftercare.evaluate(None, record, SUCCEEDED, loaded)  # type: ignore[arg-type]
    assert record.evaluation.verdict == "error"
    assert "more than 90s (evaluation.giveUpAfter)" in record.evaluation.reason


class FlakyStore:
    """An answers store (the artifacts bucket's part) that refuses writes while `down`, and
    remembers the verdicts it was given."""

    def __init__(self) -> None:
        self.down = True
        self.kept: dict[tuple[str, str], str] = {}
        self.verdicts: list[tuple[str, str, dict[int, str]]] = []

    def load(self, digest: str) -> dict[tuple[str, str], str]:
        return dict(self.kept)

    def append(self, *, digest: str, model: str, example: str, answer: str,
               index: int | None = None) -> None:
        if self.down:
            raise ArtifactsUnavailable("gs://artifacts: 503")
        self.kept[(model, example)] = answer

    def keep_verdict(self, *, key: str, evaluation: Evaluation,
                     examples: Mapping[int, str]) -> None:
        self.verdicts.append((key, evaluation.verdict, dict(examples)))

    def close(self) -> None:
        return None


def test_answers_the_store_cannot_keep_do_not_count_and_the_verdict_is_kept(
        tmp_path: Path) -> None:
    """The artifacts store down: the evaluation pauses (pending) like an outage, counting no
    answer; back up: passed, and the final verdict is handed to the store with its examples."""
    endpoint, store = Endpoint(), FlakyStore()
    endpoint.down = False
    aftercare = Aftercare(throttler=Throttler(),
                          clock=lambda: 1_800_000_000.0, state_dir=tmp_path / "state",
                          predict=endpoint, answers=lambda job: store)
    loaded, record = job(tmp_path, "1h"), JobRecord(name="bot", first_seen=0.0)
    outcome = aftercare.evaluate(None, record, SUCCEEDED, loaded)  # type: ignore[arg-type]
    assert isinstance(outcome, Requeue)
    assert record.evaluation is not None and record.evaluation.verdict == "pending"
    assert "gs://artifacts: 503" in record.evaluation.reason and store.kept == {}
    assert store.verdicts == []
    store.down = False
    aftercare.evaluate(None, record, SUCCEEDED, loaded)  # type: ignore[arg-type]
    assert record.evaluation is not None and record.evaluation.verdict == "passed"
    [(key, verdict, examples)] = store.verdicts
    assert (key, verdict) == (record.evaluation.key, "passed")
    assert sorted(examples) == [0, 1, 2, 3, 4] and len(store.kept) == 5
