"""The container image, run as a user runs it: podman, a read-only root, volumes, SIGTERM.

The session builds the image with `deploy/container/build.sh` (what `make image` runs), then
runs it against the Vertex emulator on the host (`--network=host`). Without podman these tests
skip, except under `CI=true`, where that is a failure. They are marked `container`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import jobs_by_name, write_job
from tests.support.emulator_process import EmulatorProcess

REPO = Path(__file__).resolve().parents[2]
IMAGE = "localhost/tuning-operator:test"
UID = "10001"
STATE = "/var/lib/tuning-operator"

pytestmark = [pytest.mark.container, pytest.mark.timeout(1200)]


def podman(*args: str, timeout: float = 120.0,
           check: bool = True) -> subprocess.CompletedProcess[str]:
    """One podman command with the settings `make image` uses (runc, cgroupfs, no ulimits)."""
    env = {**os.environ, "CONTAINERS_CONF": os.environ.get(
        "CONTAINERS_CONF", str(REPO / "deploy" / "container" / "containers.conf"))}
    command = ["podman", "--runtime", os.environ.get("CONTAINER_RUNTIME", "runc"),
               "--cgroup-manager", "cgroupfs", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env,
                          check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args[:2])} exited {done.returncode}:\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


@pytest.fixture(scope="session")
def image() -> str:
    """The image, built once per session the way `make image` builds it."""
    if shutil.which("podman") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs podman for the container tests (make system-deps)")
        pytest.skip("podman is not installed (apt-get install podman runc debootstrap)")
    started = time.monotonic()
    built = subprocess.run([str(REPO / "deploy" / "container" / "build.sh")],
                           env={**os.environ, "IMAGE": IMAGE, "PYTHON": sys.executable},
                           capture_output=True, text=True, timeout=1100, check=False)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-5000:]
    print(f"image built in {time.monotonic() - started:.0f} s")
    return IMAGE


@pytest.fixture
def volume() -> Iterator[str]:
    """A named volume for the state directory (podman copies the image's owner into it)."""
    name = f"tuning-operator-test-{uuid.uuid4().hex[:8]}"
    podman("volume", "create", name)
    yield name
    podman("volume", "rm", "--force", name, check=False)


def git(repo: Path, *args: str) -> str:
    """git in `repo` with a fixed identity; its stdout."""
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=Ada Lovelace",
                           "-c", "user.email=ada@example.com", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def operator(image: str, volume: str, jobs: Path, *args: str, name: str | None = None,
             detach: bool = False) -> list[str]:
    """`podman run` of the operator: read-only root, state volume, jobs read-only, /tmp tmpfs."""
    return ["run", *(["--detach"] if detach else ["--rm"]),
            *(["--name", name] if name else []), "--read-only", "--tmpfs", "/tmp",
            "--network=host", "--volume", f"{volume}:{STATE}", "--volume", f"{jobs}:/jobs:ro",
            image, *args]


def run_args(emulator: EmulatorProcess, project: str, *extra: str) -> list[str]:
    return ["run", "--vertex-endpoint", emulator.grpc_endpoint, "--project", project,
            "--resync", "0.5", "--settle", "0", "--create-fence", "2",
            "--crud-per-minute", "60000", "--submissions-per-minute", "60000", *extra]


def read_state(image: str, volume: str, *command: str) -> str:
    """Run a command in the image over the state volume (files there belong to UID 10001)."""
    return podman("run", "--rm", "--read-only", "--volume", f"{volume}:{STATE}", "--entrypoint",
                  command[0], image, *command[1:]).stdout


def test_image_is_non_root_with_git_and_no_build_tools(image: str) -> None:
    """The image runs as UID 10001 on a read-only root; git is there, compilers and pip not."""
    script = ("id -u; git --version; for tool in gcc cc make pip pip3; do command -v $tool;"
              " done; ls /opt/tuning-operator/bin | grep '^pip'; true")
    out = podman("run", "--rm", "--read-only", "--entrypoint", "sh", image, "-c", script).stdout
    uid, git_version, *found = out.splitlines()
    assert uid == UID
    assert git_version.startswith("git version ")
    assert found == [], f"build tools or pip in the image: {found}"


def test_validate_on_a_mounted_jobs_directory(image: str, tmp_path: Path) -> None:
    """`validate` in the container checks the mounted directory and names the broken file."""
    jobs = tmp_path / "jobs"
    write_job(jobs, "good")
    (jobs / "team" / "broken.yaml").write_text("apiVersion: tuning-operator/v1\nkind: Tuning\n")
    done = podman("run", "--rm", "--read-only", "--volume", f"{jobs}:/jobs:ro", image,
                  "validate", "--jobs-dir", "/jobs", "--format", "json", check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["valid"] == ["good"]
    assert {e["file"] for e in report["errors"]} == {"/jobs/team/broken.yaml"}


def test_run_drain_and_restart_on_the_same_volume(
    image: str, volume: str, emulator: EmulatorProcess, project: str, tmp_path: Path
) -> None:
    """Jobs are created once; SIGTERM drains (exit 0); a restart creates no duplicate."""
    jobs = tmp_path / "jobs"
    for i in range(3):
        write_job(jobs, f"job-{i}")
    git(jobs, "init", "-q")
    git(jobs, "add", ".")
    git(jobs, "commit", "-qm", "three jobs")
    head = git(jobs, "rev-parse", "HEAD")

    first = podman(*operator(image, volume, jobs, *run_args(
        emulator, project, "--until-settled", "--deadline", "120")), timeout=180, check=False)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert jobs_by_name(emulator, project) == {f"job-{i}": 1 for i in range(3)}
    shown = json.loads(read_state(image, volume, "tuning-operator", "status", "--state-dir",
                                   STATE, "--format", "json"))
    assert {(r["phase"], r["lastAppliedRevision"]) for r in shown["jobs"]} == {
        ("Succeeded", head)}
    events = [json.loads(line) for line in
              read_state(image, volume, "cat", f"{STATE}/events.jsonl").splitlines()]
    phases = [e for e in events if e["type"] == "tuning-operator.job.phase-changed.v1"]
    assert len(phases) == 9 and {e["data"]["gitRevision"] for e in events} == {head}

    # The service: a new job, metrics and probes on the host network, then SIGTERM.
    write_job(jobs, "job-3")
    git(jobs, "add", ".")
    git(jobs, "commit", "-qm", "a fourth job")
    port, name = free_port(), f"tuning-operator-test-{uuid.uuid4().hex[:8]}"
    podman(*operator(image, volume, jobs, *run_args(
        emulator, project, "--metrics-port", str(port)), name=name, detach=True))
    try:
        revision = git(jobs, "rev-parse", "HEAD")
        metrics = wait_for_metrics(port, name)
        assert f'tuning_operator_applied_revision_info{{revision="{revision}"}}' in metrics
        uid_line = podman("exec", name, "grep", "^Uid:", "/proc/1/status").stdout.split()
        assert uid_line[1:] == [UID] * 4  # real, effective, saved, filesystem
        started = time.monotonic()
        podman("stop", "--time", "60", name, timeout=90)
        took = time.monotonic() - started
        state = json.loads(podman("inspect", name, "--format", "{{json .State}}").stdout)
        logs = podman("logs", name).stdout
    finally:
        podman("rm", "--force", name, check=False)
    assert state["ExitCode"] == 0, logs[-3000:]
    assert took < 60, f"SIGTERM took {took:.0f} s: the operator was killed, not drained"
    assert jobs_by_name(emulator, project) == {f"job-{i}": 1 for i in range(4)}

    creates = emulator.admin.calls().get("CreateTuningJob", 0)
    again = podman(*operator(image, volume, jobs, *run_args(
        emulator, project, "--until-settled", "--deadline", "120")), timeout=180, check=False)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert emulator.admin.calls().get("CreateTuningJob", 0) == creates
    assert jobs_by_name(emulator, project) == {f"job-{i}": 1 for i in range(4)}


def wait_for_metrics(port: int, name: str, timeout: float = 60.0) -> str:
    """/metrics once /readyz says a pass ran; bounded, with the container's logs on failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as ready:
                if ready.status == 200:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                                timeout=2) as response:
                        return str(response.read().decode())
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"/readyz never answered 200:\n{podman('logs', name).stdout[-3000:]}")
