"""Ask Cloud Quotas for the concurrency the operator is configured to use, in every region.

The operator admits at most `maxConcurrentJobs` tuning jobs per region; a lower project quota
would leave jobs queued in Vertex that the operator believes are running. One quota preference
per configured region asks for exactly that value. The quota id and extra dimensions come from
the stack config because Google's documentation, as searched for this project, does not name the
quota id for concurrent tuning jobs: see Pulumi.yaml for how to confirm it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import cloudquota

from infra.components.options import child_options
from infra.config import QuotaRequest

VERTEX_SERVICE = "aiplatform.googleapis.com"


@dataclass(frozen=True)
class TuningQuotaArgs:
    """The project and what to ask for."""

    project: str
    request: QuotaRequest


class TuningQuota(pulumi.ComponentResource):
    """One `SQuotaPreference` per configured region."""

    def __init__(
        self, name: str, args: TuningQuotaArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("tuning-operator:infra:TuningQuota", name, None, opts)
        request = args.request
        self.preferences = [
            cloudquota.SQuotaPreference(
                f"{name}-{region}",
                parent=f"projects/{args.project}",
                name=f"tuning-operator-concurrent-tuning-jobs-{region}",
                service=VERTEX_SERVICE,
                quota_id=request.quota_id,
                dimensions={**request.dimensions, "region": region},
                quota_config=cloudquota.SQuotaPreferenceQuotaConfigArgs(
                    preferred_value=str(request.max_concurrent_jobs)
                ),
                contact_email=request.contact_email,
                justification=request.justification,
                opts=child_options(self, opts),
            )
            for region in request.regions
        ]
        self.register_outputs({"regions": list(request.regions)})
