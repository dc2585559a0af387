"""The Google APIs a tuning project needs, enabled and never disabled by this program.

Disabling an API on `pulumi destroy` would break whatever else in the project uses it, so every
service is created with `disable_on_destroy=False`: destroying the stack leaves the APIs on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_gcp import projects

REQUIRED_APIS = (
    "aiplatform.googleapis.com",
    "pubsub.googleapis.com",
    "storage.googleapis.com",
    "bigquery.googleapis.com",
    "iam.googleapis.com",
    "cloudquotas.googleapis.com",
    # Project-level IAM grants (the operator's custom role) go through the Resource Manager API.
    "cloudresourcemanager.googleapis.com",
)


@dataclass(frozen=True)
class ProjectServicesArgs:
    """Which project, and which APIs to enable in it."""

    project: str
    apis: Sequence[str] = REQUIRED_APIS


class ProjectServices(pulumi.ComponentResource):
    """Enables the APIs; other components depend on it so nothing is created before its API."""

    def __init__(
        self, name: str, args: ProjectServicesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("tuning-operator:infra:ProjectServices", name, None, opts)
        self.enabled = [
            projects.Service(
                f"{name}-{api.split('.')[0]}",
                project=args.project,
                service=api,
                disable_on_destroy=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for api in args.apis
        ]
        self.register_outputs({"apis": list(args.apis)})
