"""One streaming pass over one dataset file: parse, check, measure, and collect hygiene signals.

The loop is the throughput of the whole pre-flight (the bench compares it with a bare orjson
parse of the same file), so per line it does only what must see every example: parse, the line
rules, statistics, the duplicate key, the system-instruction tally and the exact leakage lookup.
The expensive signals (MinHash near duplicates and near leakage, prompt layouts) run on the
sample chosen by `sample_every`. Memory: one line, the sketches, 12 bytes per example for exact
duplicates, and the bounded sample.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import orjson

from tuning_operator.datasets.duplicates import (
    ExactDuplicates,
    MinHasher,
    NearDuplicateIndex,
    example_text,
)
from tuning_operator.datasets.examples import ExampleRules, decode_line
from tuning_operator.datasets.findings import FindingKind, FindingLog, Severity
from tuning_operator.datasets.report import DatasetFormat
from tuning_operator.datasets.skew import SkewSignals
from tuning_operator.datasets.stats import DatasetStats, ExampleFacts, StatsAccumulator

SAMPLE_BATCH = 32  # sampled examples signed together (one vectorised step, warm caches)


@dataclass(frozen=True)
class LeakageIndex:
    """One file's examples as a later pass looks them up to find leakage (the validation set)."""

    keys: dict[int, int]  # duplicate key -> first line (kept for the validation file only)
    near: NearDuplicateIndex  # sampled examples' MinHash signatures


@dataclass(frozen=True)
class ScanResult:
    stats: DatasetStats
    format: DatasetFormat
    sampled_examples: int
    leakage_index: LeakageIndex


class FileHygiene:
    """Duplicates, leakage and skew signals of one file, fed one valid example at a time."""

    def __init__(
        self,
        log: FindingLog,
        *,
        minhasher: MinHasher,
        sample_every: int,
        sample_limit: int | None,
        leakage_from: LeakageIndex | None,
        leakage_severity: Severity,
        keep_keys: bool,
    ) -> None:
        self._log = log
        self._minhasher = minhasher
        self._sample_every = sample_every
        self._sample_limit = sample_limit
        self._leakage_from = leakage_from
        self._leakage_severity = leakage_severity
        self.exact = ExactDuplicates()
        self.skew = SkewSignals()
        # Only the validation file keeps a key -> line map (the training pass looks leakage up
        # in it); the training file's keys stay in ExactDuplicates' flat arrays.
        self.index = LeakageIndex(keys={}, near=NearDuplicateIndex())
        self._keep_keys = keep_keys
        self._sampled_keys: set[int] = set()
        self._pending: list[tuple[dict[str, Any], int, bool]] = []  # at most SAMPLE_BATCH
        self.sampled = 0
        self._countdown = 1
        # Hot-path shortcuts: bound appends, and the current run of one system instruction
        # (most datasets use one: a string compare per line instead of a tally update).
        self._append_key = self.exact.keys.append
        self._append_line = self.exact.lines.append
        self._system: str | None = None
        self._system_line = 0
        self._system_run = 0

    def add(self, obj: dict[str, Any], facts: ExampleFacts, line: int) -> None:
        key = facts[2]
        self._append_key(key)
        self._append_line(line)
        system = facts[3]
        if system == self._system and self._system_run:
            self._system_run += 1
        else:
            self._flush_system_run()
            self._system, self._system_line, self._system_run = system, line, 1
        if self._keep_keys:
            self.index.keys.setdefault(key, line)
        leaked = self._leakage_from is not None and self._exact_leak(key, line)
        self._countdown -= 1
        if not self._countdown:
            self._countdown = self._sample_every
            # An exact copy of a sampled example is already reported as one.
            if self.sampled != self._sample_limit and key not in self._sampled_keys:
                self._sampled_keys.add(key)
                self._sample(obj, line, leaked)

    def _flush_system_run(self) -> None:
        if self._system_run:
            self.skew.add_system_instruction(
                self._system, self._system_line, count=self._system_run
            )
            self._system_run = 0

    def _exact_leak(self, key: int, line: int) -> bool:
        """Log an example that is also in the validation set; True if it is."""
        assert self._leakage_from is not None
        other = self._leakage_from.keys.get(key)
        if other is not None:
            self._log.add(
                FindingKind.LEAKAGE_EXACT,
                f"identical to validation line {other}; an example in both sets inflates the"
                " validation scores: remove it from one of them",
                line=line,
                severity=self._leakage_severity,
            )
        return other is not None

    def _sample(self, obj: dict[str, Any], line: int, leaked: bool) -> None:
        self.sampled += 1
        self._pending.append((obj, line, leaked))
        if len(self._pending) >= SAMPLE_BATCH:
            self._flush_samples()

    def _flush_samples(self) -> None:
        """Signatures for the pending sample in one batch, then matches in line order."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        signatures = self._minhasher.signatures([example_text(obj) for obj, _, _ in pending])
        for (obj, line, leaked), signature in zip(pending, signatures, strict=True):
            self.skew.add_layout(obj, line)
            checks: list[tuple[NearDuplicateIndex, FindingKind, str, str, Severity | None]] = [
                (self.index.near, FindingKind.NEAR_DUPLICATE, "line",
                 "near duplicates teach memorisation: keep one", None)]
            if self._leakage_from is not None and not leaked:  # exact leaks are reported
                checks.append((self._leakage_from.near, FindingKind.LEAKAGE_NEAR,
                               "validation line", "near-overlap between the sets inflates the"
                               " validation scores", self._leakage_severity))
            for index, kind, other_file, why, severity in checks:
                for other, similarity in index.matches(signature)[:1]:
                    self._log.add(kind, f"≈ {similarity:.0%} similar to {other_file} {other}"
                                  f" (MinHash, word 3-grams); {why}", line=line,
                                  severity=severity)
            self.index.near.insert(line, signature)

    def report(self) -> None:
        self._flush_samples()
        self._flush_system_run()
        self.exact.report(self._log)
        self.skew.report(self._log)


def scan_lines(
    lines: Iterable[bytes], *, rules: ExampleRules, log: FindingLog, hygiene: FileHygiene
) -> ScanResult:
    """Check every line; return the statistics (the hygiene findings are logged at the end)."""
    stats = StatsAccumulator()
    check = rules.check
    add_stats = stats.add
    add_hygiene = hygiene.add
    loads = orjson.loads
    gemini_api_before, truncated_before = rules.gemini_api_examples, rules.truncated_tokens
    line = 0
    for line, raw in enumerate(lines, 1):
        try:
            obj = loads(raw)
        except orjson.JSONDecodeError:
            obj = decode_line(raw, line, log)
            if obj is None:
                continue
        facts = check(obj, line, log)
        if facts is None:
            continue
        add_stats(facts)
        add_hygiene(obj, facts, line)
    stats.lines = line
    hygiene.report()
    result = replace(stats.result(), tokens_truncated=rules.truncated_tokens - truncated_before)
    file_format = DatasetFormat.UNKNOWN
    if result.examples:
        gemini_api = rules.gemini_api_examples - gemini_api_before
        mostly_gemini = gemini_api * 2 > result.examples
        file_format = DatasetFormat.GEMINI_API if mostly_gemini else DatasetFormat.VERTEX
    return ScanResult(result, file_format, hygiene.sampled, hygiene.index)
