"""Stack config: a missing or malformed key fails with its name and the fix; docs stay in step."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import DEFAULTS, NAMESPACE, REQUIRED_KEYS, StackConfigError
from tests.support.pulumi_mocks import run_program, stack_file_config

REPO_ROOT = Path(__file__).resolve().parents[2]
MAP_KEYS = {key for key, default in DEFAULTS.items() if isinstance(default, dict)}


@pytest.mark.parametrize("key", ["gcp:project", *(f"{NAMESPACE}:{key}" for key in REQUIRED_KEYS)])
def test_a_missing_required_key_names_itself_and_the_command_to_set_it(
    minimal_config: dict[str, Any], key: str
) -> None:
    """Leaving out a required key fails before any resource, with `pulumi config set <key>`."""
    del minimal_config[key]
    with pytest.raises(StackConfigError, match=f"{re.escape(key)}: is missing") as failure:
        run_program(minimal_config)
    assert failure.value.key == key
    assert f"Fix: pulumi config set {key} " in str(failure.value)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("gcp:project", "Acme_Tuning", "is not a Google Cloud project id"),
        ("tuning-operator:region", "us central", "is not a region name"),
        ("tuning-operator:maxConcurrentJobs", "two", "is not a whole number from 1 to 1000"),
        ("tuning-operator:maxConcurrentJobs", "0", "is not a whole number from 1 to 1000"),
        ("tuning-operator:quotaContactEmail", "ml-platform", "is not an email address"),
        ("tuning-operator:quotaRegions", "us-central1", "is not a YAML list or map"),
        ("tuning-operator:quotaRegions", ["us-central1", "mars"], "'mars' is not a region name"),
        ("tuning-operator:quotaRegions", ["us-central1", "us-central1"], "names a region twice"),
        ("tuning-operator:quotaRegions", ["europe-west4"], "leaves out us-central1"),
        ("tuning-operator:quotaDimensions", {"base_model": ["a", "b"]}, "values that are not text"),
        ("tuning-operator:quotaDimensions", {"region": "us-east1"}, "does not let you set"),
        ("tuning-operator:kmsKeyName", "my-key", "is not a Cloud KMS key name"),
        ("tuning-operator:messageRetention", "7d", "is not a duration in seconds"),
        ("tuning-operator:messageRetention", "9999999s", "outside Pub/Sub's 600s..604800s"),
        ("tuning-operator:maxDeliveryAttempts", "3", "is not a whole number from 5 to 100"),
        ("tuning-operator:teams", {"support": ["allUsers"]}, "'allUsers', not a member"),
        (
            "tuning-operator:teams",
            {"Support Team": ["group:s@example.com"]},
            "not a team directory",
        ),
        ("tuning-operator:teams", {"support": "group:s@example.com"}, "not a list of members"),
        ("tuning-operator:protectBuckets", "maybe", "'maybe' is not true or false"),
    ],
)
def test_a_malformed_value_names_the_key_the_problem_and_a_fix(
    minimal_config: dict[str, Any], key: str, value: Any, problem: str
) -> None:
    """A value of the wrong shape fails with the key, what is wrong with it, and how to fix it."""
    with pytest.raises(StackConfigError, match=re.escape(problem)) as failure:
        run_program(minimal_config | {key: value})
    assert failure.value.key == key
    assert str(failure.value).startswith(f"stack config {key}: ")
    assert "Fix: " in str(failure.value)


def test_a_cmek_key_outside_the_bucket_region_is_refused(minimal_config: dict[str, Any]) -> None:
    """Cloud Storage needs the key in the bucket's location, so another location is refused."""
    key = "projects/kms/locations/europe-west4/keyRings/r/cryptoKeys/k"
    with pytest.raises(
        StackConfigError, match="is in europe-west4 but the buckets are in us-central1"
    ):
        run_program(minimal_config | {"tuning-operator:kmsKeyName": key})


def test_the_required_keys_alone_make_a_working_stack(minimal_config: dict[str, Any]) -> None:
    """With only the required keys, defaults fill the rest: no CMEK, no teams, one region."""
    run = run_program(minimal_config)
    assert not run.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert run.outputs["teamDatasetPrefixes"] == {}
    assert run.outputs["quotaRegions"] == ["us-central1"]
    assert "--jobs-dir jobs " in run.outputs["operatorRunCommand"]


def test_pulumi_yaml_documents_every_key_with_the_programs_defaults() -> None:
    """Pulumi.yaml declares each key the program reads, with the same default, or explains it."""
    text = (REPO_ROOT / "Pulumi.yaml").read_text(encoding="utf-8")
    project = yaml.safe_load(text)
    assert project["name"] == NAMESPACE
    declared = project["config"]
    assert set(declared) == set(REQUIRED_KEYS) | (set(DEFAULTS) - MAP_KEYS)
    for key in REQUIRED_KEYS:
        assert "default" not in declared[key], key
    for key in set(DEFAULTS) - MAP_KEYS:
        assert declared[key]["default"] == DEFAULTS[key], key
    for key in declared:
        assert declared[key]["description"].strip(), key
    for undeclarable in [*sorted(MAP_KEYS), "gcp:project"]:
        assert re.search(rf"#\s+(tuning-operator:)?{re.escape(undeclarable)}\s", text), undeclarable


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_example_stacks_use_only_keys_the_program_reads(stack: str) -> None:
    """A misspelt key in a stack file would be ignored silently; the examples have none."""
    known = {"gcp:project"} | {f"{NAMESPACE}:{key}" for key in (*REQUIRED_KEYS, *DEFAULTS)}
    assert set(stack_file_config(REPO_ROOT / f"Pulumi.{stack}.yaml")) <= known


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_example_stacks_say_plainly_that_the_quota_id_is_unverified(stack: str) -> None:
    """The example quotaId is marked UNVERIFIED next to the command that confirms it."""
    text = (REPO_ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
    before_quota_id = text.split("tuning-operator:quotaId:")[0].rsplit("\n\n", 1)[-1]
    assert "UNVERIFIED" in before_quota_id
    assert "gcloud beta quotas info list --service=aiplatform.googleapis.com" in before_quota_id
