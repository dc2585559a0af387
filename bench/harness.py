"""What every benchmark shares: timing by median, the machine, one figure per goal, the table.

A figure is judged against a floor measured in the same run on the same machine (a ratio), or,
where no floor exists, against an absolute goal; the harness never asserts. `RESULTS.md` keeps
a hand-written analysis: only the block between the two markers is rewritten by a run.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

BEGIN = "<!-- results:begin (written by bench/run.py; edit outside this block) -->"
END = "<!-- results:end -->"


@dataclass(frozen=True)
class Figure:
    """One measured figure: ours against the floor (or an absolute goal), met or not."""

    key: str  # "P1"
    what: str
    ours: float
    unit: str  # "s", "ms", "calls", "MB", "events/s"
    goal: str  # "≤ 1.3×", "p99 ≤ 1 s"
    met: bool | None  # None: not judged (a supporting figure)
    floor: float | None = None
    floor_what: str = ""
    runs: int = 1
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.floor is None or self.floor == 0:
            return None
        return self.ours / self.floor


@dataclass
class Suite:
    """The figures of one benchmark module, and the lines it wants printed under the table."""

    name: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (p99 of 100 values is the 99th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def timed(action: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def interleaved(contenders: Mapping[str, Callable[[], object]],
                runs: int) -> dict[str, list[float]]:
    """Each contender `runs` times, taking turns, so all see the same load of a shared machine."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(runs):
        for name, action in contenders.items():
            times[name].append(timed(action))
    return times


def fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "ms":
        return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
    if unit in ("calls", "events/s"):
        return f"{value:,.0f} {unit}"
    return f"{value:,.1f} {unit}"


def machine() -> dict[str, str]:
    """Cores, memory, CPU, Python and load: what a reader needs to compare two runs."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                          if line.startswith("model name")), model)
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "commit": commit(),
        "cores": str(os.cpu_count()),
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "cpu": model,
        "python": sys.version.split()[0],
        "os": platform.platform(terse=True),
        "load average at start (1, 5, 15 min)": load,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def commit() -> str:
    """The commit measured, and whether the operator's code had uncommitted changes."""
    repo = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        answer = subprocess.run(["git", "-C", str(repo), *args], capture_output=True,
                                text=True, timeout=30, check=False)
        return answer.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" + uncommitted changes under operator/"
                   if git("status", "--porcelain", "--", "operator") else "")


def table(figures: Sequence[Figure]) -> list[str]:
    """The results as a Markdown table (also printed as is: it reads well in a terminal)."""
    lines = ["| # | what | ours | floor | ratio | goal | met | runs |",
             "|---|---|---|---|---|---|---|---|"]
    for f in sorted(figures, key=lambda f: (len(f.key), f.key)):  # P9 before P10; stable
        floor = f"{fmt(f.floor, f.unit)} ({f.floor_what})" if f.floor is not None else "–"
        ratio = f"{f.ratio:.2f}×" if f.ratio is not None else "–"
        met = {True: "**met**", False: "not met", None: "–"}[f.met]
        lines.append(f"| {f.key} | {f.what} | {fmt(f.ours, f.unit)} | {floor} | {ratio} |"
                     f" {f.goal} | {met} | {f.runs} |")
    return lines


def results_block(suites: Sequence[Suite], about: dict[str, str], command: str) -> list[str]:
    lines = [BEGIN, "", f"Command: `{command}`", ""]
    lines += [f"- {key}: {value}" for key, value in about.items()]
    lines += ["", *table([f for s in suites for f in s.figures]), ""]
    for suite in suites:
        if suite.notes:
            lines.append(f"**{suite.name}** ({suite.seconds:.0f} s)")
            lines += [f"- {note}" for note in suite.notes]
            lines.append("")
    lines.append(END)
    return lines


def write_results(path: Path, block: list[str]) -> None:
    """Replace the generated block of `path`, keeping the hand-written text around it."""
    text = path.read_text(encoding="utf-8") if path.exists() else (
        f"# Benchmark results\n\n{BEGIN}\n{END}\n")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    path.write_text(head + "\n".join(block) + tail, encoding="utf-8")


def scrubbed(text: str) -> str:
    """Text safe to keep in the repository: this machine's paths replaced by placeholders."""
    for path, placeholder in ((str(Path(sys.prefix)), "<venv>"),
                              (str(Path(__file__).resolve().parents[1]), "<repo>"),
                              (str(Path.home()), "~"),
                              (tempfile.gettempdir(), "<tmp>")):
        text = text.replace(path, placeholder)
    return text


def profile(action: Callable[[], object], *, name: str, directory: Path | None) -> None:
    """With a directory, run `action` once under pyinstrument and save the call tree there.

    pyinstrument is pinned in requirements.txt (dev): without it, this says how to get it.
    """
    if directory is None:
        return
    try:
        from pyinstrument import Profiler
    except ImportError:
        print(f"profile {name}: pyinstrument is not installed (pip install pyinstrument)")
        return
    profiler = Profiler(interval=0.001)
    profiler.start()
    action()
    profiler.stop()
    directory.mkdir(parents=True, exist_ok=True)
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    (directory / f"{name}.txt").write_text(scrubbed(text), encoding="utf-8")
    print(f"profile {name}: {directory / (name + '.txt')}")
