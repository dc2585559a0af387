"""Ask Cloud Quotas for the concurrency the operator is configured to use.

The operator admits at most `maxConcurrentJobs` tuning jobs at once; a lower project quota would
leave jobs queued in Vertex that the operator believes are running. Vertex's concurrent tuning
job quota is one global quota for every region and model (seed 003: "Global concurrent tuning
jobs"), so by default (`quotaScope: global`) one preference without a region dimension asks for
exactly that value. `quotaScope: region` keeps one preference per configured region, for a quota
id that has a region dimension. The quota id and extra dimensions come from the stack config
because Google's documentation, as searched for this project, does not name the quota id for
concurrent tuning jobs: see Pulumi.yaml for how to confirm it.
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
    """One global `SQuotaPreference`, or one per configured region (`quotaScope: region`)."""

    def __init__(
        self, name: str, args: TuningQuotaArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("tuning-operator:infra:TuningQuota", name, None, opts)
        request = args.request
        # (resource suffix, extra dimensions): no region dimension for the global quota.
        scopes: list[tuple[str, dict[str, str]]] = (
            [("global", {})] if request.scope == "global"
            else [(region, {"region": region}) for region in request.regions])
        self.preferences = [
            cloudquota.SQuotaPreference(
                f"{name}-{suffix}",
                parent=f"projects/{args.project}",
                name=f"tuning-operator-concurrent-tuning-jobs-{suffix}",
                service=VERTEX_SERVICE,
                quota_id=request.quota_id,
                dimensions={**request.dimensions, **extra},
                quota_config=cloudquota.SQuotaPreferenceQuotaConfigArgs(
                    preferred_value=str(request.max_concurrent_jobs)
                ),
                contact_email=request.contact_email,
                justification=request.justification,
                opts=child_options(self, opts),
            )
            for suffix, extra in scopes
        ]
        self.register_outputs({"scope": request.scope, "regions": list(request.regions)})
