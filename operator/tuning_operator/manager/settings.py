"""The operator's settings: every one declared once with its default, read from flags, then
`TUNING_OPERATOR_*` environment variables, then a `--config` YAML file; flags win.

Validation happens here, before anything is built, so a number out of range or a jobs
directory that is a file stops the operator with one line instead of misbehaving later.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import yaml

from tuning_operator.reconciling.inputs import OperatorSettings

DEFAULTS: dict[str, Any] = {
    "jobs_dir": "jobs",
    "project": None,
    "region": "us-central1",
    "vertex_endpoint": None,
    "vertex_transport": "grpc",
    "state_dir": ".tuning-operator",
    "max_concurrent_jobs": None,
    "quota_scope": "global",
    "quota_regions": "",
    "resync": 30.0,
    "once": False,
    "until_settled": False,
    "deadline": None,
    "lease": None,
    "lease_term": 30.0,
    "artifacts": None,
    "metrics_port": None,
    "metrics_address": "127.0.0.1",
    "events": None,
    "source": None,
    "allow_mass_deletion": False,
    "create_fence": 60.0,
    "settle": 0.5,
    "crud_per_minute": 600.0,
    "submissions_per_minute": 60.0,
    "predictions_per_minute": 600.0,
    "emulator_job_seconds": 30.0,
    "emulator_answers": None,
    "live": False,
    "log_file": None,
    "check_datasets": "auto",
}
ENV_PREFIX = "TUNING_OPERATOR_"


def resolve_settings(args: argparse.Namespace, environ: dict[str, str] | None = None, *,
                     defaults: dict[str, Any] = DEFAULTS) -> argparse.Namespace:
    """Flags, then environment, then the config file, then defaults."""
    environ = dict(os.environ) if environ is None else environ
    from_file: dict[str, Any] = {}
    if getattr(args, "config", None):
        loaded = yaml.safe_load(Path(args.config).read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise SystemExit(f"{args.config}: expected a mapping of settings")
        from_file = {k.replace("-", "_"): v for k, v in loaded.items()}
        unknown = sorted(set(from_file) - set(DEFAULTS))
        if unknown:
            raise SystemExit(f"{args.config}: unknown settings {', '.join(unknown)};"
                             f" known: {', '.join(sorted(DEFAULTS))}")
    resolved = {}
    for key, default in defaults.items():
        value = getattr(args, key, None)
        if value is None and f"{ENV_PREFIX}{key.upper()}" in environ:
            value = _coerce(environ[f"{ENV_PREFIX}{key.upper()}"], default)
        if value is None:
            value = from_file.get(key, default)
        resolved[key] = value
    return argparse.Namespace(**resolved)


def operator_settings(options: argparse.Namespace) -> OperatorSettings:
    """What the reconciler decides by, from resolved settings: `run` and `plan` both use this."""
    return OperatorSettings(
        jobs_dir=Path(options.jobs_dir), default_region=options.region,
        max_concurrent_jobs=options.max_concurrent_jobs, quota_scope=options.quota_scope,
        quota_regions=tuple(r for r in str(options.quota_regions or "").split(",") if r),
        create_fence_seconds=float(options.create_fence), settle_seconds=float(options.settle),
        allow_mass_deletion=bool(options.allow_mass_deletion),
        artifacts=getattr(options, "artifacts", None) or None)


def _coerce(text: str, default: Any) -> Any:
    if isinstance(default, bool):
        return text.lower() in ("1", "true", "yes", "on")
    if isinstance(default, float):
        return float(text)
    return int(text) if text.isdigit() else text


_RANGES: dict[str, tuple[type, float, float | None]] = {
    # setting: (type, least, greatest or None)
    "max_concurrent_jobs": (int, 0, None), "resync": (float, 0.05, 86400.0),
    "deadline": (float, 0.0, None), "create_fence": (float, 0.0, 86400.0),
    "settle": (float, 0.0, 3600.0), "crud_per_minute": (float, 1.0, None),
    "submissions_per_minute": (float, 1.0, None), "predictions_per_minute": (float, 1.0, None),
    "emulator_job_seconds": (float, 0.0, None),
    "metrics_port": (int, 0, 65535), "lease_term": (float, 1.0, 3600.0),
}


def validate_settings(options: argparse.Namespace) -> argparse.Namespace:
    """Reject what would misbehave later: out-of-range numbers, NaN, a jobs dir that is a file."""
    import math

    from tuning_operator.errors import ConfigError

    for key, (kind, least, greatest) in _RANGES.items():
        value = getattr(options, key)
        if value is None:
            continue
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"--{key.replace('_', '-')} {value!r}: expected a"
                              f" {'whole number' if kind is int else 'number'}") from None
        if (isinstance(number, float) and not math.isfinite(number)) or number < least or (
                greatest is not None and number > greatest):
            bound = f" and at most {greatest:g}" if greatest is not None else ""
            raise ConfigError(f"--{key.replace('_', '-')} {value!r}: must be at least"
                              f" {least:g}{bound}")
        setattr(options, key, number)
    if options.quota_scope not in ("global", "region"):
        raise ConfigError(f"--quota-scope {options.quota_scope!r}: global or region")
    if options.artifacts:
        from tuning_operator.state.artifacts import parse_artifacts

        parse_artifacts(options.artifacts)  # a ConfigError naming the flag and the fix
    jobs = Path(options.jobs_dir)
    if jobs.exists() and not jobs.is_dir():
        raise ConfigError(f"--jobs-dir {jobs}: is not a directory; point it at the directory"
                          " of job files")
    if not jobs.exists():
        raise ConfigError(f"--jobs-dir {jobs}: no such directory; create it or point"
                          " --jobs-dir at the checkout of the jobs repository")
    state = Path(options.state_dir)
    if state.exists() and not state.is_dir():
        raise ConfigError(f"--state-dir {state}: is a file; the state directory holds the"
                          " status store, outbox and audit trail: point it at a directory")
    try:
        state.mkdir(parents=True, exist_ok=True)
        probe = state / ".probe"
        probe.write_bytes(b"probe\n")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--state-dir {state}: cannot be written ({exc.strerror or exc});"
                          " give the operator a writable directory") from None
    return options
