"""P7: start-up of `validate` and `plan --offline` against `check-jsonschema` (issue 31).

What a pull request's check could run instead of `validate`: `check-jsonschema` (pinned in
requirements.txt) with the project's job JSON Schema (`schema/jobs-v1.json`, what `schema`
prints) on the same file. Each command runs as a fresh process on a jobs directory holding one
example job file, interleaved with the floor, median of the runs. `python -c pass` is measured
too, for a note. The note lists the heaviest imports of `validate` from `python -X
importtime`, which is where start-up goes.

pip byte-compiles what it installs, check-jsonschema included; the operator is installed
editable, and where PYTHONDONTWRITEBYTECODE is set (this machine sets it) its modules would be
compiled from source on every start. The operator's package is byte-compiled first, as pip
would have, so that both sides start from bytecode.
"""

from __future__ import annotations

import compileall
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from harness import Figure, Suite, interleaved, median

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "jobs"
EXAMPLE = Path("support") / "reply-tone-v1.yaml"  # valid alone: no local evaluation set
SCHEMA = ROOT / "schema" / "jobs-v1.json"
CLI = "import sys; from tuning_operator.cli import main; sys.exit(main())"
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def command(*args: str) -> list[str]:
    """The installed `tuning-operator` script when there is one (what users run)."""
    script = Path(sys.executable).with_name("tuning-operator")
    return [str(script), *args] if script.exists() else [sys.executable, "-c", CLI, *args]


def run(args: Sequence[str], cpu: list[float] | None = None) -> None:
    """One fresh process; its CPU time (user + system) is appended to `cpu` when given."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)


def heaviest_imports(args: Sequence[str], top: int = 5) -> list[tuple[str, float]]:
    """The costliest imports of one run, from `-X importtime`, in milliseconds: third-party
    packages by cumulative time, the project's own modules by their own (self) time."""
    code = f"import sys; sys.argv = ['tuning-operator', *{list(args)!r}]; {CLI.split('; ', 1)[1]}"
    answer = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                            capture_output=True, text=True, timeout=60, check=False)
    packages: dict[str, float] = {}
    own: dict[str, float] = {}
    for line in answer.stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match is None:
            continue
        name, own_ms, total_ms = match.group(4), int(match.group(1)), int(match.group(2))
        if name.startswith("tuning_operator"):
            own[name] = own_ms / 1000
        elif "." not in name and name not in ("site", "encodings"):
            packages[name] = max(packages.get(name, 0.0), total_ms / 1000)
    ranked = sorted(packages.items(), key=lambda m: -m[1])[:top]
    return ranked + sorted(own.items(), key=lambda m: -m[1])[:3]


def check_jsonschema(path: Path) -> list[str]:
    """The floor: the pinned `check-jsonschema` on `path` against the job JSON Schema."""
    script = Path(sys.executable).with_name("check-jsonschema")
    return [str(script), "--schemafile", str(SCHEMA), str(path)]


def measure(runs: int) -> Suite:
    suite = Suite("P7 — start-up")
    compileall.compile_dir(str(ROOT / "operator" / "tuning_operator"), quiet=1)
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        jobs = Path(tmp) / "jobs"
        (jobs / EXAMPLE).parent.mkdir(parents=True)
        shutil.copyfile(EXAMPLES / EXAMPLE, jobs / EXAMPLE)
        measure_on(jobs, runs, suite)
    return suite


def measure_on(jobs: Path, runs: int, suite: Suite) -> None:
    """P7 on the one-file directory `jobs`; figures and notes go to `suite`."""
    # CPU time too: on a loaded shared machine a process also waits for a core, and the wait
    # is not its own cost; CPU time (user + system) is.
    cpu: dict[str, list[float]] = {name: [] for name in
                                   ("floor", "validate", "plan --offline", "python -c pass")}
    contenders = {
        "floor": lambda: run(check_jsonschema(jobs / EXAMPLE), cpu["floor"]),
        "validate": lambda: run(command("validate", "--jobs-dir", str(jobs)), cpu["validate"]),
        "plan --offline": lambda: run(command("plan", "--offline", "--jobs-dir", str(jobs)),
                                      cpu["plan --offline"]),
        "python -c pass": lambda: run([sys.executable, "-c", "pass"], cpu["python -c pass"]),
    }
    for warm in contenders.values():  # the page cache is warm for every contender
        warm()
    for spent in cpu.values():
        spent.clear()
    times = interleaved(contenders, runs)
    floor = median(times["floor"])
    for name in ("validate", "plan --offline"):
        ours = median(times[name])
        suite.figures.append(Figure(
            "P7", f"start-up of `{name}` on one example file", ours, "s", "≤ 0.7×",
            ours <= 0.7 * floor, floor=floor, floor_what="check-jsonschema, same file and"
            " schema", runs=runs))
    floor_cpu = median(cpu["floor"])
    suite.notes.append("CPU time (user + system), median: " + ", ".join(
        f"{name} {median(cpu[name]):.3f} s ({median(cpu[name]) / floor_cpu:.2f}×)"
        for name in ("validate", "plan --offline", "python -c pass"))
        + f", check-jsonschema {floor_cpu:.3f} s")
    bare = median(times["python -c pass"])
    suite.notes.append(f"`python -c pass` takes {bare:.3f} s: `validate` is"
                       f" {median(times['validate']) / bare:.1f}× that,"
                       f" check-jsonschema {floor / bare:.1f}×")
    imports = heaviest_imports(["validate", "--jobs-dir", str(jobs)])
    suite.notes.append("heaviest imports of `validate` (packages: cumulative; project modules:"
                       " self): " + ", ".join(
        f"{name} {ms:.0f} ms" for name, ms in imports))
