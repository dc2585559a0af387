"""The policy's price table and budgets: validated, naming `_policy.yaml` and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuning_operator.specs import load_jobs_dir

JOB = """apiVersion: tuning-operator/v1
kind: TuningJob
metadata: {name: job-a}
spec:
  baseModel: gemini-2.5-flash
  trainingDataset: gs://bucket-a/train.jsonl
"""
HEAD = "apiVersion: tuning-operator/v1\nkind: Policy\n"


def _load(tmp_path: Path, policy: str):  # type: ignore[no-untyped-def]
    (tmp_path / "support").mkdir()
    (tmp_path / "support" / "job-a.yaml").write_text(JOB)
    (tmp_path / "_policy.yaml").write_text(HEAD + policy)
    return load_jobs_dir(str(tmp_path))


def test_prices_and_budgets_are_read(tmp_path: Path) -> None:
    """A well-formed table and budget load, and the policy is not broken."""
    load = _load(tmp_path, "prices: {currency: EUR, training: {gemini-2.5-flash: 5},"
                 " prediction: {gemini-2.5-flash: {input: 0.3, output: 2.5}}}\n"
                 "budgets: {support: {monthlyTrainingTokens: 200000000, onExceed: warn}}\n")
    assert not load.errors and not load.policy_broken
    assert load.policy is not None and load.policy.prices is not None
    assert load.policy.prices.training_price("gemini-2.5-flash") == 5.0
    assert load.policy.budgets["support"].on_exceed == "warn"


@pytest.mark.parametrize(("policy", "key"), [
    ("prices: {training: {gemini-2.5-flash: -1}}\n", "gemini-2.5-flash"),
    ("prices: {training: {gemini-2.5-flash: \"5.00\"}}\n", "gemini-2.5-flash"),
    ("prices: {training: {gemini-2.5-flash: lots}}\n", "gemini-2.5-flash"),
    ("prices: {training: {gemini-2.5-flash: .nan}}\n", "gemini-2.5-flash"),
    ("prices: {prediction: {gemini-2.5-flash: {input: 0.3, output: \"2\"}}}\n", "output"),
    ("prices: {training: {gemini-9-ultra: 5}}\n", "prices.training.gemini-9-ultra"),
    ("prices: {prediction: {gemini-9-ultra: {input: 1, output: 1}}}\n",
     "prices.prediction.gemini-9-ultra"),
    ("budgets: {knowledge: {monthlyCost: 800}}\n", "budgets.knowledge"),
    ("budgets: {support: {monthlyCost: -5}}\n", "monthlyCost"),
    ("budgets: {support: {monthlyTrainingTokens: 1.5}}\n", "monthlyTrainingTokens"),
    ("budgets: {support: {onExceed: later}}\n", "onExceed"),
])
def test_bad_money_is_refused(tmp_path: Path, policy: str, key: str) -> None:
    """Negative, non-numeric, quoted or NaN prices, unknown models and budgets of no team are
    errors naming the policy file and the key, and they hold every create."""
    load = _load(tmp_path, policy)
    assert load.policy_broken
    text = " ".join(f"{e.file} {e.message}" for e in load.errors)
    assert "_policy.yaml" in text and key in text, text


def test_example_policy_prices_are_valid() -> None:
    """The shipped example policy carries prices (with where to check them) that validate."""
    root = Path(__file__).parents[3] / "examples" / "jobs"
    load = load_jobs_dir(str(root))
    assert not load.errors and load.policy is not None and load.policy.prices is not None
    assert "pricing" in (root / "_policy.yaml").read_text()
