"""The two buckets: datasets (training and validation files) and operator state (its lease).

Both are private by construction: uniform bucket-level access (no object ACLs), public access
prevention enforced, versioning on so an overwritten dataset or lease can be recovered, and old
versions deleted after a while so versioning does not grow without bound. They live in the tuning
region, because Vertex keeps tuning data in the job's region. With a CMEK key, the Cloud Storage
service agent is granted use of the key before the buckets are created (creation fails otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import kms, storage

from infra.components.options import child_options


@dataclass(frozen=True)
class TuningBucketsArgs:
    """Names, location and retention of the buckets, and the optional CMEK key."""

    project: str
    location: str
    datasets_bucket: str
    state_bucket: str
    noncurrent_version_days: int
    kms_key_name: str | None = None


class TuningBuckets(pulumi.ComponentResource):
    """The datasets bucket and the operator state bucket."""

    def __init__(
        self, name: str, args: TuningBucketsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("tuning-operator:infra:TuningBuckets", name, None, opts)
        key_grants: list[pulumi.Resource] = []
        if args.kms_key_name:
            after_apis = child_options(self, opts)
            agent = storage.get_project_service_account_output(
                project=args.project,
                opts=pulumi.InvokeOutputOptions(parent=self, depends_on=after_apis.depends_on),
            )
            key_grants.append(
                kms.CryptoKeyIAMMember(
                    f"{name}-storage-agent-uses-key",
                    crypto_key_id=args.kms_key_name,
                    role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
                    member=agent.member,
                    opts=after_apis,
                )
            )
        bucket_opts = child_options(self, opts, depends_on=key_grants)
        self.datasets = self._bucket(f"{name}-datasets", args.datasets_bucket, args, bucket_opts)
        self.state = self._bucket(f"{name}-state", args.state_bucket, args, bucket_opts)
        self.register_outputs({"datasets": self.datasets.name, "state": self.state.name})

    @staticmethod
    def _bucket(
        resource_name: str,
        bucket_name: str,
        args: TuningBucketsArgs,
        opts: pulumi.ResourceOptions,
    ) -> storage.Bucket:
        return storage.Bucket(
            resource_name,
            name=bucket_name,
            project=args.project,
            location=args.location,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=storage.BucketVersioningArgs(enabled=True),
            lifecycle_rules=[
                storage.BucketLifecycleRuleArgs(
                    action=storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=storage.BucketLifecycleRuleConditionArgs(
                        days_since_noncurrent_time=args.noncurrent_version_days,
                        with_state="ARCHIVED",
                    ),
                )
            ],
            encryption=(
                storage.BucketEncryptionArgs(default_kms_key_name=args.kms_key_name)
                if args.kms_key_name
                else None
            ),
            force_destroy=False,
            labels={"app": "tuning-operator"},
            opts=opts,
        )
