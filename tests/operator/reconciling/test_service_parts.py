"""The service around the reconciler: metrics endpoints, the directory watch, the lease."""

from __future__ import annotations

import threading
import urllib.request
from collections import Counter
from pathlib import Path

from tuning_operator.reconciling.metrics import OperatorMetrics
from tuning_operator.reconciling.watch import DirectoryWatch, is_relevant
from tuning_operator.state.lease import FileLease


def get(url: str) -> tuple[int, str]:
    """Status and body of a GET, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_metrics_health_and_readiness() -> None:
    """/readyz is 503 until a pass ran; /metrics then shows jobs by phase and Vertex calls."""
    metrics = OperatorMetrics()
    server = metrics.serve(0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert get(base + "/healthz")[0] == 200
        assert get(base + "/readyz")[0] == 503
        metrics.observe(duration=0.2, calls={"ListTuningJobs": 1, "CreateTuningJob": 2},
                        errors=1, phases=Counter({"Running": 3, "Waiting": 2}),
                        revision="0f1e2d3c")
        status, body = get(base + "/metrics")
        assert get(base + "/readyz")[0] == 200
    finally:
        server.shutdown()
    assert status == 200
    assert 'tuning_operator_jobs{phase="Running"} 3.0' in body
    assert 'tuning_operator_vertex_calls_total{method="CreateTuningJob"} 2.0' in body
    assert "tuning_operator_queue_depth 2.0" in body
    assert 'tuning_operator_applied_revision_info{revision="0f1e2d3c"} 1.0' in body
    assert "tuning_operator_leader 1.0" in body


def test_a_standby_replica_is_ready_but_not_leader() -> None:
    """A replica that sees the lease held elsewhere is ready (rollouts proceed), leader 0."""
    metrics = OperatorMetrics()
    server = metrics.serve(0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        metrics.standby()
        ready = get(base + "/readyz")[0]
        body = get(base + "/metrics")[1]
    finally:
        server.shutdown()
    assert ready == 200
    assert "tuning_operator_leader 0.0" in body


def test_editor_files_are_not_relevant() -> None:
    """Swap files, backups and dot files do not wake the loop; job and policy files do."""
    assert is_relevant("jobs/t/a.yaml") and is_relevant("jobs/_policy.yaml")
    for name in ("jobs/t/.a.yaml.swp", "jobs/t/a.yaml~", "jobs/t/#a.yaml#", "jobs/t/.#a.yaml",
                 "jobs/t/notes.md"):
        assert not is_relevant(name)


def test_watch_wakes_on_a_job_file(tmp_path: Path) -> None:
    """Writing a job file calls on_change within a few seconds, with the file's modification
    time (the loop lets it settle from there); a swap file does not."""
    woke = threading.Event()
    stop = threading.Event()
    told: list[float | None] = []

    def on_change(changed_at: float | None) -> None:
        told.append(changed_at)
        woke.set()

    watch = DirectoryWatch(tmp_path, on_change=on_change, on_failure=lambda _e: None,
                           stop=stop, debounce_ms=50)
    watch.start()
    try:
        threading.Event().wait(0.5)
        (tmp_path / ".x.yaml.swp").write_text("x")
        assert not woke.wait(1.0)
        (tmp_path / "x.yaml").write_text("x")
        assert woke.wait(10.0)
        assert told[0] == (tmp_path / "x.yaml").stat().st_mtime
    finally:
        stop.set()
        watch.thread.join(timeout=5)


def test_watch_restarts_after_a_failure(tmp_path: Path) -> None:
    """If watching fails (the directory is missing), the failure is reported and retried."""
    failures: list[Exception] = []
    stop = threading.Event()
    watch = DirectoryWatch(tmp_path / "missing", on_change=lambda _at: None,
                           on_failure=failures.append, stop=stop, restart_pause=0.1)
    watch.start()
    try:
        threading.Event().wait(1.0)
    finally:
        stop.set()
        watch.thread.join(timeout=5)
    assert len(failures) >= 2


def test_file_lease_is_exclusive_until_released(tmp_path: Path) -> None:
    """Of two holders of one file lease only one acquires; the other gets it after release."""
    first, second = FileLease(tmp_path / "lease"), FileLease(tmp_path / "lease")
    assert first.acquire() and first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()
