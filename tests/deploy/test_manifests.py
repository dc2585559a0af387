"""The Kubernetes manifests, checked offline: schemas, the restricted profile, checkov.

Nothing here reaches a cluster or a registry: kubernetes-validate ships the API schemas, and
checkov runs from its own virtualenv (`make checkov`; it pins packages below requirements.txt).
Without that virtualenv the checkov test skips, except under `CI=true`, where that is a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tuning_operator.manager.settings import resolve_settings

REPO = Path(__file__).resolve().parents[2]
KUBERNETES = REPO / "deploy" / "kubernetes"
BASE, OVERLAY = KUBERNETES / "base", KUBERNETES / "gke-example"
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
# Native sidecars (an init container with restartPolicy: Always) need 1.29 or later.
KUBERNETES_VERSION = "1.30"
UID = 10001
OUTBOX_DRAIN_SECONDS = 10.0  # the manager closes the outbox with this timeout on the way out


def documents(directory: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Kubernetes object of a directory (its kustomization.yaml aside), with its file."""
    for path in sorted(directory.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            for document in yaml.safe_load_all(path.read_text()):
                yield f"{directory.name}/{path.name}", document


def kustomization(directory: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((directory / "kustomization.yaml").read_text())
    return loaded


def by_kind(kind: str, directory: Path = BASE) -> list[dict[str, Any]]:
    return [doc for _, doc in documents(directory) if doc["kind"] == kind]


def pod_spec() -> dict[str, Any]:
    [statefulset] = by_kind("StatefulSet")
    spec: dict[str, Any] = statefulset["spec"]["template"]["spec"]
    return spec


ALL = [*documents(BASE), *documents(OVERLAY)]


@pytest.mark.parametrize(("file", "document"), ALL,
                         ids=[f"{f}:{d['kind']}/{d['metadata']['name']}" for f, d in ALL])
def test_every_object_matches_the_kubernetes_schema(file: str, document: dict[str, Any]) -> None:
    """Each object is valid for the Kubernetes API (strict: no unknown fields)."""
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_base_lists_every_file_and_the_overlay_patches_only_what_exists() -> None:
    """kustomize sees every manifest, and every patch of the example names a base object."""
    assert sorted(kustomization(BASE)["resources"]) == sorted(
        p.name for p in BASE.glob("*.yaml") if p.name != "kustomization.yaml")
    overlay = kustomization(OVERLAY)
    assert overlay["resources"] == ["../base"]
    base = {(d["kind"], d["metadata"]["name"]) for _, d in documents(BASE)}
    for patch in overlay["patches"]:
        for document in yaml.safe_load_all((OVERLAY / patch["path"]).read_text()):
            assert (document["kind"], document["metadata"]["name"]) in base
    [image] = overlay["images"]
    assert image["name"] == pod_spec()["containers"][0]["image"].split(":")[0]


def test_two_replicas_with_a_state_volume_each_and_a_disruption_budget() -> None:
    """Two replicas share a gs:// lease; each keeps its own state; a drain leaves one running."""
    [statefulset] = by_kind("StatefulSet")
    assert statefulset["spec"]["replicas"] == 2
    [claim] = statefulset["spec"]["volumeClaimTemplates"]
    [operator] = pod_spec()["containers"]
    mounts = {m["name"]: m["mountPath"] for m in operator["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == "/var/lib/tuning-operator"
    [budget] = by_kind("PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_every_container_runs_restricted() -> None:
    """Non-root, read-only root, no escalation, no capabilities, seccomp RuntimeDefault."""
    spec = pod_spec()
    pod = spec["securityContext"]
    assert (pod["runAsNonRoot"], pod["runAsUser"], pod["fsGroup"]) == (True, UID, UID)
    assert spec["automountServiceAccountToken"] is False
    for container in [*spec["initContainers"], *spec["containers"]]:
        context = container["securityContext"]
        assert context == {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }, container["name"]
        resources = container["resources"]
        assert {"cpu", "memory"} <= resources["requests"].keys() & resources["limits"].keys()


def test_git_sync_keeps_the_jobs_directory_the_operator_reads(tmp_path: Path) -> None:
    """git-sync clones first, then runs beside the operator, into the volume it reads."""
    spec = pod_spec()
    clone, sidecar = spec["initContainers"]
    assert clone["image"] == sidecar["image"]
    assert clone["image"].startswith("registry.k8s.io/git-sync/git-sync:v4.")
    assert sidecar["restartPolicy"] == "Always" and "restartPolicy" not in clone
    assert {"name": "GITSYNC_ONE_TIME", "value": "true"} in clone["env"]
    [git_sync] = [c for c in by_kind("ConfigMap") if c["metadata"]["name"] ==
                  sidecar["envFrom"][0]["configMapRef"]["name"]]
    root, link = git_sync["data"]["GITSYNC_ROOT"], git_sync["data"]["GITSYNC_LINK"]
    [operator] = spec["containers"]
    shared = {m["mountPath"]: m for m in operator["volumeMounts"]}[root]
    assert shared["readOnly"] is True
    assert options(BASE, tmp_path).jobs_dir.startswith(f"{root}/{link}/")


@pytest.mark.parametrize("directory", [BASE, OVERLAY], ids=["base", "gke-example"])
def test_git_sync_fetches_the_whole_history(directory: Path) -> None:
    """Depth 0: a shallow clone would name the last committer as the author of every job."""
    [git_sync] = [c for c in by_kind("ConfigMap", directory)
                  if c["metadata"]["name"] == "tuning-operator-git-sync"]
    assert git_sync["data"]["GITSYNC_DEPTH"] == "0"


@pytest.mark.parametrize("directory", [BASE, OVERLAY], ids=["base", "gke-example"])
def test_git_sync_reads_its_credentials_from_a_secret(directory: Path) -> None:
    """Both git-sync containers mount the Secret read-only; the token is a file in it."""
    spec = pod_spec()
    [volume] = [v for v in spec["volumes"] if "secret" in v]
    assert volume["secret"]["secretName"] == "tuning-operator-git"
    for container in spec["initContainers"]:
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts[volume["name"]]["readOnly"] is True
        root = mounts[volume["name"]]["mountPath"]
    [git_sync] = [c for c in by_kind("ConfigMap", directory)
                  if c["metadata"]["name"] == "tuning-operator-git-sync"]
    assert git_sync["data"]["GITSYNC_PASSWORD_FILE"].startswith(f"{root}/")
    assert not any("PASSWORD" in k and "FILE" not in k for k in git_sync["data"])
    [operator] = spec["containers"]
    assert volume["name"] not in {m["name"] for m in operator["volumeMounts"]}


@pytest.mark.parametrize(("directory", "namespace"), [(BASE, "monitoring"),
                                                      (OVERLAY, "gmp-system")],
                         ids=["base", "gke-example"])
def test_the_metrics_port_admits_only_the_monitoring_namespace(directory: Path,
                                                               namespace: str) -> None:
    """One ingress rule: port 9090 from the one namespace the kustomization names."""
    [policy] = by_kind("NetworkPolicy", directory)  # the overlay's: its patch replaces `ingress`
    [rule] = policy["spec"]["ingress"]
    assert rule["ports"] == [{"port": 9090, "protocol": "TCP"}]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": namespace}}}]


def options(directory: Path, tmp_path: Path) -> argparse.Namespace:
    """The settings `run --config` resolves from a ConfigMap's config.yaml."""
    [config] = [c for c in by_kind("ConfigMap", directory)
                if c["metadata"]["name"] == "tuning-operator"]
    path = tmp_path / f"{directory.name}.yaml"
    path.write_text(config["data"]["config.yaml"])
    return resolve_settings(argparse.Namespace(config=str(path)), environ={})


@pytest.mark.parametrize("directory", [BASE, OVERLAY], ids=["base", "gke-example"])
def test_the_operator_settings_are_ones_run_accepts(directory: Path, tmp_path: Path) -> None:
    """config.yaml holds only known settings: a gs:// lease, the gs:// artifacts both replicas
    share, the metrics port the probes use."""
    settings = options(directory, tmp_path)
    assert settings.lease.startswith("gs://")
    assert settings.artifacts.startswith("gs://") and settings.artifacts.count("/") >= 3
    assert settings.events.startswith("pubsub:projects/")
    assert settings.metrics_address == "0.0.0.0"
    [operator] = pod_spec()["containers"]
    [port] = operator["ports"]
    assert port["containerPort"] == settings.metrics_port
    probes = {operator[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")}
    assert probes == {"/healthz", "/readyz"}
    assert operator["args"] == ["run", "--config", "/etc/tuning-operator/config.yaml"]


@pytest.mark.parametrize("directory", [BASE, OVERLAY], ids=["base", "gke-example"])
def test_the_grace_period_outlasts_a_lease_term_and_the_drain(directory: Path,
                                                              tmp_path: Path) -> None:
    """SIGTERM: a leader finishes its pass (a pass longer than a term has lost the lease), drains
    the outbox (10 s) and releases the lease before the kubelet's SIGKILL."""
    settings = options(directory, tmp_path)
    [statefulset] = by_kind("StatefulSet")
    grace = statefulset["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert settings.lease_term == 30
    assert grace >= settings.lease_term + OUTBOX_DRAIN_SECONDS


def test_the_service_account_is_annotated_for_workload_identity() -> None:
    """The pods run as a service account that names the operator's Google service account."""
    [account] = by_kind("ServiceAccount")
    assert pod_spec()["serviceAccountName"] == account["metadata"]["name"]
    email = account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    assert email.startswith("tuning-operator@") and email.endswith(".iam.gserviceaccount.com")


def test_checkov_finds_nothing_but_the_documented_skips() -> None:
    """checkov fails exactly the checks checkov.yaml skips, each with its reason there."""
    if not CHECKOV.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs checkov: make checkov")
        pytest.skip("checkov is not installed: make checkov")
    config = yaml.safe_load((KUBERNETES / "checkov.yaml").read_text())
    done = subprocess.run([str(CHECKOV), "--directory", str(KUBERNETES), "--framework",
                           "kubernetes", "--skip-download", "--quiet", "--compact",
                           "--output", "json"], capture_output=True, text=True, timeout=600,
                          check=False)
    report = json.loads(done.stdout)
    failed = sorted({c["check_id"] for c in report["results"]["failed_checks"]})
    assert failed == sorted(config["skip-check"]), done.stdout[-3000:]
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 50
