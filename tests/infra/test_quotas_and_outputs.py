"""The quota the operator relies on is requested (globally by default), and outputs hand the
stack over."""

import shlex
from typing import Any

import pytest

from tests.support.pulumi_mocks import ProgramRun, run_program

QUOTA_PREFERENCE = "gcp:cloudquota/sQuotaPreference:SQuotaPreference"
# Configured quota regions → the regions the stack reports (sorted; `region` when none).
REGIONS = pytest.mark.parametrize(("quota_regions", "expected"), [
    ([], ["us-central1"]),
    (["us-central1"], ["us-central1"]),
    (["us-central1", "europe-west4", "asia-northeast1"],
     ["asia-northeast1", "europe-west4", "us-central1"]),
])


@REGIONS
def test_one_global_quota_preference_by_default(
    minimal_config: dict[str, Any], quota_regions: list[str], expected: list[str]
) -> None:
    """However many regions the operator tunes in, one preference without a region dimension
    asks for maxConcurrentJobs: Vertex's concurrent tuning job quota is global (seed 003)."""
    run = run_program(minimal_config | {"tuning-operator:quotaRegions": quota_regions})
    (preference,) = run.of_type(QUOTA_PREFERENCE)
    assert preference.state["dimensions"] == {}
    assert preference.state["name"] == "tuning-operator-concurrent-tuning-jobs-global"
    assert preference.state["quotaConfig"] == {"preferredValue": "3"}
    assert sorted(run.outputs["quotaRegions"]) == expected


@REGIONS
def test_per_region_scope_requests_one_preference_per_region(
    minimal_config: dict[str, Any], quota_regions: list[str], expected: list[str]
) -> None:
    """quotaScope region: each configured region (or just `region`) gets exactly one
    preference, with its region dimension."""
    run = run_program(minimal_config | {"tuning-operator:quotaRegions": quota_regions,
                                        "tuning-operator:quotaScope": "region"})
    regions = sorted(p.state["dimensions"]["region"] for p in run.of_type(QUOTA_PREFERENCE))
    assert regions == expected
    assert run.outputs["quotaRegions"] == (quota_regions or ["us-central1"])


def test_quota_preference_asks_for_the_operators_concurrency(
    minimal_config: dict[str, Any],
) -> None:
    """The preference asks Vertex AI for maxConcurrentJobs with the configured id and contact."""
    run = run_program(
        minimal_config | {"tuning-operator:quotaDimensions": {"base_model": "gemini-2.5-flash"}}
    )
    (preference,) = run.of_type(QUOTA_PREFERENCE)
    expected = {
        "parent": "projects/acme-tuning-test",
        "service": "aiplatform.googleapis.com",
        "quotaId": "ExampleConcurrentTuningJobsQuota",
        "quotaConfig": {"preferredValue": "3"},
        "dimensions": {"base_model": "gemini-2.5-flash"},
        "contactEmail": "ml-platform@example.com",
        "justification": "GitOps-managed Gemini tuning.",
    }
    assert {key: preference.state.get(key) for key in expected} == expected


def test_outputs_name_everything_the_operator_and_consumers_use(example_stack: ProgramRun) -> None:
    """Buckets, accounts, topics, subscriptions, audit table and run command are all exported."""
    outputs = example_stack.outputs
    project = outputs["statusTopic"].split("/")[1]
    named = {
        "datasetsBucket": f"{project}-datasets",
        "stateBucket": f"{project}-operator-state",
        "artifactsBucket": f"{project}-operator-artifacts",
        "operatorServiceAccount": f"tuning-operator@{project}.iam.gserviceaccount.com",
        "tuningServiceAccount": f"tuning-jobs@{project}.iam.gserviceaccount.com",
        "statusTopic": f"projects/{project}/topics/tuning-operator-status",
        "deadLetterTopic": f"projects/{project}/topics/tuning-operator-dead-letter",
        "statusSubscription": f"projects/{project}/subscriptions/tuning-operator-status-consumers",
        "deadLetterSubscription": f"projects/{project}/subscriptions/tuning-operator-dead-letters",
        "auditSubscription": f"projects/{project}/subscriptions/tuning-operator-audit",
        "auditTable": f"{project}.tuning_operator_audit.status_events",
    }
    assert {key: outputs.get(key) for key in named} == named
    on_gke = {"kubernetes"} if "kubernetes" in outputs else set()  # Pulumi.prod.yaml: GKE
    assert set(outputs) == {*named, "quotaRegions", "teamDatasetPrefixes", "operatorRunCommand",
                            *on_gke}


def test_the_run_command_carries_exactly_this_stacks_flags(prod_stack: ProgramRun) -> None:
    """`tuning-operator run` gets the stack's project, region, quota, lease, artifacts, topic
    and dirs."""
    assert shlex.split(prod_stack.outputs["operatorRunCommand"]) == [
        "tuning-operator",
        "run",
        "--jobs-dir",
        "/srv/tuning-jobs/jobs",
        "--project",
        "acme-tuning-prod",
        "--region",
        "us-central1",
        "--max-concurrent-jobs",
        "4",
        "--lease",
        "gs://acme-tuning-prod-operator-state/leases/tuning-operator",
        "--artifacts",
        "gs://acme-tuning-prod-operator-artifacts/tuning-operator",
        "--events",
        "pubsub:projects/acme-tuning-prod/topics/tuning-operator-status",
        "--state-dir",
        "/var/lib/tuning-operator",
    ]


def test_the_operators_own_parser_accepts_the_run_command(example_stack: ProgramRun) -> None:
    """The exported command parses with tuning-operator's CLI, each flag landing where expected."""
    # The other side of the contract; only this test, never infra/, imports the operator.
    from tuning_operator.cli import build_parser

    outputs = example_stack.outputs
    args = build_parser().parse_args(shlex.split(outputs["operatorRunCommand"])[1:])
    assert (args.command, args.project, args.events) == (
        "run",
        outputs["statusTopic"].split("/")[1],
        f"pubsub:{outputs['statusTopic']}",
    )
    assert args.lease == f"gs://{outputs['stateBucket']}/leases/tuning-operator"
    assert args.artifacts == f"gs://{outputs['artifactsBucket']}/tuning-operator"
    assert args.max_concurrent_jobs >= 1


def test_team_prefixes_are_exported_as_the_policy_file_lists_them(prod_stack: ProgramRun) -> None:
    """Each team's upload prefix is exported as jobs/_policy.yaml's datasetPrefixes list them."""
    assert prod_stack.outputs["teamDatasetPrefixes"] == {
        team: f"gs://acme-tuning-prod-datasets/{team}/"
        for team in ("assistants", "knowledge", "support")
    }


def test_a_quota_scope_other_than_global_or_region_is_refused(
    minimal_config: dict[str, Any],
) -> None:
    """A typo in quotaScope stops the preview with the key and the fix."""
    from infra.config import StackConfigError

    with pytest.raises(StackConfigError, match="'zone' is not global or region"):
        run_program(minimal_config | {"tuning-operator:quotaScope": "zone"})


def test_example_stacks_request_one_global_preference(example_stack: ProgramRun) -> None:
    """dev and prod (two regions) each request the global quota once."""
    (preference,) = example_stack.of_type(QUOTA_PREFERENCE)
    assert "region" not in preference.state["dimensions"]
