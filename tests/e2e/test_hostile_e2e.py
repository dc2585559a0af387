"""Hostile repositories (issue 12) against the operator process and the Vertex emulator.

Everything a pull request can carry into the jobs directory — a team directory swapped for a
symlink, job files linked to each other, a FIFO or a device file under a `.yaml` name, names
that only look right — is an error naming the entry, never a cancel, never a hang, and never
a reason to stop reconciling the other teams. (Cross-team ownership, beta's file against
alpha's Vertex job, is the planner's part and is tested beside it.)
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.conftest import CLI, REGION, adapter, jobs_by_name, operator_args, run_operator
from tests.e2e.storm import stop, wait_for, write_jobs
from tests.support.emulator_process import EmulatorProcess

ROOT = os.geteuid() == 0
LONG_RUNNING = {"emulator-duration-ms": "600000"}
ON_DELETE_CANCEL = "  onDelete: Cancel\n"


def validate(jobs: Path) -> subprocess.CompletedProcess[str]:
    """`tuning-operator validate` in its own process; a hang fails through the timeout."""
    return subprocess.run([sys.executable, "-c", CLI, "validate", "--jobs-dir", str(jobs)],
                          capture_output=True, text=True, timeout=60, check=False)


def test_team_directory_replaced_by_a_symlink_cancels_nothing(
    emulator: EmulatorProcess, project: str, tmp_path: Path
) -> None:
    """alpha's directory swapped for a link to it: 0 cancels, `validate` fails naming it.

    alpha is one job of four, so the mass-deletion guard stays quiet: only the link's own
    error holds the removal. After the link is replaced by the directory, removing the file
    cancels its job: the zero above was a hold, not a missing feature.
    """
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    names = write_jobs(jobs, 4, prefix="team", teams=4, labels=LONG_RUNNING,
                       spec_extra=ON_DELETE_CANCEL)
    alpha = jobs / "team-0"
    alpha_job = next(alpha.glob("*.yaml")).stem
    log = tmp_path / "operator.log"
    process = subprocess.Popen(operator_args(emulator, project, jobs, state, "--log-file",
                                             str(log)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: jobs_by_name(emulator, project) == dict.fromkeys(names, 1),
                 seconds=30, what="the operator created the jobs")
        time.sleep(1.5)  # created and recorded: the next passes know every file
        before = emulator.admin.calls()["CancelTuningJob"]
        moved = tmp_path / "elsewhere"
        alpha.rename(moved)
        os.symlink(moved, alpha)
        time.sleep(3.0)  # several passes at --resync 0.5
        cancels = emulator.admin.calls()["CancelTuningJob"] - before
        checked = validate(jobs)
        assert cancels == 0, f"{cancels} job(s) cancelled by a symlinked team directory"
        assert process.poll() is None, "the operator died"
        assert checked.returncode == 1, checked.stdout + checked.stderr
        assert f"{alpha}: is a symlink to a directory" in checked.stderr
        assert "removals_held" in log.read_text()

        alpha.unlink()
        moved.rename(alpha)
        time.sleep(1.5)
        (alpha / f"{alpha_job}.yaml").unlink()
        with adapter(emulator, project) as vertex:
            wait_for(lambda: {j.job_name: j.state for j in vertex.list_managed(REGION).jobs}[
                alpha_job].startswith("JOB_STATE_CANCEL"),
                seconds=15, what="the really removed job was cancelled")
    finally:
        stop(process)


def _hostile_entries(alpha: Path) -> list[str]:
    """A symlink loop, a FIFO and (as root) a character device in team alpha."""
    alpha.mkdir(parents=True)
    os.symlink("loop-b.yaml", alpha / "loop-a.yaml")
    os.symlink("loop-a.yaml", alpha / "loop-b.yaml")
    os.mkfifo(alpha / "pipe.yaml")
    made = ["loop-a.yaml: is a symlink", "loop-b.yaml: is a symlink",
            "pipe.yaml: not a regular file: a FIFO"]
    if ROOT:
        os.mknod(alpha / "device.yaml", stat.S_IFCHR | 0o644, os.makedev(1, 5))  # /dev/zero
        made.append("device.yaml: not a regular file: a character device")
    return made


def test_symlink_loop_fifo_and_device_are_per_file_errors_while_others_reconcile(
    emulator: EmulatorProcess, project: str, tmp_path: Path
) -> None:
    """A loop, a FIFO and a device file in alpha: errors per file; team-0's jobs run to the end.

    On main the loop crashed every pass (RuntimeError: Symlink loop), the FIFO blocked it
    forever and /dev/zero was read until memory ran out. The device file needs root (mknod);
    without root the case runs with the loop and the FIFO only.
    """
    jobs, state = tmp_path / "jobs", tmp_path / "state"
    names = write_jobs(jobs, 2, prefix="beta", teams=1)
    expected = _hostile_entries(jobs / "alpha")

    done = run_operator(emulator, project, jobs, state, "--until-settled", "--deadline", "60")
    checked = validate(jobs)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert jobs_by_name(emulator, project) == dict.fromkeys(names, 1)
    status = json.loads((state / "status.json").read_text())["jobs"]
    assert {n: status[n]["phase"] for n in names} == dict.fromkeys(names, "Succeeded")
    assert checked.returncode == 1
    for message in expected:
        assert f"{jobs / 'alpha'}/{message}" in checked.stderr, checked.stderr
    assert "2 valid job(s)" in checked.stdout


POLICY = """\
apiVersion: tuning-operator/v1
kind: Policy
teams:
  support: {datasetPrefixes: ["gs://acme/knowledge"]}
  Assistants: {baseModels: [gemini-2.5-pro]}
"""


def test_newline_team_prefix_tricks_and_miscased_policy_key_are_errors(tmp_path: Path) -> None:
    """`support\\n` is no team, `..`/`%2E%2E`/`//`/`-restricted` escape no prefix, and a
    policy key for `Assistants` breaks the policy instead of silently applying to nobody."""
    jobs = tmp_path / "jobs"
    (jobs).mkdir()
    (jobs / "_policy.yaml").write_text(POLICY)
    tricks = {"dots": "gs://acme/knowledge/../secret/t.jsonl",
              "encoded": "gs://acme/knowledge/%2E%2E/secret/t.jsonl",
              "empty": "gs://acme/knowledge//t.jsonl",
              "sibling": "gs://acme/knowledge-restricted/t.jsonl"}
    for name, uri in tricks.items():
        write_job(jobs, name, team="support", dataset=uri)
    write_job(jobs, "escaped", team="support\n", dataset="gs://acme/secret/t.jsonl")

    checked = validate(jobs)

    assert checked.returncode == 1
    err = checked.stderr
    assert f"{jobs}/support\\n: the name contains control or invisible characters" in err
    assert "has a '..' path segment" in err and "percent-encoded path segment" in err
    assert "an empty path segment" in err
    assert "'Assistants' is not a valid Vertex label value" in err and "'assistants'" in err
    # The sibling path is judged once the policy is fixed; until then the broken policy holds
    # every create.
    assert "1 valid job(s), 5 error(s)" in checked.stdout
    # With the policy fixed, the sibling bucket path is outside the team's prefix.
    (jobs / "_policy.yaml").write_text(POLICY.replace("  Assistants", "  assistants"))
    err = validate(jobs).stderr
    assert "gs://acme/knowledge-restricted/t.jsonl is outside the prefixes team 'support'" in err


def write_job(jobs: Path, name: str, *, team: str, dataset: str) -> None:
    """A job file of `team` reading `dataset`."""
    (jobs / team).mkdir(exist_ok=True)
    (jobs / team / f"{name}.yaml").write_text(
        f"apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata:\n  name: {name}\n"
        f"spec:\n  baseModel: gemini-2.5-flash\n  trainingDataset: {dataset}\n")

