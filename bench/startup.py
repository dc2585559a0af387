"""P7: start-up of `validate` and `plan --offline` against `python -c pass`.

Each command runs as a fresh process on the examples directory (what CI runs on a pull
request), interleaved with the floor, median of the runs. The note lists the heaviest imports
of `validate` from `python -X importtime`, which is where start-up goes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from harness import Figure, Suite, interleaved, median

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "jobs"
CLI = "import sys; from tuning_operator.cli import main; sys.exit(main())"
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def command(*args: str) -> list[str]:
    """The installed `tuning-operator` script when there is one (what users run)."""
    script = Path(sys.executable).with_name("tuning-operator")
    return [str(script), *args] if script.exists() else [sys.executable, "-c", CLI, *args]


def run(args: Sequence[str]) -> None:
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   timeout=60)


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


def measure(runs: int) -> Suite:
    suite = Suite("P7 — start-up")
    contenders = {
        "floor": lambda: run([sys.executable, "-c", "pass"]),
        "validate": lambda: run(command("validate", "--jobs-dir", str(EXAMPLES))),
        "plan --offline": lambda: run(command("plan", "--offline", "--jobs-dir", str(EXAMPLES))),
    }
    run(command("validate", "--jobs-dir", str(EXAMPLES)))  # warm the page cache
    times = interleaved(contenders, runs)
    floor = median(times["floor"])
    for name in ("validate", "plan --offline"):
        ours = median(times[name])
        suite.figures.append(Figure(
            "P7", f"start-up of `{name}` on the examples", ours, "s", "≤ 3×", ours <= 3 * floor,
            floor=floor, floor_what="python -c pass", runs=runs))
    imports = heaviest_imports(["validate", "--jobs-dir", str(EXAMPLES)])
    suite.notes.append("heaviest imports of `validate` (packages: cumulative; project modules:"
                       " self): " + ", ".join(
        f"{name} {ms:.0f} ms" for name, ms in imports))
    return suite
