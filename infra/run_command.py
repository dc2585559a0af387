"""The exact `tuning-operator run` command line for a stack: the hand-off to the operator.

The operator reads no Pulumi state; everything it needs from a stack is in these flags, so this
is the one place where the two must agree (flags as in DESIGN.md and the operator's CLI issue).
On GKE the same settings go in the manifests' ConfigMap (`run --config`), with the names of the
service accounts: `kubernetes_values`.
"""

from __future__ import annotations

import shlex

import pulumi

from infra.config import StackConfig

LEASE_OBJECT = "leases/tuning-operator"
ARTIFACTS_PREFIX = "tuning-operator"  # --artifacts gs://BUCKET/PREFIX: one folder per operator


def _artifacts(bucket: str) -> str:
    return f"gs://{bucket}/{ARTIFACTS_PREFIX}"


def operator_run_command(
    cfg: StackConfig,
    *,
    state_bucket: pulumi.Input[str],
    artifacts_bucket: pulumi.Input[str],
    status_topic: pulumi.Input[str],
) -> pulumi.Output[str]:
    """`tuning-operator run …` with this stack's project, region, quota, lease, artifacts and
    topic."""

    def render(bucket: str, artifacts: str, topic: str) -> str:
        return shlex.join(
            [
                "tuning-operator",
                "run",
                "--jobs-dir",
                cfg.jobs_dir,
                "--project",
                cfg.project,
                "--region",
                cfg.region,
                "--max-concurrent-jobs",
                str(cfg.quota.max_concurrent_jobs),
                "--lease",
                f"gs://{bucket}/{LEASE_OBJECT}",
                "--artifacts",
                _artifacts(artifacts),
                "--events",
                f"pubsub:{topic}",
                "--state-dir",
                cfg.state_dir,
            ]
        )

    return pulumi.Output.all(state_bucket, artifacts_bucket, status_topic).apply(
        lambda values: render(*values)
    )


def kubernetes_values(
    cfg: StackConfig,
    *,
    operator_account: pulumi.Input[str],
    state_bucket: pulumi.Input[str],
    artifacts_bucket: pulumi.Input[str],
    status_topic: pulumi.Input[str],
) -> pulumi.Output[dict[str, object]]:
    """What deploy/kubernetes needs from this stack: names, the annotation, config.yaml's keys.

    The jobs and state directories are left out: the manifests' volumes decide those.
    """
    assert cfg.kubernetes_service_account is not None
    namespace, name = cfg.kubernetes_service_account.split("/")

    def render(email: str, bucket: str, artifacts: str, topic: str) -> dict[str, object]:
        return {
            "namespace": namespace,
            "serviceAccount": name,
            "gcpServiceAccount": email,
            "operatorSettings": {
                "project": cfg.project,
                "region": cfg.region,
                "max-concurrent-jobs": cfg.quota.max_concurrent_jobs,
                "lease": f"gs://{bucket}/{LEASE_OBJECT}",
                "artifacts": _artifacts(artifacts),
                "events": f"pubsub:{topic}",
            },
        }

    return pulumi.Output.all(operator_account, state_bucket, artifacts_bucket, status_topic).apply(
        lambda values: render(*values)
    )
