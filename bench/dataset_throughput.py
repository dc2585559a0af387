"""Dataset pre-flight throughput against the floor: a bare orjson parse of the same file.

Generates a ~200 MB Vertex JSONL file in a temporary directory (deleted afterwards), then, three
times each and interleaved, times (a) reading the file line by line with `orjson.loads` and
nothing else, and (b) `check_dataset` on it. Prints the median MB/s of both, their ratio (goal:
the pre-flight at ≥ 0.5x the floor), by wall clock and by this process's CPU time (the second
is steadier on a shared machine), and the peak RSS growth during one pre-flight of the file and
of its first quarter, each in a fresh process (goal: flat, not growing with the file). Import
time of the pre-flight (numpy) is a one-off per process, printed apart, not counted.

    .venv/bin/python bench/dataset_throughput.py [--megabytes 200] [--runs 3]

Figures, not pass/fail: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import psutil

SYSTEM = "You are the support desk's ticket router. Answer with the queue name and one reason."


def generate(path: Path, megabytes: int, seed: int = 7) -> int:
    """Write a realistic SFT file: routed-ticket prompts, mean ≈ 4 KB per line, 20 % multi-turn."""
    rng = random.Random(seed)
    vocabulary = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 10)))
        for _ in range(20_000)
    ]
    target = megabytes * 1024 * 1024
    written = examples = 0
    with path.open("wb") as out:
        while written < target:
            context = " ".join(rng.choices(vocabulary, k=int(rng.lognormvariate(6.0, 0.6))))
            question = " ".join(rng.choices(vocabulary, k=rng.randint(8, 40)))
            turns = [
                {"role": "user", "parts": [{"text": f"Question: {question}\nContext: {context}"}]},
                {"role": "model", "parts": [{"text": " ".join(rng.choices(vocabulary, k=30))}]},
            ]
            if rng.random() < 0.2:
                turns += [
                    {"role": "user", "parts": [{"text": " ".join(rng.choices(vocabulary, k=20))}]},
                    {"role": "model", "parts": [{"text": " ".join(rng.choices(vocabulary, k=25))}]},
                ]
            example = {"systemInstruction": {"parts": [{"text": SYSTEM}]}, "contents": turns}
            line = orjson.dumps(example) + b"\n"
            out.write(line)
            written += len(line)
            examples += 1
    return examples


def raw_parse(path: Path) -> None:
    with path.open("rb") as handle:
        for line in handle:
            orjson.loads(line)


class PeakRss:
    """Samples this process's RSS every 5 ms while running; `growth` = peak − start."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._stop = threading.Event()
        self.start = self.peak = self._process.memory_info().rss

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.start


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def peak_growth(path: Path, model: str) -> int:
    """Peak RSS growth of one pre-flight of `path` in a fresh process (imports done first)."""
    answer = subprocess.run(
        [sys.executable, __file__, "--rss-of", str(path), "--model", model],
        check=True, capture_output=True, text=True, timeout=600,
    )
    return int(answer.stdout.strip())


def measure_rss(path: str, model_name: str) -> None:
    from tuning_operator.datasets import check_dataset
    from tuning_operator.datasets.duplicates import MinHasher
    from tuning_operator.specs.catalog import default_catalog

    MinHasher()
    model = default_catalog().get(model_name)
    assert model is not None
    with PeakRss() as rss:
        check_dataset(path, model=model)
    print(rss.growth)


def quarter_copy(path: Path) -> Path:
    """The first quarter of the file's lines, for the memory comparison."""
    target = path.with_name("quarter.jsonl")
    limit = path.stat().st_size // 4
    with path.open("rb") as source, target.open("wb") as out:
        for line in source:
            if out.tell() >= limit:
                break
            out.write(line)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", default="gemini-2.5-flash")
    parser.add_argument("--rss-of", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_of:
        measure_rss(args.rss_of, args.model)
        return

    started = time.perf_counter()
    from tuning_operator.datasets import check_dataset
    from tuning_operator.datasets.duplicates import MinHasher
    from tuning_operator.specs.catalog import default_catalog

    MinHasher()  # the heavy imports (numpy) happen here
    import_seconds = time.perf_counter() - started
    model = default_catalog().get(args.model)
    assert model is not None, f"unknown model {args.model}"

    with tempfile.TemporaryDirectory(prefix="dataset-bench-") as directory:
        path = Path(directory) / "train.jsonl"
        examples = generate(path, args.megabytes)
        size_mb = path.stat().st_size / 1e6
        print(f"file: {size_mb:.0f} MB, {examples:,} examples, "
              f"{path.stat().st_size / examples:,.0f} bytes per line")
        raw_parse(path)  # warm the page cache for both contestants
        raw, check = [], []
        for _ in range(args.runs):  # interleaved, so both see the same machine load
            raw.append(timed(lambda: raw_parse(path)))
            check.append(timed(lambda: check_dataset(str(path), model=model)))
        report = check_dataset(str(path), model=model)
        growth_full = peak_growth(path, args.model)
        quarter = quarter_copy(path)
        quarter_mb = quarter.stat().st_size / 1e6
        growth_quarter = peak_growth(quarter, args.model)
    for label, index in (("wall clock", 0), ("CPU time", 1)):
        raw_mbps = size_mb / statistics.median(t[index] for t in raw)
        check_mbps = size_mb / statistics.median(t[index] for t in check)
        print(f"{label:>10}: raw orjson per-line parse {raw_mbps:,.0f} MB/s, pre-flight"
              f" {check_mbps:,.0f} MB/s, ratio {check_mbps / raw_mbps:.2f}x (goal >= 0.5x;"
              f" median of {args.runs})")
    print(f"peak RSS growth of a pre-flight (fresh process): {growth_full / 1e6:.1f} MB for"
          f" {size_mb:.0f} MB, {growth_quarter / 1e6:.1f} MB for {quarter_mb:.0f} MB")
    print(f"near-duplicate/layout sample: {report.training.sampled_examples:,} of"
          f" {report.training.stats.examples:,} examples; verdict {report.verdict.value};"
          f" one-off import time {import_seconds:.2f} s")


if __name__ == "__main__":
    main()
