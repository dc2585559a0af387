"""Who may do what: the operator's and the tuning jobs' service accounts, and every grant.

Least privilege, each grant on the narrowest resource that works:
- operator: a custom role on the project with exactly the Vertex permissions of the calls it
  makes (`OPERATOR_PERMISSIONS`; Vertex has no narrower resource for creating, listing and
  cancelling tuning jobs), never `roles/aiplatform.user`, publisher on the status topic only,
  object viewer on the datasets bucket (it checks dataset files), object admin on the state
  bucket (its lease) and on the artifacts bucket (evaluation answers and verdicts every replica
  reads, and the alias objects applications resolve: written and deleted with generation
  preconditions; the custom role holds `aiplatform.models.get`, `.list` and `.update` for
  promoting a ModelAlias: GetModel, ListModelVersions, MergeVersionAliases), and
  `roles/iam.serviceAccountUser` on the tuning-job account only, so it can name that account on a
  job and act as no other;
- the tuning-job account (a job's `serviceAccount`), the Vertex AI service agent and the Vertex
  tuning service agent (`gcp-sa-vertex-tune`: what a job without `serviceAccount` runs as, so it
  fails after the submit without this read): object viewer on the datasets bucket;
- each team's uploaders: object user on their own prefix of the datasets bucket (an IAM
  condition), nothing else;
- on GKE, the operator's Kubernetes service account: `roles/iam.workloadIdentityUser` on the
  operator's account only (Workload Identity), so the pods act as the operator and nothing more.
No basic role (owner, editor, viewer) is granted anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_gcp import projects, pubsub, serviceaccount, storage

from infra.components.options import child_options

OPERATOR_ACCOUNT_ID = "tuning-operator"
TUNING_ACCOUNT_ID = "tuning-jobs"


@dataclass(frozen=True)
class TuningIdentitiesArgs:
    """The resources the grants are on, and the optional team uploaders."""

    project: str
    datasets_bucket: pulumi.Input[str]
    state_bucket: pulumi.Input[str]
    artifacts_bucket: pulumi.Input[str]
    status_topic: pulumi.Input[str]
    team_uploaders: Mapping[str, Sequence[str]] = field(default_factory=dict)
    kubernetes_service_account: str | None = None  # "namespace/name" on GKE, or None


class TuningIdentities(pulumi.ComponentResource):
    """The operator and tuning-job service accounts and every IAM grant of the stack."""

    def __init__(
        self, name: str, args: TuningIdentitiesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("tuning-operator:infra:TuningIdentities", name, None, opts)
        after_apis = child_options(self, opts)
        self.operator = serviceaccount.Account(
            f"{name}-operator",
            account_id=OPERATOR_ACCOUNT_ID,
            project=args.project,
            display_name="tuning-operator: reconciles the jobs directory with Vertex AI",
            opts=after_apis,
        )
        self.tuning = serviceaccount.Account(
            f"{name}-tuning-jobs",
            account_id=TUNING_ACCOUNT_ID,
            project=args.project,
            display_name="tuning-operator: the identity tuning jobs run as",
            opts=after_apis,
        )
        vertex_agent = projects.ServiceIdentity(
            f"{name}-vertex-agent",
            project=args.project,
            service="aiplatform.googleapis.com",
            opts=after_apis,
        )
        role = projects.IAMCustomRole(
            f"{name}-operator-role",
            project=args.project,
            role_id=OPERATOR_ROLE_ID,
            title="tuning-operator",
            description="Exactly the Vertex AI calls tuning-operator makes.",
            permissions=list(OPERATOR_PERMISSIONS),
            opts=after_apis,
        )
        operator_role = f"projects/{args.project}/roles/{OPERATOR_ROLE_ID}"
        tuning_agent = vertex_agent.email.apply(tuning_service_agent)
        operator, tuning_jobs = self.operator.member, self.tuning.member
        datasets, state = args.datasets_bucket, args.state_bucket
        project, topic = {"project": args.project}, {"topic": args.status_topic}
        # The whole of the stack's access apart from team uploads: one row per grant.
        grants: list[tuple[str, Any, str, pulumi.Input[str], Mapping[str, pulumi.Input[str]]]] = [
            ("operator-vertex-calls", projects.IAMMember, operator_role, operator, project),
            ("operator-publishes-status", pubsub.TopicIAMMember, _PUBLISHER, operator, topic),
            (
                "operator-acts-as-tuning-jobs",
                serviceaccount.IAMMember,
                "roles/iam.serviceAccountUser",
                operator,
                {"service_account_id": self.tuning.name},
            ),
            ("operator-keeps-state", _BUCKET, _OBJECT_ADMIN, operator, {"bucket": state}),
            (
                "operator-keeps-artifacts",
                _BUCKET,
                _OBJECT_ADMIN,
                operator,
                {"bucket": args.artifacts_bucket},
            ),
            ("operator-reads-datasets", _BUCKET, _VIEWER, operator, {"bucket": datasets}),
            ("tuning-jobs-read-datasets", _BUCKET, _VIEWER, tuning_jobs, {"bucket": datasets}),
            (
                "vertex-agent-reads-datasets",
                _BUCKET,
                _VIEWER,
                vertex_agent.member,
                {"bucket": datasets},
            ),
            ("tuning-agent-reads-datasets", _BUCKET, _VIEWER, tuning_agent, {"bucket": datasets}),
        ]
        if args.kubernetes_service_account is not None:
            grants.append((
                "operator-workload-identity",
                serviceaccount.IAMMember,
                "roles/iam.workloadIdentityUser",
                workload_identity_member(args.project, args.kubernetes_service_account),
                {"service_account_id": self.operator.name},
            ))
        with_role = pulumi.ResourceOptions.merge(after_apis, pulumi.ResourceOptions(
            depends_on=[role]))
        for suffix, binding, granted, member, target in grants:
            binding(f"{name}-{suffix}", role=granted, member=member, opts=with_role, **target)
        self.team_prefixes = {
            team: self._team_uploaders(name, team, members, args.datasets_bucket, after_apis)
            for team, members in sorted(args.team_uploaders.items())
        }
        self.register_outputs({"operator": self.operator.email, "tuningJobs": self.tuning.email})

    def _team_uploaders(
        self,
        name: str,
        team: str,
        members: Sequence[str],
        datasets_bucket: pulumi.Input[str],
        opts: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        """Let a team's uploaders manage objects under `<team>/` only; return that prefix."""
        condition = storage.BucketIAMMemberConditionArgs(
            title=f"{team} datasets only",
            expression=pulumi.Output.concat(
                'resource.name.startsWith("projects/_/buckets/',
                datasets_bucket,
                f'/objects/{team}/")',
            ),
        )
        for index, member in enumerate(members):
            storage.BucketIAMMember(
                f"{name}-team-{team}-uploader-{index}",
                bucket=datasets_bucket,
                role="roles/storage.objectUser",
                member=member,
                condition=condition,
                opts=opts,
            )
        return pulumi.Output.concat("gs://", datasets_bucket, f"/{team}/")


def workload_identity_member(project: str, kubernetes_service_account: str) -> str:
    """The IAM member of a Kubernetes service account ("namespace/name") under GKE's pool."""
    return f"serviceAccount:{project}.svc.id.goog[{kubernetes_service_account}]"


def tuning_service_agent(vertex_agent_email: str) -> str:
    """The Vertex tuning service agent's member, from the Vertex AI agent's email (both are
    `service-PROJECT_NUMBER@…`): jobs without a `serviceAccount` read their data as it."""
    number = vertex_agent_email.split("@", maxsplit=1)[0]  # service-PROJECT_NUMBER
    return f"serviceAccount:{number}@gcp-sa-vertex-tune.iam.gserviceaccount.com"


OPERATOR_ROLE_ID = "tuningOperator"
# One line per call the operator makes; a new call adds its permission here (and a test).
OPERATOR_PERMISSIONS = (
    "aiplatform.tuningJobs.create",  # CreateTuningJob
    "aiplatform.tuningJobs.get",  # GetTuningJob (a create whose outcome is unknown)
    "aiplatform.tuningJobs.list",  # ListTuningJobs, one filtered List per region
    "aiplatform.tuningJobs.cancel",  # CancelTuningJob
    "aiplatform.metadataStores.get",  # the job's Experiment (metadata context)
    "aiplatform.contexts.get",
    "aiplatform.contexts.list",  # its runs
    "aiplatform.tensorboards.get",  # the backing TensorBoard
    "aiplatform.tensorboardExperiments.get",
    "aiplatform.tensorboardRuns.get",
    "aiplatform.tensorboardRuns.list",
    "aiplatform.tensorboardTimeSeries.get",
    "aiplatform.tensorboardTimeSeries.list",
    "aiplatform.tensorboardTimeSeries.read",
    "aiplatform.tensorboardTimeSeries.batchRead",  # the loss curves
    "aiplatform.endpoints.predict",  # generateContent: tuned endpoints and publisher models
    "aiplatform.models.get",  # the tuned model of a ModelAlias
    "aiplatform.models.update",  # its version aliases
    "aiplatform.locations.evaluateInstances",  # model-based metrics (the autorater)
)
_BUCKET = storage.BucketIAMMember
_PUBLISHER = "roles/pubsub.publisher"
_OBJECT_ADMIN = "roles/storage.objectAdmin"
_VIEWER = "roles/storage.objectViewer"
