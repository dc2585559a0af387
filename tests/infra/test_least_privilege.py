"""IAM policies every stack must satisfy: least privilege, read as rules over what is declared."""

from tests.support.pulumi_mocks import ProgramRun

PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}
PUBLIC_MEMBERS = {"allUsers", "allAuthenticatedUsers"}
PUBSUB_GRANT_TYPES = {
    "gcp:pubsub/topicIAMMember:TopicIAMMember",
    "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
}


def _account(run: ProgramRun, output: str) -> str:
    return f"serviceAccount:{run.outputs[output]}"


def test_the_stack_declares_grants_at_all(example_stack: ProgramRun) -> None:
    """The rules below are not vacuous: every example stack grants roles."""
    assert len(example_stack.grants()) >= 8


def test_no_primitive_role_is_granted_anywhere(example_stack: ProgramRun) -> None:
    """No owner, editor or viewer role appears on any resource."""
    granted = {grant.state["role"] for grant in example_stack.grants()}
    assert granted.isdisjoint(PRIMITIVE_ROLES)


def test_nothing_is_granted_to_the_public(example_stack: ProgramRun) -> None:
    """No grant goes to allUsers or allAuthenticatedUsers."""
    members = {grant.state["member"] for grant in example_stack.grants()}
    assert members.isdisjoint(PUBLIC_MEMBERS)


def test_act_as_is_granted_only_on_the_tuning_job_account(example_stack: ProgramRun) -> None:
    """roles/iam.serviceAccountUser exists once: the operator on the tuning-job account."""
    act_as = [
        g for g in example_stack.grants() if g.state["role"] == "roles/iam.serviceAccountUser"
    ]
    tuning_email = example_stack.outputs["tuningServiceAccount"]
    assert [(g.type, g.state["member"]) for g in act_as] == [
        (
            "gcp:serviceaccount/iAMMember:IAMMember",
            _account(example_stack, "operatorServiceAccount"),
        )
    ]
    assert act_as[0].grant_target.endswith(f"/serviceAccounts/{tuning_email}")


def test_no_project_wide_grant_but_the_operators_custom_role(example_stack: ProgramRun) -> None:
    """The only project-level grant is the operator's custom role, to the operator."""
    project_wide = [
        g for g in example_stack.grants() if g.type == "gcp:projects/iAMMember:IAMMember"
    ]
    project = example_stack.outputs["statusTopic"].split("/")[1]
    assert [(g.state["role"], g.state["member"]) for g in project_wide] == [
        (f"projects/{project}/roles/tuningOperator",
         _account(example_stack, "operatorServiceAccount"))
    ]


def test_no_predefined_vertex_role_is_granted(example_stack: ProgramRun) -> None:
    """Not roles/aiplatform.user nor any other roles/aiplatform.*: their permissions are many
    more than the operator's calls."""
    assert not [g for g in example_stack.grants()
                if g.state["role"].startswith("roles/aiplatform.")]


def test_the_custom_role_holds_exactly_the_calls_the_operator_makes(
        example_stack: ProgramRun) -> None:
    """Tuning jobs create/get/list/cancel, the metadata and TensorBoard reads of the curves,
    predict, model get/update for aliases, evaluation; nothing that deletes or deploys."""
    [role] = example_stack.of_type("gcp:projects/iAMCustomRole:IAMCustomRole")
    permissions = set(role.state["permissions"])
    assert role.state["roleId"] == "tuningOperator"
    assert {f"aiplatform.tuningJobs.{verb}" for verb in ("create", "get", "list", "cancel")
            } <= permissions
    assert {"aiplatform.tensorboardTimeSeries.batchRead", "aiplatform.contexts.get",
            "aiplatform.endpoints.predict", "aiplatform.models.update",
            "aiplatform.locations.evaluateInstances"} <= permissions
    assert all(p.startswith("aiplatform.") for p in permissions)
    forbidden = ("delete", "deploy", "undeploy", "create", "setIamPolicy", "update")
    allowed_writes = {"aiplatform.tuningJobs.create", "aiplatform.models.update"}
    assert not {p for p in permissions - allowed_writes if p.rsplit(".", 1)[1] in forbidden}


def test_operator_publishes_on_the_status_topic_only(example_stack: ProgramRun) -> None:
    """The operator's only Pub/Sub right is publisher on the status topic."""
    operator = _account(example_stack, "operatorServiceAccount")
    pubsub_grants = {
        (g.state["role"], g.grant_target)
        for g in example_stack.grants()
        if g.type in PUBSUB_GRANT_TYPES and g.state["member"] == operator
    }
    assert pubsub_grants == {("roles/pubsub.publisher", "tuning-operator-status")}


def test_operator_holds_exactly_its_documented_grants(example_stack: ProgramRun) -> None:
    """Vertex user, status publisher, datasets reader, state and artifacts admin, act-as on
    tuning jobs."""
    run = example_stack
    project = run.outputs["statusTopic"].split("/")[1]
    assert run.grants_to(_account(run, "operatorServiceAccount")) == {
        (f"projects/{project}/roles/tuningOperator", f"projects/{project}"),
        ("roles/pubsub.publisher", "tuning-operator-status"),
        ("roles/storage.objectViewer", run.outputs["datasetsBucket"]),
        ("roles/storage.objectAdmin", run.outputs["stateBucket"]),
        ("roles/storage.objectAdmin", run.outputs["artifactsBucket"]),
        (
            "roles/iam.serviceAccountUser",
            f"projects/{project}/serviceAccounts/{run.outputs['tuningServiceAccount']}",
        ),
    }


def test_tuning_jobs_and_the_vertex_agents_only_read_datasets(example_stack: ProgramRun) -> None:
    """The tuning-job account, the Vertex AI service agent and the Vertex tuning service agent
    (what a job without `serviceAccount` runs as) may read datasets, nothing else."""
    run = example_stack
    vertex_agent = run.named("identity-vertex-agent").state["member"]
    number = vertex_agent.removeprefix("serviceAccount:service-").split("@")[0]
    tuning_agent = f"serviceAccount:service-{number}@gcp-sa-vertex-tune.iam.gserviceaccount.com"
    read_datasets = {("roles/storage.objectViewer", run.outputs["datasetsBucket"])}
    assert run.grants_to(_account(run, "tuningServiceAccount")) == read_datasets
    assert run.grants_to(vertex_agent) == read_datasets
    assert run.grants_to(tuning_agent) == read_datasets


def test_team_uploaders_are_confined_to_their_own_prefix(prod_stack: ProgramRun) -> None:
    """Each team member manages objects under gs://<datasets>/<team>/ and nowhere else."""
    bucket = prod_stack.outputs["datasetsBucket"]
    team_grants = [g for g in prod_stack.grants() if g.state["member"].startswith("group:")]
    assert {g.state["member"].split("@")[0] for g in team_grants} == {
        "group:support-ml",
        "group:knowledge-ml",
        "group:assistants-ml",
    }
    for grant in team_grants:
        team = grant.state["member"].removeprefix("group:").split("-")[0]
        assert (grant.state["role"], grant.grant_target) == ("roles/storage.objectUser", bucket)
        assert grant.state["condition"]["expression"] == (
            f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/{team}/")'
        )


def test_only_the_operator_may_touch_the_artifacts_bucket(example_stack: ProgramRun) -> None:
    """Answers and verdicts: the operator's account is the one member with a grant there."""
    bucket = example_stack.outputs["artifactsBucket"]
    on_artifacts = {
        (g.state["role"], g.state["member"])
        for g in example_stack.grants()
        if g.grant_target == bucket
    }
    operator = _account(example_stack, "operatorServiceAccount")
    assert on_artifacts == {("roles/storage.objectAdmin", operator)}
