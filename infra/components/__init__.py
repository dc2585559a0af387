"""One ComponentResource per concern; `__main__.py` wires them together."""

from infra.components.identity import TuningIdentities, TuningIdentitiesArgs
from infra.components.messaging import StatusEvents, StatusEventsArgs
from infra.components.quotas import TuningQuota, TuningQuotaArgs
from infra.components.services import ProjectServices, ProjectServicesArgs
from infra.components.storage import TuningBuckets, TuningBucketsArgs

__all__ = [
    "ProjectServices",
    "ProjectServicesArgs",
    "StatusEvents",
    "StatusEventsArgs",
    "TuningBuckets",
    "TuningBucketsArgs",
    "TuningIdentities",
    "TuningIdentitiesArgs",
    "TuningQuota",
    "TuningQuotaArgs",
]
