"""R7 (issue 8): two operators, one gs:// lease, against fake-gcs-server over the wire.

The real loop, reconciler and `GcsLease` run in threads of this test with a clock the test
moves, so a 30-second lease term costs no 30 seconds; Vertex is the emulator in its own
process. The `file:` lease (kernel lock) is covered by test_operator_e2e.py with two
`tuning-operator run` processes.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.conftest import adapter, jobs_by_name
from tests.e2e.storm import wait_for, write_jobs
from tests.support.emulator_process import EmulatorProcess
from tests.support.fake_vertex import RecordingRecorder
from tuning_operator.datasets.local_gcs import LocalGcsServer
from tuning_operator.reconciling.loop import LoopSettings, OperatorLoop
from tuning_operator.reconciling.metrics import OperatorMetrics
from tuning_operator.reconciling.reconciler import OperatorSettings, Reconciler
from tuning_operator.state.lease import Lease, open_lease
from tuning_operator.state.store import FileStatusStore

pytestmark = pytest.mark.emulator  # fake-gcs-server


class Clock:
    """Wall time plus an offset the test moves forward (the lease's notion of now)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class DiesWithoutRelease:
    """A lease whose holder is killed: it stops renewing and never releases (like kill -9)."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.holder = lease.holder

    def acquire(self) -> bool:
        return self.lease.acquire()

    def release(self) -> None:
        return None


def test_gcs_lease_race_has_exactly_one_winner(fake_gcs: LocalGcsServer) -> None:
    """Four operators race for a fresh gs:// lease, twenty times: exactly one wins each time."""
    bucket = fake_gcs.client().create_bucket(f"leases-{os.getpid()}-race")
    for round_ in range(20):
        spec = f"gs://{bucket.name}/race-{round_}"
        leases = [open_lease(spec, clock=time.time, storage_client=fake_gcs.client())
                  for _ in range(4)]
        start = threading.Barrier(len(leases))

        def contend(lease: Lease, start: threading.Barrier = start) -> bool:
            start.wait(timeout=10)
            return lease.acquire()

        with ThreadPoolExecutor(len(leases)) as pool:
            won = list(pool.map(contend, leases))
        assert won.count(True) == 1, f"round {round_}: {won}"


class LeasedOperator:
    """One operator (real loop, reconciler, gs:// lease) running in a thread of this test."""

    def __init__(self, emulator: EmulatorProcess, project: str, jobs: Path, state: Path,
                 lease: Lease) -> None:
        self.vertex = adapter(emulator, project)
        self.reconciler = Reconciler(
            settings=OperatorSettings(jobs_dir=jobs, settle_seconds=0.0,
                                      create_fence_seconds=2.0),
            vertex=self.vertex, store=FileStatusStore(state), recorder=RecordingRecorder(),
            still_leader=lease.acquire)
        self.metrics = OperatorMetrics()
        self.loop = OperatorLoop(reconciler=self.reconciler, lease=lease,
                                 settings=LoopSettings(resync_seconds=0.2), metrics=self.metrics)
        self.thread = threading.Thread(target=self.loop.run, daemon=True)

    @property
    def passes(self) -> int:
        return self.reconciler.generation

    @property
    def leader(self) -> float | None:
        return self.metrics.registry.get_sample_value("tuning_operator_leader")

    def stop(self) -> None:
        """Stop the loop (the lease decides whether it is released) and close the client."""
        if self.thread.is_alive():
            self.loop.shutdown()
            self.thread.join(timeout=30)
        self.vertex.close()


def test_gcs_lease_one_operator_acts_and_the_other_takes_over_when_it_dies(
    fake_gcs: LocalGcsServer, emulator: EmulatorProcess, project: str, tmp_path: Path
) -> None:
    """gs:// lease: only the holder runs passes; after it dies the other waits out the term."""
    jobs = tmp_path / "jobs"
    write_jobs(jobs, 1, prefix="first")
    bucket = fake_gcs.client().create_bucket(f"leases-{os.getpid()}-{project}")
    clock = Clock()

    def lease() -> Lease:
        return open_lease(f"gs://{bucket.name}/operator", clock=clock,
                          storage_client=fake_gcs.client())

    holder = LeasedOperator(emulator, project, jobs, tmp_path / "a", DiesWithoutRelease(lease()))
    standby = LeasedOperator(emulator, project, jobs, tmp_path / "b", lease())
    try:
        holder.thread.start()
        wait_for(lambda: holder.passes > 0, seconds=15, what="the first operator ran a pass")
        standby.thread.start()
        time.sleep(1.5)
        assert standby.passes == 0, "the standby acted while the lease was held"
        assert jobs_by_name(emulator, project) == {"first-0000": 1}
        # Both ready (a rollout waits on readiness), one leader.
        assert (holder.metrics.ready, holder.leader) == (True, 1.0)
        assert (standby.metrics.ready, standby.leader) == (True, 0.0)

        holder.stop()  # dies: no more renewals, no release
        write_jobs(jobs, 1, prefix="second")
        clock.offset = 20.0  # within the 30 s term of the last renewal
        time.sleep(1.5)
        assert standby.passes == 0, "the standby took a lease that had not lapsed"
        clock.offset = 40.0
        wait_for(lambda: "second-0000" in jobs_by_name(emulator, project), seconds=15,
                 what="the standby took over and created the new job")
        assert standby.passes > 0
        assert jobs_by_name(emulator, project) == {"first-0000": 1, "second-0000": 1}
    finally:
        holder.stop()
        standby.stop()


def test_gcs_lease_is_kept_through_a_pass_longer_than_its_term(
    fake_gcs: LocalGcsServer, project: str, tmp_path: Path
) -> None:
    """A holder whose pass outlasts the lease term still acts alone: no job is created twice."""
    jobs = tmp_path / "jobs"
    names = write_jobs(jobs, 30, prefix="long-pass")
    bucket = fake_gcs.client().create_bucket(f"leases-{os.getpid()}-{project}")
    clock = Clock()

    def lease() -> Lease:
        return open_lease(f"gs://{bucket.name}/operator", clock=clock,
                          storage_client=fake_gcs.client())

    with EmulatorProcess(job_seconds=600, extra_args=("--latency-ms=150",)) as slow:
        holder = LeasedOperator(slow, project, jobs, tmp_path / "a", lease())
        standby = LeasedOperator(slow, project, jobs, tmp_path / "b", lease())
        try:
            holder.thread.start()
            wait_for(lambda: slow.admin.calls()["CreateTuningJob"] > 0, seconds=15,
                     what="the holder started creating")
            clock.offset = 40.0  # the holder's pass has now run longer than the term
            standby.thread.start()
            wait_for(lambda: sum(jobs_by_name(slow, project).values()) >= len(names),
                     seconds=30, what="every job created")
            time.sleep(2.0)
            counts = jobs_by_name(slow, project)
        finally:
            holder.stop()
            standby.stop()
    assert counts == dict.fromkeys(names, 1)
