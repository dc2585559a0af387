"""A kill -9 storm against `tuning-operator run`, and the promises checked after it.

Shared by the robustness tests (tests/e2e/test_robustness.py) and the longer soak
(bench/soak.py), so both judge the operator by the same rules: one Vertex job per job name,
every phase change the status store recorded also published (in order, per job), and Vertex
jobs the operator does not own never touched. Nothing here asserts; each check returns the
problems it found, so a test can assert on them and the soak can print them.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from google.cloud import aiplatform_v1

from tests.e2e.conftest import REGION, jobs_by_name, operator_args
from tests.support.emulator_process import EmulatorProcess, sample_job
from tuning_operator.specs import labels as owner
from tuning_operator.vertex.clients import emulator_factory

# An unmanaged job runs this long (the emulator's scripted-duration label): active all storm.
LONG_RUNNING = {"emulator-duration-ms": "600000"}


def write_jobs(root: Path, count: int, *, prefix: str = "storm", teams: int = 4,
               spec_extra: str = "", labels: dict[str, str] | None = None) -> list[str]:
    """`count` valid job files over `teams` team directories (job i in team-{i % teams})."""
    label_line = f"  labels: {json.dumps(labels)}\n" if labels else ""
    names = [f"{prefix}-{i:04d}" for i in range(count)]
    for i, name in enumerate(names):
        team = root / f"team-{i % teams}"
        team.mkdir(parents=True, exist_ok=True)
        (team / f"{name}.yaml").write_text(
            f"apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata:\n  name: {name}\n"
            f"{label_line}spec:\n  baseModel: gemini-2.5-flash\n"
            f"  trainingDataset: gs://datasets/{team.name}/train.jsonl\n{spec_extra}")
    return names


def vertex_client(emulator: EmulatorProcess) -> aiplatform_v1.GenAiTuningServiceClient:
    """The real GAPIC client over gRPC to the emulator (as any other tool would use it)."""
    client: aiplatform_v1.GenAiTuningServiceClient = emulator_factory(emulator.grpc_endpoint)(
        REGION)
    return client


def seed_unmanaged(emulator: EmulatorProcess, project: str, count: int) -> list[str]:
    """Create `count` long-running Vertex jobs without ownership labels; their resource names."""
    client = vertex_client(emulator)
    parent = f"projects/{project}/locations/{REGION}"
    return [client.create_tuning_job(parent=parent, tuning_job=sample_job(labels=LONG_RUNNING)).name
            for _ in range(count)]


def unmanaged_touched(emulator: EmulatorProcess, project: str,
                      names: Iterable[str]) -> list[str]:
    """Problems with jobs the operator does not own: cancelled, relabelled, or gone."""
    client = vertex_client(emulator)
    parent = f"projects/{project}/locations/{REGION}"
    listed = {job.name: job for job in client.list_tuning_jobs(parent=parent)}
    problems = []
    for name in names:
        job = listed.get(name)
        if job is None:
            problems.append(f"{name}: gone from the List")
        elif job.state.name in ("JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED"):
            problems.append(f"{name}: {job.state.name}")
        elif dict(job.labels) != LONG_RUNNING or owner.MANAGED_BY in job.labels:
            problems.append(f"{name}: labels changed to {dict(job.labels)}")
    return problems


def duplicates(emulator: EmulatorProcess, project: str, names: Sequence[str]) -> list[str]:
    """Job names without exactly one Vertex job."""
    counts = jobs_by_name(emulator, project)
    wrong = [f"{n}: {counts.get(n, 0)} Vertex jobs" for n in names if counts.get(n, 0) != 1]
    return wrong + [f"{n}: unexpected Vertex job" for n in counts if n not in set(names)]


PHASE_CHANGED = "tuning-operator.job.phase-changed.v1"


def published_phases(events_file: Path) -> dict[str, list[str]]:
    """Per job, the phases of its published events in file order, repeats (same id) dropped."""
    seen: set[str] = set()
    phases: dict[str, list[str]] = {}
    for line in events_file.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event["type"] != PHASE_CHANGED:
            continue  # diagnoses and evaluations are not phase changes
        if event["id"] not in seen:
            seen.add(event["id"])
            phases.setdefault(event["subject"], []).append(event["data"]["phase"])
    return phases


def recorded_phases(state_dir: Path) -> dict[str, list[str]]:
    """Per job, the phase history the status store holds (oldest first)."""
    document = json.loads((state_dir / "status.json").read_text(encoding="utf-8"))
    return {name: record["history"] for name, record in document["jobs"].items()}


def _in_order(wanted: Sequence[str], within: Sequence[str]) -> bool:
    remaining = iter(within)
    return all(phase in remaining for phase in wanted)


def unpublished_transitions(state_dir: Path, events_file: Path) -> list[str]:
    """Jobs whose recorded phase changes are not all published, in order, in the events file."""
    published = published_phases(events_file)
    return [
        f"{job}: recorded {history}, published {published.get(job, [])}"
        for job, history in sorted(recorded_phases(state_dir).items())
        if not _in_order(history, published.get(job, []))
    ]


@dataclass
class StormReport:
    """What the storm did: when each kill came, and how many jobs Vertex held at that moment."""

    kills: list[float] = field(default_factory=list)  # seconds each operator lived
    jobs_at_kill: list[int] = field(default_factory=list)


def kill_storm(emulator: EmulatorProcess, project: str, jobs: Path, state: Path, *,
               kills: int, rng: random.Random, life: tuple[float, float] = (0.5, 2.5),
               extra: Sequence[str] = ()) -> StormReport:
    """Start the operator and SIGKILL it after a random time, `kills` times over."""
    report = StormReport()
    for _ in range(kills):
        process = subprocess.Popen(operator_args(emulator, project, jobs, state, *extra),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lived = rng.uniform(*life)
        time.sleep(lived)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        report.kills.append(lived)
        report.jobs_at_kill.append(sum(jobs_by_name(emulator, project).values()))
    return report


def wait_for(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    """Poll `condition` until true; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL an operator this test started, if it still runs."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
