"""Typed, validated stack configuration: the only module that reads `pulumi.Config`.

A platform team edits `Pulumi.<stack>.yaml` by hand. A typo there must stop `pulumi preview` with
the key and the command that fixes it, not fail half-way through `pulumi up` with a cloud error.
Every key read here is documented in Pulumi.yaml, and a test keeps the two in step, defaults
included. Defaults never come from the environment: the stack file alone says what a stack is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

NAMESPACE = "tuning-operator"

# Keys of this project that a stack must set (Pulumi.yaml declares them without a default).
REQUIRED_KEYS = (
    "region",
    "maxConcurrentJobs",
    "quotaId",
    "quotaContactEmail",
    "quotaJustification",
)

# Every optional key of this project with its default (Pulumi.yaml declares the same defaults).
DEFAULTS: Mapping[str, Any] = {
    "quotaScope": "global",
    "quotaRegions": [],
    "quotaDimensions": {},
    "kmsKeyName": "",
    "protectBuckets": False,
    "noncurrentVersionDays": 30,
    "artifactsRetentionDays": 365,
    "messageRetention": "604800s",
    "maxDeliveryAttempts": 10,
    "auditDatasetId": "tuning_operator_audit",
    "teams": {},
    "jobsDir": "jobs",
    "stateDir": ".tuning-operator",
    "kubernetesNamespace": "",
    "kubernetesServiceAccount": "tuning-operator",
}

_PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
_REGION = re.compile(r"[a-z]+-[a-z]+[0-9]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}")
_QUOTA_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_DURATION = re.compile(r"[0-9]+s")
_DATASET_ID = re.compile(r"[A-Za-z0-9_]{1,1024}")
_TEAM = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_MEMBER = re.compile(r"(user|group|serviceAccount|domain):[^\s:]+")
_KMS_KEY = re.compile(r"projects/[^/]+/locations/([^/]+)/keyRings/[^/]+/cryptoKeys/[^/]+")
_ANY_TEXT = re.compile(r"\S.*", re.DOTALL)
_KUBERNETES_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_FORBIDDEN_DIMENSIONS = frozenset({"region", "user", "resource"})
_QUOTA_SCOPE = re.compile(r"global|region")
_BOOLEAN = re.compile(r"true|false", re.IGNORECASE)
_QUOTA_ID_EXAMPLE = (
    "<quotaId printed by `gcloud beta quotas info list --service=aiplatform.googleapis.com`>"
)
_MEMBER_FIX = (
    "list members like group:support-ml@example.com (public members such as allUsers are never "
    "granted)"
)

# Pub/Sub bounds: subscriptions keep messages 10 minutes to 7 days; 5 to 100 delivery attempts.
_RETENTION_SECONDS = (600, 604_800)
_DELIVERY_ATTEMPTS = (5, 100)


class StackConfigError(ValueError):
    """A stack config key is missing or malformed; the message names the key and the fix."""

    def __init__(self, key: str, problem: str, fix: str) -> None:
        super().__init__(f"stack config {key}: {problem}. Fix: {fix}")
        self.key = key


@dataclass(frozen=True)
class QuotaRequest:
    """What Cloud Quotas is asked for: `max_concurrent_jobs` concurrent tuning jobs, in one
    global preference (scope "global", no region dimension: Vertex's concurrent tuning job
    quota is one for all regions, seed 003) or one preference per region (scope "region")."""

    quota_id: str
    scope: str  # "global" | "region"
    regions: tuple[str, ...]
    dimensions: Mapping[str, str]
    max_concurrent_jobs: int
    contact_email: str
    justification: str


@dataclass(frozen=True)
class StackConfig:
    """Everything the program needs to know about one stack, validated."""

    project: str
    region: str
    quota: QuotaRequest
    kms_key_name: str | None
    noncurrent_version_days: int
    artifacts_retention_days: int
    message_retention: str
    max_delivery_attempts: int
    audit_dataset_id: str
    team_uploaders: Mapping[str, tuple[str, ...]]
    jobs_dir: str
    state_dir: str
    # GKE: the Kubernetes service account "namespace/name" that may act as the operator's Google
    # service account (Workload Identity); None when the stack sets no kubernetesNamespace.
    kubernetes_service_account: str | None = None
    protect_buckets: bool = False  # Pulumi `protect`: the buckets outlive a destroy or a refactor

    @property
    def datasets_bucket(self) -> str:
        """Bucket for training and validation files (bucket names are global, hence the id)."""
        return f"{self.project}-datasets"

    @property
    def state_bucket(self) -> str:
        """Bucket for what the operator keeps in the cloud, starting with its lease."""
        return f"{self.project}-operator-state"

    @property
    def artifacts_bucket(self) -> str:
        """Bucket for what every replica must see after a failover (evaluation answers)."""
        return f"{self.project}-operator-artifacts"


def load_stack_config() -> StackConfig:
    """Read and validate the current stack's config; raise StackConfigError on the first problem."""
    ours = _Keys(pulumi.Config(NAMESPACE), NAMESPACE)
    project = _Keys(pulumi.Config("gcp"), "gcp").text(
        "project", _PROJECT_ID, "a Google Cloud project id", "acme-tuning-dev"
    )
    region = ours.text("region", _REGION, "a region name", "us-central1")
    kms_key_name = ours.text("kmsKeyName", _KMS_KEY, "a Cloud KMS key name", _example_key(region))
    return StackConfig(
        project=project,
        region=region,
        quota=_quota_request(ours, region),
        kms_key_name=_key_in_region(kms_key_name, region) or None,
        noncurrent_version_days=ours.integer("noncurrentVersionDays", 1, 3650, "30"),
        artifacts_retention_days=ours.integer("artifactsRetentionDays", 1, 3650, "365"),
        message_retention=_retention(ours),
        max_delivery_attempts=ours.integer("maxDeliveryAttempts", *_DELIVERY_ATTEMPTS, "10"),
        audit_dataset_id=ours.text(
            "auditDatasetId", _DATASET_ID, "a BigQuery dataset id", "tuning_operator_audit"
        ),
        team_uploaders=_team_uploaders(ours),
        jobs_dir=ours.text("jobsDir", _ANY_TEXT, "a directory", "jobs"),
        state_dir=ours.text("stateDir", _ANY_TEXT, "a directory", ".tuning-operator"),
        kubernetes_service_account=_kubernetes_service_account(ours),
        protect_buckets=ours.text("protectBuckets", _BOOLEAN, "true or false",
                                  "true").lower() == "true",
    )


def _kubernetes_service_account(ours: _Keys) -> str | None:
    """`namespace/name` of the operator's Kubernetes service account, or None (not on GKE)."""
    meaning, example = "a Kubernetes name (DNS label)", "tuning-operator"
    namespace = ours.text("kubernetesNamespace", _KUBERNETES_NAME, meaning, example)
    name = ours.text("kubernetesServiceAccount", _KUBERNETES_NAME, meaning, example)
    return f"{namespace}/{name}" if namespace else None


def _quota_request(ours: _Keys, region: str) -> QuotaRequest:
    regions = ours.strings("quotaRegions", _REGION, "a region name", region) or [region]
    if len(set(regions)) != len(regions):
        raise ours.error("quotaRegions", f"{regions} names a region twice", "list each region once")
    if region not in regions:
        raise ours.error(
            "quotaRegions",
            f"{regions} leaves out {region}, where jobs that name no region run",
            f"add {region} to the list",
        )
    dimensions = ours.string_map("quotaDimensions", "<dimension>", "<value>")
    if clash := sorted(_FORBIDDEN_DIMENSIONS & set(dimensions)):
        raise ours.error(
            "quotaDimensions",
            f"sets {clash}, which the program does not let you set",
            "remove them: `region` comes from quotaRegions (quotaScope: region),"
            " `user`/`resource` are not allowed",
        )
    if odd := sorted(key for key, value in dimensions.items() if not isinstance(value, str)):
        raise ours.error("quotaDimensions", f"{odd} have values that are not text", "quote them")
    return QuotaRequest(
        quota_id=ours.text("quotaId", _QUOTA_ID, "a Cloud Quotas quota id", _QUOTA_ID_EXAMPLE),
        scope=ours.text("quotaScope", _QUOTA_SCOPE, "global or region", "global"),
        regions=tuple(regions),
        dimensions=dimensions,
        max_concurrent_jobs=ours.integer("maxConcurrentJobs", 1, 1000, "2"),
        contact_email=ours.text(
            "quotaContactEmail", _EMAIL, "an email address", "ml-platform@example.com"
        ),
        justification=ours.text(
            "quotaJustification", _ANY_TEXT, "a sentence", "'GitOps-managed Gemini tuning'"
        ),
    )


def _retention(ours: _Keys) -> str:
    retention = ours.text("messageRetention", _DURATION, "a duration in seconds", "604800s")
    low, high = _RETENTION_SECONDS
    if not low <= int(retention[:-1]) <= high:
        raise ours.error(
            "messageRetention",
            f"{retention} is outside Pub/Sub's {low}s..{high}s",
            f"pulumi config set {ours.key('messageRetention')} 604800s",
        )
    return retention


def _team_uploaders(ours: _Keys) -> Mapping[str, tuple[str, ...]]:
    teams = ours.string_map("teams", "support[0]", "group:support-ml@example.com")
    uploaders: dict[str, tuple[str, ...]] = {}
    for team, members in teams.items():
        where = f"teams.{team}"
        if not _TEAM.fullmatch(team):
            problem = f"{team!r} is not a team directory name"
            raise ours.error("teams", problem, "name the team as its directory, e.g. support")
        if not isinstance(members, list) or not members:
            raise ours.error("teams", f"{where} is not a list of members", _MEMBER_FIX)
        for member in members:
            if not isinstance(member, str) or not _MEMBER.fullmatch(member):
                raise ours.error("teams", f"{where} has {member!r}, not a member", _MEMBER_FIX)
        uploaders[team] = tuple(members)
    return uploaders


def _key_in_region(kms_key_name: str, region: str) -> str:
    match = _KMS_KEY.fullmatch(kms_key_name)
    if match and match.group(1) != region:
        raise StackConfigError(
            f"{NAMESPACE}:kmsKeyName",
            f"the key is in {match.group(1)} but the buckets are in {region}",
            "use a key in the same location as the buckets (Cloud Storage requires it)",
        )
    return kms_key_name


def _example_key(region: str) -> str:
    return f"projects/<kms-project>/locations/{region}/keyRings/<ring>/cryptoKeys/<key>"


class _Keys:
    """Reads one config namespace, applying DEFAULTS and turning every problem into an error."""

    def __init__(self, config: pulumi.Config, namespace: str) -> None:
        self._config = config
        self._namespace = namespace

    def key(self, name: str) -> str:
        return f"{self._namespace}:{name}"

    def error(self, name: str, problem: str, fix: str) -> StackConfigError:
        return StackConfigError(self.key(name), problem, fix)

    def text(self, name: str, pattern: re.Pattern[str], meaning: str, example: str) -> str:
        raw = str(self._raw(name, example))
        if raw == "" and self._default(name) == "":
            return raw
        if not pattern.fullmatch(raw):
            raise self.error(name, f"{raw!r} is not {meaning}", self._set(name, example))
        return raw

    def integer(self, name: str, low: int, high: int, example: str) -> int:
        raw = str(self._raw(name, example))
        if not raw.isdigit() or not low <= int(raw) <= high:
            problem = f"{raw!r} is not a whole number from {low} to {high}"
            raise self.error(name, problem, self._set(name, example))
        return int(raw)

    def strings(self, name: str, pattern: re.Pattern[str], meaning: str, example: str) -> list[str]:
        fix = f"pulumi config set --path '{self.key(name)}[0]' {example}"
        values: list[Any] = self._structured(name, list, fix)
        for value in values:
            if not isinstance(value, str) or not pattern.fullmatch(value):
                raise self.error(name, f"{value!r} is not {meaning}", fix)
        return values

    def string_map(self, name: str, path: str, example: str) -> dict[str, Any]:
        fix = f"pulumi config set --path '{self.key(name)}.{path}' {example}"
        mapping: dict[str, Any] = self._structured(name, dict, fix)
        return mapping

    def _structured(self, name: str, kind: type[list[Any]] | type[dict[str, Any]], fix: str) -> Any:
        # Pulumi hands structured stack values to the program as JSON text.
        raw = self._raw(name, "")
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError:
                raise self.error(name, f"{raw!r} is not a YAML list or map", fix) from None
        if not isinstance(raw, kind):
            raise self.error(name, f"{raw!r} is not a {kind.__name__}", fix)
        return kind(raw)

    def _raw(self, name: str, example: str) -> Any:
        raw = self._config.get(name)
        if raw is not None:
            return raw
        if self._default(name) is not None:
            return self._default(name)
        raise self.error(name, "is missing", self._set(name, example))

    def _default(self, name: str) -> Any:
        return DEFAULTS.get(name) if self._namespace == NAMESPACE else None

    def _set(self, name: str, example: str) -> str:
        return f"pulumi config set {self.key(name)} {example}"
