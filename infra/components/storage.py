"""The three buckets: datasets (training and validation files), operator state (its lease) and
operator artifacts (evaluation answers and verdicts every replica reads, `run --artifacts`).

All are private by construction: uniform bucket-level access (no object ACLs) and public access
prevention enforced. Datasets and state are versioned so an overwritten dataset or lease can be
recovered, and old versions are deleted after a while so versioning does not grow without bound.
Artifacts are never overwritten (the operator writes each object once, with a generation
precondition), so that bucket is not versioned; its objects are deleted after a retention period
instead. They live in the tuning region, because Vertex keeps tuning data in the job's region.
With a CMEK key, the Cloud Storage service agent is granted use of the key before the buckets are
created (creation fails otherwise).
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
    artifacts_bucket: str
    noncurrent_version_days: int
    artifacts_retention_days: int
    kms_key_name: str | None = None
    protect: bool = False  # Pulumi `protect`: no destroy or replacement deletes a bucket


class TuningBuckets(pulumi.ComponentResource):
    """The datasets bucket, the operator state bucket and the operator artifacts bucket."""

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
        bucket_opts = pulumi.ResourceOptions.merge(
            child_options(self, opts, depends_on=key_grants),
            pulumi.ResourceOptions(protect=args.protect))
        old_versions = storage.BucketLifecycleRuleConditionArgs(
            days_since_noncurrent_time=args.noncurrent_version_days, with_state="ARCHIVED"
        )
        # Overwritable (a dataset, the lease): versioned, old versions deleted after a while.
        self.datasets, self.state = (
            self._bucket(
                f"{name}-{suffix}",
                bucket,
                args,
                bucket_opts,
                versioned=True,
                delete_when=old_versions,
            )
            for suffix, bucket in (("datasets", args.datasets_bucket), ("state", args.state_bucket))
        )
        self.artifacts = self._bucket(
            f"{name}-artifacts",
            args.artifacts_bucket,
            args,
            bucket_opts,
            versioned=False,
            delete_when=storage.BucketLifecycleRuleConditionArgs(age=args.artifacts_retention_days),
        )
        self.register_outputs(
            {
                "datasets": self.datasets.name,
                "state": self.state.name,
                "artifacts": self.artifacts.name,
            }
        )

    @staticmethod
    def _bucket(
        resource_name: str,
        bucket_name: str,
        args: TuningBucketsArgs,
        opts: pulumi.ResourceOptions,
        *,
        versioned: bool,
        delete_when: storage.BucketLifecycleRuleConditionArgs,
    ) -> storage.Bucket:
        return storage.Bucket(
            resource_name,
            name=bucket_name,
            project=args.project,
            location=args.location,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=storage.BucketVersioningArgs(enabled=versioned),
            lifecycle_rules=[
                storage.BucketLifecycleRuleArgs(
                    action=storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=delete_when,
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
