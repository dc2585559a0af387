"""Pulumi entry point: read the stack config, wire the components, export what the operator needs.

Pulumi runs this file with `infra/` as the script directory; the lines below replace it on
`sys.path` with the repository root, so the program is imported as the package `infra` and its
`config` module can never shadow a top-level module of that name (see `infra/__init__.py`).
"""

import sys
from pathlib import Path

_PROGRAM_DIR = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _PROGRAM_DIR]
if str(_PROGRAM_DIR.parent) not in sys.path:
    sys.path.insert(0, str(_PROGRAM_DIR.parent))

import pulumi  # noqa: E402

from infra.components import (  # noqa: E402
    ProjectServices,
    ProjectServicesArgs,
    StatusEvents,
    StatusEventsArgs,
    TuningBuckets,
    TuningBucketsArgs,
    TuningIdentities,
    TuningIdentitiesArgs,
    TuningQuota,
    TuningQuotaArgs,
)
from infra.config import load_stack_config  # noqa: E402
from infra.run_command import kubernetes_values, operator_run_command  # noqa: E402

cfg = load_stack_config()

services = ProjectServices("services", ProjectServicesArgs(project=cfg.project))
after_apis = pulumi.ResourceOptions(depends_on=services.enabled)

buckets = TuningBuckets(
    "storage",
    TuningBucketsArgs(
        project=cfg.project,
        location=cfg.region,
        datasets_bucket=cfg.datasets_bucket,
        state_bucket=cfg.state_bucket,
        artifacts_bucket=cfg.artifacts_bucket,
        noncurrent_version_days=cfg.noncurrent_version_days,
        artifacts_retention_days=cfg.artifacts_retention_days,
        kms_key_name=cfg.kms_key_name,
        protect=cfg.protect_buckets,
    ),
    after_apis,
)
events = StatusEvents(
    "messaging",
    StatusEventsArgs(
        project=cfg.project,
        location=cfg.region,
        message_retention=cfg.message_retention,
        max_delivery_attempts=cfg.max_delivery_attempts,
        audit_dataset_id=cfg.audit_dataset_id,
    ),
    after_apis,
)
identities = TuningIdentities(
    "identity",
    TuningIdentitiesArgs(
        project=cfg.project,
        datasets_bucket=buckets.datasets.name,
        state_bucket=buckets.state.name,
        artifacts_bucket=buckets.artifacts.name,
        status_topic=events.status_topic.name,
        team_uploaders=cfg.team_uploaders,
        kubernetes_service_account=cfg.kubernetes_service_account,
    ),
    after_apis,
)
TuningQuota("quotas", TuningQuotaArgs(project=cfg.project, request=cfg.quota), after_apis)

pulumi.export("datasetsBucket", buckets.datasets.name)
pulumi.export("stateBucket", buckets.state.name)
pulumi.export("artifactsBucket", buckets.artifacts.name)
pulumi.export("operatorServiceAccount", identities.operator.email)
pulumi.export("tuningServiceAccount", identities.tuning.email)
pulumi.export("statusTopic", events.status_topic_path)
pulumi.export("deadLetterTopic", events.dead_letter_topic_path)
pulumi.export("statusSubscription", events.consumer_subscription_path)
pulumi.export("deadLetterSubscription", events.dead_letter_subscription_path)
pulumi.export("auditSubscription", events.audit_subscription_path)
pulumi.export("auditTable", events.audit_table_ref)
pulumi.export("quotaRegions", list(cfg.quota.regions))
pulumi.export("teamDatasetPrefixes", identities.team_prefixes)
pulumi.export(
    "operatorRunCommand",
    operator_run_command(
        cfg,
        state_bucket=buckets.state.name,
        artifacts_bucket=buckets.artifacts.name,
        status_topic=events.status_topic_path,
    ),
)
if cfg.kubernetes_service_account is not None:
    pulumi.export(
        "kubernetes",
        kubernetes_values(
            cfg,
            operator_account=identities.operator.email,
            state_bucket=buckets.state.name,
            artifacts_bucket=buckets.artifacts.name,
            status_topic=events.status_topic_path,
        ),
    )
