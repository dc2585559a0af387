"""The live plan is the next pass: `plan --config … --state-dir …` before each pass of the real
operator lists exactly the actions that pass then takes.

Each pass is its own `run --once` process, so everything the plan depends on (a create's
backoff, the fence after a state recovery, `allow-mass-deletion` from the settings file) must
come from the state directory and the settings file, as it does for a restarted operator. What
a pass took is read where an auditor reads it: the audit trail (a create or cancel is written
there before its request), the status phases, and the emulator's call counts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.conftest import CLI
from tests.support.emulator_process import EmulatorProcess

LONG_RUN = "  labels: {emulator-duration-ms: '600000'}\n"  # active for the whole test


def write(jobs: Path, name: str, spec_extra: str = "") -> Path:
    (jobs / "team").mkdir(parents=True, exist_ok=True)
    path = jobs / "team" / f"{name}.yaml"
    path.write_text(f"apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata:\n  name: {name}\n"
                    f"{LONG_RUN}spec:\n  baseModel: gemini-2.5-flash\n"
                    f"  trainingDataset: gs://datasets/team/train.jsonl\n{spec_extra}")
    return path


class Operator:
    """The operator's settings file, its passes and its live plans, as a platform engineer runs
    them: every command reads the same `--config`."""

    def __init__(self, emulator: EmulatorProcess, project: str, root: Path) -> None:
        self.emulator = emulator
        self.jobs, self.state = root / "jobs", root / "state"
        self.jobs.mkdir()
        settings = {"jobs-dir": str(self.jobs), "state-dir": str(self.state),
                    "vertex-endpoint": emulator.grpc_endpoint, "project": project,
                    "settle": 0, "create-fence": 3, "crud-per-minute": 60000,
                    "submissions-per-minute": 60000}
        self.config = root / "operator.yaml"
        self.config.write_text(yaml.safe_dump({**settings, "allow-mass-deletion": True}))
        self.cautious = root / "cautious.yaml"  # the same, without allow-mass-deletion
        self.cautious.write_text(yaml.safe_dump(settings))

    def plan(self, config: Path | None = None) -> dict[str, Any]:
        done = self._cli("plan", "--config", str(config or self.config),
                         "--state-dir", str(self.state), "--format", "json")
        assert done.returncode in (0, 2), done.stdout + done.stderr
        document: dict[str, Any] = json.loads(done.stdout)
        return document

    def run_pass(self) -> set[tuple[str, str]]:
        """One pass; the (job, action) pairs it wrote to the audit trail before acting."""
        audit = self.state / "audit.jsonl"
        seen = len(audit.read_text().splitlines()) if audit.exists() else 0
        done = self._cli("run", "--config", str(self.config), "--once")
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        lines = [json.loads(line) for line in audit.read_text().splitlines()[seen:]]
        return {(line["job"], line["action"]) for line in lines
                if line["action"] in ("create", "cancel", "retire")}

    def phases(self) -> dict[str, tuple[str, str]]:
        done = self._cli("status", "--state-dir", str(self.state), "--format", "json")
        return {job["name"]: (job["phase"], job["reason"] or "")
                for job in json.loads(done.stdout)["jobs"]}

    def calls(self, method: str) -> int:
        return self.emulator.admin.calls().get(method, 0)

    def _cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True,
                              text=True, timeout=120, check=False)


def acting(plan: dict[str, Any]) -> set[tuple[str, str]]:
    return {(a["job"], a["action"]) for a in plan["actions"]
            if a["action"] in ("create", "cancel", "retire")}


def waiting(plan: dict[str, Any]) -> dict[str, str]:
    return {a["job"]: a["reason"] for a in plan["actions"] if a["action"] == "wait"}


def pass_matches_plan(operator: Operator, plan: dict[str, Any]) -> set[tuple[str, str]]:
    """Run the pass; assert it took the plan's creates, cancels and retirements and no other,
    and that the jobs the plan holds wait after it. Returns what it took."""
    creates, cancels = operator.calls("CreateTuningJob"), operator.calls("CancelTuningJob")
    taken = operator.run_pass()
    assert taken == acting(plan)
    assert operator.calls("CreateTuningJob") - creates == sum(
        action == "create" for _, action in taken)
    assert operator.calls("CancelTuningJob") - cancels == sum(
        action == "cancel" for _, action in taken)
    phases = operator.phases()
    for job in waiting(plan):
        assert phases[job][0] == "Waiting", (job, phases[job])
    return taken


def test_live_plan_lists_what_the_next_pass_does_through_backoff_recovery_and_mass_deletion(
        emulator: EmulatorProcess, project: str, tmp_path: Path) -> None:
    """Backoff, recovery fence and mass deletion: the plan before each pass is that pass."""
    operator = Operator(emulator, project, tmp_path)
    write(operator.jobs, "first", "  priority: 10\n")  # created first: it meets the fault
    for name in ("m1", "m2", "m3"):
        write(operator.jobs, name, "  onDelete: Cancel\n")

    # 1. A create Vertex refuses (quota): the pass tries what the plan said, then backs off.
    emulator.admin.fail_next("CreateTuningJob", "RESOURCE_EXHAUSTED")
    plan = operator.plan()
    assert acting(plan) == {(n, "create") for n in ("first", "m1", "m2", "m3")}
    pass_matches_plan(operator, plan)
    assert operator.phases()["first"][0] == "Waiting"

    # 2. Backoff, remembered by the state directory across processes: plan and pass wait.
    plan = operator.plan()
    assert acting(plan) == set()
    assert "backoff after a failed create" in waiting(plan)["first"]
    assert pass_matches_plan(operator, plan) == set()
    (operator.jobs / "team" / "first.yaml").unlink()  # never created: nothing to cancel
    pass_matches_plan(operator, operator.plan())

    # 3. A broken status store: every create is fenced for the fence window, in the plan too.
    (operator.state / "status.json").write_text('{"version": 2, "jobs": {"m1": ')
    write(operator.jobs, "late")
    plan = operator.plan()
    assert "earlier create may still land" in waiting(plan)["late"]
    assert pass_matches_plan(operator, plan) == set()
    assert list(operator.state.glob("status.json.broken-*"))
    deadline = time.monotonic() + 30
    while ("late", "create") not in acting(plan := operator.plan()):
        assert time.monotonic() < deadline, plan
        time.sleep(0.5)
    assert pass_matches_plan(operator, plan) == {("late", "create")}

    # 4. Three of four jobs' files removed at once: held without allow-mass-deletion, and
    #    with it (the operator's settings file) the plan and the pass cancel all three.
    for name in ("m1", "m2", "m3"):
        (operator.jobs / "team" / f"{name}.yaml").unlink()
    cautious = operator.plan(operator.cautious)
    assert cautious["held"] and acting(cautious) == set()
    plan = operator.plan()
    assert acting(plan) == {(n, "cancel") for n in ("m1", "m2", "m3")}
    pass_matches_plan(operator, plan)
    assert {n: p for n, (p, _) in operator.phases().items() if n.startswith("m")} == {
        n: "Cancelling" for n in ("m1", "m2", "m3")}
