"""GKE Workload Identity: the pods' service account may act as the operator, and nothing more."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import StackConfigError
from tests.support.pulumi_mocks import ProgramRun, run_program

ACT_AS_OPERATOR = "roles/iam.workloadIdentityUser"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _workload_identity(run: ProgramRun) -> list[tuple[str, str, str]]:
    return [
        (g.type, g.state["member"], g.grant_target)
        for g in run.grants()
        if g.state["role"] == ACT_AS_OPERATOR
    ]


@pytest.mark.parametrize(
    ("settings", "member"),
    [
        ({}, None),
        (
            {"tuning-operator:kubernetesNamespace": "tuning-operator"},
            "serviceAccount:acme-tuning-test.svc.id.goog[tuning-operator/tuning-operator]",
        ),
        (
            {
                "tuning-operator:kubernetesNamespace": "ml-platform",
                "tuning-operator:kubernetesServiceAccount": "tuner",
            },
            "serviceAccount:acme-tuning-test.svc.id.goog[ml-platform/tuner]",
        ),
    ],
)
def test_one_binding_on_the_operator_account_when_a_namespace_is_set(
    minimal_config: dict[str, Any], settings: dict[str, str], member: str | None
) -> None:
    """Set a namespace: its service account may act as the operator's account, only that one."""
    run = run_program(minimal_config | settings)
    operator = run.outputs["operatorServiceAccount"]
    expected = (
        []
        if member is None
        else [
            (
                "gcp:serviceaccount/iAMMember:IAMMember",
                member,
                f"projects/acme-tuning-test/serviceAccounts/{operator}",
            )
        ]
    )
    assert _workload_identity(run) == expected
    assert ("kubernetes" in run.outputs) == (member is not None)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("kubernetesNamespace", "Tuning_Operator"),
        ("kubernetesNamespace", "-tuning"),
        ("kubernetesServiceAccount", "a" * 64),
    ],
)
def test_a_name_kubernetes_would_refuse_stops_the_preview(
    minimal_config: dict[str, Any], key: str, value: str
) -> None:
    """Namespace and account names must be DNS labels; the error names the key."""
    config = minimal_config | {
        "tuning-operator:kubernetesNamespace": "tuning-operator",
        f"tuning-operator:{key}": value,
    }
    with pytest.raises(StackConfigError, match=f"tuning-operator:{key}"):
        run_program(config)


def test_the_kubernetes_output_is_what_the_gke_example_holds(prod_stack: ProgramRun) -> None:
    """deploy/kubernetes/gke-example carries exactly the values Pulumi.prod.yaml's stack exports."""
    values = prod_stack.outputs["kubernetes"]
    overlay = REPO_ROOT / "deploy" / "kubernetes" / "gke-example"
    [account] = yaml.safe_load_all((overlay / "serviceaccount.yaml").read_text())
    assert (account["metadata"]["namespace"], account["metadata"]["name"]) == (
        values["namespace"],
        values["serviceAccount"],
    )
    assert account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"] == (
        values["gcpServiceAccount"]
    )
    operator_config = next(
        doc
        for doc in yaml.safe_load_all((overlay / "configmap.yaml").read_text())
        if doc["metadata"]["name"] == "tuning-operator"
    )
    settings = yaml.safe_load(operator_config["data"]["config.yaml"])
    assert {key: settings[key] for key in values["operatorSettings"]} == values["operatorSettings"]
