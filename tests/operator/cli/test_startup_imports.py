"""What the pull-request commands leave unimported, so they start fast (issue 31, P7)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "jobs"


def imported_after(argv: list[str], prefixes: tuple[str, ...]) -> list[str]:
    """The modules whose names start with one of `prefixes` after `main(argv)` in a fresh
    interpreter."""
    code = ("import json, sys\nfrom tuning_operator.cli import main\n"
            f"main({argv!r})\n"
            "print('LOADED', json.dumps(sorted(m for m in sys.modules"
            f" if m.startswith({prefixes!r}))))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=60)
    line = next(x for x in done.stdout.splitlines() if x.startswith("LOADED"))
    loaded: list[str] = json.loads(line.removeprefix("LOADED "))
    return loaded


@pytest.mark.parametrize("argv", [["validate"], ["plan", "--offline"]])
def test_no_status_store_no_judging_no_git(argv: list[str]) -> None:
    """Without a state directory or a base revision, neither command imports the status
    store, its records, the judging of curves, nor what running git needs."""
    assert imported_after([*argv, "--jobs-dir", str(EXAMPLES)], (
        "tuning_operator.state.store", "tuning_operator.state.records",
        "tuning_operator.judging", "tuning_operator.specs.revision", "subprocess",
        "tarfile", "importlib.metadata", "tuning_operator.planning.change")) == []


def test_a_plan_with_a_state_directory_reads_the_store(tmp_path: Path) -> None:
    """With `--state-dir`, the store (and what its records need) is imported as before."""
    loaded = imported_after(["plan", "--offline", "--jobs-dir", str(EXAMPLES), "--state-dir",
                             str(tmp_path / "state")], ("tuning_operator.state.",))
    assert {"tuning_operator.state.store", "tuning_operator.state.records"} <= set(loaded)


def test_the_program_leaves_its_objects_to_the_exit(tmp_path: Path) -> None:
    """`validate` run as the program (no argv given) freezes what it built before the exit,
    and still prints its result and exits with its status; `main(argv)`, a caller that goes
    on, keeps its collector as it was."""
    code = ("import gc, sys\nfrom tuning_operator.cli import main\n"
            f"assert main(['validate', '--jobs-dir', {str(EXAMPLES)!r}]) == 0\n"
            "assert gc.get_freeze_count() == 0, 'frozen by main(argv)'\n"
            f"sys.argv = ['tuning-operator', 'validate', '--jobs-dir', {str(tmp_path)!r}]\n"
            "status = main()\n"
            "print('FROZEN', gc.get_freeze_count() > 0)\n"
            "sys.exit(status)\n")
    (tmp_path / "broken.yaml").write_text("kind: TuningJob\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "FROZEN True" in done.stdout
    assert "0 valid job(s), 3 error(s)" in done.stdout
