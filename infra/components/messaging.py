"""Where status events go: the status topic, its dead letters, a consumer subscription, the audit.

Every phase change is one CloudEvents 1.0 message in binary mode: the `ce-*` attributes carry the
envelope and the data is JSON. The audit trail is a BigQuery subscription with `write_metadata`,
so each row keeps the message id, publish time and every attribute (ordering key included) next
to the data; the table has exactly the columns Pub/Sub writes in that mode. Nothing is dropped
silently: each subscription on the status topic dead-letters after a bounded number of attempts,
and the dead-letter topic has its own subscription so dead letters wait to be read. The Pub/Sub
service agent gets just what that needs: write the audit table, publish to the dead-letter topic,
and acknowledge on the subscriptions it dead-letters from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_gcp import bigquery, projects, pubsub

from infra.components.options import child_options

STATUS_TOPIC = "tuning-operator-status"
DEAD_LETTER_TOPIC = "tuning-operator-dead-letter"
CONSUMER_SUBSCRIPTION = "tuning-operator-status-consumers"
AUDIT_SUBSCRIPTION = "tuning-operator-audit"
DEAD_LETTER_SUBSCRIPTION = "tuning-operator-dead-letters"
AUDIT_TABLE = "status_events"

# The columns a BigQuery subscription writes with write_metadata and no topic or table schema.
AUDIT_SCHEMA: list[dict[str, str]] = [
    {"name": "subscription_name", "type": "STRING", "description": "Subscription that wrote it."},
    {"name": "message_id", "type": "STRING", "description": "Pub/Sub message id."},
    {"name": "publish_time", "type": "TIMESTAMP", "description": "When Pub/Sub accepted it."},
    {
        "name": "data",
        "type": "JSON",
        "description": "CloudEvent data: job, team, phase, Vertex state and resource name, tuned "
        "model and endpoint, error, spec hash, git commit and author of the spec file.",
    },
    {
        "name": "attributes",
        "type": "JSON",
        "description": "CloudEvent envelope (ce-specversion, ce-id, ce-source, ce-type, "
        "ce-subject, ce-time) and the ordering key (the job name).",
    },
]


def topic_path(project: str, topic: pulumi.Input[str]) -> pulumi.Output[str]:
    """`projects/P/topics/T`, the form Pub/Sub clients and dead-letter policies take."""
    return pulumi.Output.concat("projects/", project, "/topics/", topic)


def subscription_path(project: str, subscription: pulumi.Input[str]) -> pulumi.Output[str]:
    """`projects/P/subscriptions/S`, the form Pub/Sub clients take."""
    return pulumi.Output.concat("projects/", project, "/subscriptions/", subscription)


@dataclass(frozen=True)
class StatusEventsArgs:
    """Project, audit location and delivery settings."""

    project: str
    location: str
    message_retention: str
    max_delivery_attempts: int
    audit_dataset_id: str


class StatusEvents(pulumi.ComponentResource):
    """Status and dead-letter topics, their subscriptions, and the BigQuery audit table."""

    def __init__(
        self, name: str, args: StatusEventsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("tuning-operator:infra:StatusEvents", name, None, opts)
        self._name, self._args, self._opts = name, args, opts
        self._after_apis = child_options(self, opts)
        self._pubsub_agent = projects.ServiceIdentity(
            f"{name}-pubsub-agent",
            project=args.project,
            service="pubsub.googleapis.com",
            opts=self._after_apis,
        )
        self.status_topic = self._topic("status", STATUS_TOPIC)
        self.dead_letter_topic = self._topic("dead-letter", DEAD_LETTER_TOPIC)
        self.status_topic_path = topic_path(args.project, self.status_topic.name)
        self.dead_letter_topic_path = topic_path(args.project, self.dead_letter_topic.name)
        self._grant_agent(
            "dead-letter-publisher",
            pubsub.TopicIAMMember,
            "roles/pubsub.publisher",
            project=args.project,
            topic=self.dead_letter_topic.name,
        )
        self.audit_table = self._audit_table()
        table_writer = self._grant_agent(
            "audit-table-writer",
            bigquery.IamMember,
            "roles/bigquery.dataEditor",
            project=args.project,
            dataset_id=self.audit_table.dataset_id,
            table_id=self.audit_table.table_id,
        )
        self.audit_table_ref = pulumi.Output.concat(
            args.project, ".", self.audit_table.dataset_id, ".", self.audit_table.table_id
        )
        self.consumer_subscription = self._dead_lettered(
            "consumers",
            CONSUMER_SUBSCRIPTION,
            ack_deadline_seconds=60,
            enable_message_ordering=True,
            retry_policy=pubsub.SubscriptionRetryPolicyArgs(
                minimum_backoff="10s", maximum_backoff="600s"
            ),
        )
        self.audit_subscription = self._dead_lettered(
            "audit",
            AUDIT_SUBSCRIPTION,
            bigquery_config=pubsub.SubscriptionBigqueryConfigArgs(
                table=self.audit_table_ref, write_metadata=True
            ),
            depends_on=[table_writer],
        )
        self.dead_letter_subscription = pubsub.Subscription(
            f"{name}-dead-letters",
            name=DEAD_LETTER_SUBSCRIPTION,
            project=args.project,
            topic=self.dead_letter_topic.name,
            message_retention_duration=args.message_retention,
            expiration_policy=pubsub.SubscriptionExpirationPolicyArgs(ttl=""),
            opts=self._after_apis,
        )
        self.consumer_subscription_path = subscription_path(
            args.project, self.consumer_subscription.name
        )
        self.audit_subscription_path = subscription_path(args.project, self.audit_subscription.name)
        self.dead_letter_subscription_path = subscription_path(
            args.project, self.dead_letter_subscription.name
        )
        self.register_outputs(
            {
                "statusTopic": self.status_topic_path,
                "deadLetterTopic": self.dead_letter_topic_path,
                "auditTable": self.audit_table_ref,
            }
        )

    def _topic(self, suffix: str, topic_name: str) -> pubsub.Topic:
        return pubsub.Topic(
            f"{self._name}-{suffix}",
            name=topic_name,
            project=self._args.project,
            message_retention_duration=self._args.message_retention,
            opts=self._after_apis,
        )

    def _grant_agent(
        self, suffix: str, binding: Any, role: str, **target: pulumi.Input[str]
    ) -> pulumi.CustomResource:
        grant: pulumi.CustomResource = binding(
            f"{self._name}-{suffix}",
            role=role,
            member=self._pubsub_agent.member,
            opts=self._after_apis,
            **target,
        )
        return grant

    def _dead_lettered(
        self,
        suffix: str,
        subscription_name: str,
        *,
        depends_on: list[pulumi.Resource] | None = None,
        **delivery: Any,
    ) -> pubsub.Subscription:
        """A subscription on the status topic that hands undeliverable messages to dead letters."""
        subscription = pubsub.Subscription(
            f"{self._name}-{suffix}",
            name=subscription_name,
            project=self._args.project,
            topic=self.status_topic.name,
            message_retention_duration=self._args.message_retention,
            expiration_policy=pubsub.SubscriptionExpirationPolicyArgs(ttl=""),
            dead_letter_policy=pubsub.SubscriptionDeadLetterPolicyArgs(
                dead_letter_topic=self.dead_letter_topic_path,
                max_delivery_attempts=self._args.max_delivery_attempts,
            ),
            opts=child_options(self, self._opts, depends_on=depends_on or []),
            **delivery,
        )
        # Pub/Sub must acknowledge on this subscription to move a message to the dead letters.
        self._grant_agent(
            f"{suffix}-dead-lettering",
            pubsub.SubscriptionIAMMember,
            "roles/pubsub.subscriber",
            project=self._args.project,
            subscription=subscription.name,
        )
        return subscription

    def _audit_table(self) -> bigquery.Table:
        dataset = bigquery.Dataset(
            f"{self._name}-audit-dataset",
            dataset_id=self._args.audit_dataset_id,
            project=self._args.project,
            location=self._args.location,
            description="tuning-operator audit trail: every status event, append-only.",
            delete_contents_on_destroy=False,
            opts=self._after_apis,
        )
        return bigquery.Table(
            f"{self._name}-audit-table",
            dataset_id=dataset.dataset_id,
            table_id=AUDIT_TABLE,
            project=self._args.project,
            schema=json.dumps(AUDIT_SCHEMA),
            time_partitioning=bigquery.TableTimePartitioningArgs(type="DAY", field="publish_time"),
            deletion_protection=True,
            description="One row per CloudEvent the operator published (binary mode).",
            opts=self._after_apis,
        )
