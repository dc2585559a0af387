"""Policies for the buckets, the status topics and subscriptions, and the BigQuery audit trail."""

import json
from typing import Any

from tests.support.pulumi_mocks import ProgramRun

BUCKET = "gcp:storage/bucket:Bucket"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"


def _subscriptions_on(run: ProgramRun, topic: str) -> list[dict[str, Any]]:
    return [dict(s.state) for s in run.of_type(SUBSCRIPTION) if s.state["topic"] == topic]


def test_every_bucket_is_private_by_construction(example_stack: ProgramRun) -> None:
    """No bucket lacks uniform bucket-level access or enforced public access prevention."""
    buckets = example_stack.of_type(BUCKET)
    assert {b.state["name"] for b in buckets} == {
        example_stack.outputs["datasetsBucket"],
        example_stack.outputs["stateBucket"],
        example_stack.outputs["artifactsBucket"],
    }
    for bucket in buckets:
        assert bucket.state["uniformBucketLevelAccess"] is True
        assert bucket.state["publicAccessPrevention"] == "enforced"


def _bucket_named(run: ProgramRun, output: str) -> dict[str, Any]:
    (bucket,) = [b.state for b in run.of_type(BUCKET) if b.state["name"] == run.outputs[output]]
    return dict(bucket)


def test_only_the_prod_buckets_are_protected(
    example_stack: ProgramRun, prod_stack: ProgramRun
) -> None:
    """prod (protectBuckets: true): Pulumi refuses to delete its three buckets, and only them;
    dev's may be torn down."""
    assert len(prod_stack.of_type(BUCKET)) == 3
    assert all(b.protect for b in prod_stack.of_type(BUCKET))
    assert not [r for r in prod_stack.resources if r.protect and r.type != BUCKET]
    prod = example_stack.outputs["datasetsBucket"] == prod_stack.outputs["datasetsBucket"]
    assert all(b.protect is prod for b in example_stack.of_type(BUCKET))


def test_overwritable_buckets_keep_old_versions_for_a_while_only(
    example_stack: ProgramRun,
) -> None:
    """Datasets and state: versioning on, noncurrent versions deleted after the configured days."""
    for output in ("datasetsBucket", "stateBucket"):
        bucket = _bucket_named(example_stack, output)
        assert bucket["versioning"] == {"enabled": True}
        (rule,) = bucket["lifecycleRules"]
        assert rule["action"] == {"type": "Delete"}
        assert rule["condition"]["daysSinceNoncurrentTime"] >= 1
        assert rule["condition"]["withState"] == "ARCHIVED"
        assert bucket["forceDestroy"] is False


def test_the_artifacts_bucket_is_unversioned_and_keeps_objects_for_the_retention(
    example_stack: ProgramRun,
) -> None:
    """Artifacts are written once, never overwritten: no versions; objects expire by age."""
    bucket = _bucket_named(example_stack, "artifactsBucket")
    assert bucket["versioning"] == {"enabled": False}
    (rule,) = bucket["lifecycleRules"]
    assert rule["action"] == {"type": "Delete"}
    assert rule["condition"]["age"] == 365
    assert bucket["forceDestroy"] is False


def test_buckets_use_the_cmek_key_only_after_storage_may_use_it(prod_stack: ProgramRun) -> None:
    """With kmsKeyName, both buckets use it and wait for the storage agent's key grant."""
    (key_grant,) = prod_stack.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    key = key_grant.state["cryptoKeyId"]
    assert key_grant.state["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert key_grant.state["member"].endswith("@gs-project-accounts.iam.gserviceaccount.com")
    for bucket in prod_stack.of_type(BUCKET):
        assert bucket.state["encryption"] == {"defaultKmsKeyName": key}
        assert key_grant.urn in bucket.dependencies


def test_every_status_subscription_dead_letters(example_stack: ProgramRun) -> None:
    """Each subscription on the status topic hands undeliverable messages to the dead letters."""
    dead_letter_topic = example_stack.outputs["deadLetterTopic"]
    subscriptions = _subscriptions_on(example_stack, "tuning-operator-status")
    assert len(subscriptions) == 2
    for subscription in subscriptions:
        policy = subscription["deadLetterPolicy"]
        assert policy["deadLetterTopic"] == dead_letter_topic
        assert 5 <= policy["maxDeliveryAttempts"] <= 100


def test_dead_letters_wait_in_their_own_subscription(example_stack: ProgramRun) -> None:
    """The dead-letter topic is drained by a subscription, so dead letters are not dropped."""
    (subscription,) = _subscriptions_on(example_stack, "tuning-operator-dead-letter")
    assert subscription["name"] == example_stack.outputs["deadLetterSubscription"].split("/")[-1]


def test_no_subscription_ever_expires(example_stack: ProgramRun) -> None:
    """An idle subscription is kept (Pub/Sub deletes idle ones after 31 days by default)."""
    for subscription in example_stack.of_type(SUBSCRIPTION):
        assert subscription.state["expirationPolicy"] == {"ttl": ""}


def test_consumers_get_job_order_and_backoff(example_stack: ProgramRun) -> None:
    """The consumer pull subscription keeps per-job order and retries with backoff."""
    (consumers,) = [
        s
        for s in _subscriptions_on(example_stack, "tuning-operator-status")
        if "bigqueryConfig" not in s
    ]
    assert consumers["enableMessageOrdering"] is True
    assert consumers["retryPolicy"] == {"minimumBackoff": "10s", "maximumBackoff": "600s"}


def test_the_audit_subscription_writes_the_audit_table(example_stack: ProgramRun) -> None:
    """The audit subscription writes every status message, with metadata, to the audit table."""
    audit = example_stack.named("messaging-audit").state
    assert audit["topic"] == "tuning-operator-status"
    assert audit["bigqueryConfig"] == {
        "table": example_stack.outputs["auditTable"],
        "writeMetadata": True,
    }
    table = example_stack.named("messaging-audit-table").state
    assert example_stack.outputs["auditTable"].split(".")[1:] == [
        table["datasetId"],
        table["tableId"],
    ]


def test_the_audit_table_fits_cloudevents_in_binary_mode(example_stack: ProgramRun) -> None:
    """The table has the columns Pub/Sub writes with write_metadata; data and ce-* are JSON."""
    table = example_stack.named("messaging-audit-table").state
    columns = {column["name"]: column["type"] for column in json.loads(table["schema"])}
    assert columns == {
        "subscription_name": "STRING",
        "message_id": "STRING",
        "publish_time": "TIMESTAMP",
        "data": "JSON",
        "attributes": "JSON",
    }
    assert table["timePartitioning"] == {"type": "DAY", "field": "publish_time"}
    assert table["deletionProtection"] is True


def test_the_pubsub_agent_gets_what_the_audit_and_dead_letters_need(
    example_stack: ProgramRun,
) -> None:
    """Pub/Sub's agent writes the audit table, publishes dead letters, acks what it dead-letters."""
    run = example_stack
    agent = run.named("messaging-pubsub-agent").state["member"]
    assert run.grants_to(agent) == {
        ("roles/bigquery.dataEditor", "status_events"),
        ("roles/pubsub.publisher", "tuning-operator-dead-letter"),
        ("roles/pubsub.subscriber", "tuning-operator-status-consumers"),
        ("roles/pubsub.subscriber", "tuning-operator-audit"),
    }
    table_writer = run.named("messaging-audit-table-writer")
    assert table_writer.urn in run.named("messaging-audit").dependencies
