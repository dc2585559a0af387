"""`check_dataset`: the whole pre-flight of a training (and validation) file against one model.

The job's evaluation set, when given, is checked with the same rules (it uses the training
format: the last `model` turn is the reference), without the whole-file training rules.

Order matters: both files are stat'ed first (existence, size limit, version for the cache);
the validation file is read next, because the training pass looks every example up in its
index to find leakage; then the training file; then the whole-file rules (example counts,
validation-set size). Reports are cached by model, options and object version (gs:// object
generation, or local mtime + size), so the operator re-reads a dataset only when it changes.

Raises TemporaryError when storage fails in a way worth retrying; a missing or unreadable
file is a finding (the job is Invalid until the file appears), not an exception.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tuning_operator.datasets.duplicates import MinHasher
from tuning_operator.datasets.examples import ExampleRules
from tuning_operator.datasets.findings import DatasetRole, FindingKind, FindingLog, Severity
from tuning_operator.datasets.objects import DatasetNotFound, DatasetObject, DatasetObjects
from tuning_operator.datasets.recommend import recommend
from tuning_operator.datasets.report import DatasetFileReport, DatasetFormat, DatasetReport
from tuning_operator.datasets.scan import FileHygiene, ScanResult, scan_lines
from tuning_operator.datasets.stats import EMPTY_STATS
from tuning_operator.lru import Lru
from tuning_operator.specs.catalog import BaseModel

MIN_EXAMPLES = 20
RECOMMENDED_MIN_EXAMPLES = 100
# The MinHash / layout sample of the training file: every example of a file up to this size,
# every k-th example beyond (k = ceil(size / budget)), so their cost stays bounded.
DEFAULT_SAMPLE_BUDGET_BYTES = 1024 * 1024
VALIDATION_SAMPLE_LIMIT = 10_000


@dataclass(frozen=True)
class CheckOptions:
    """How strict and how thorough the pre-flight is."""

    allow_leakage: bool = False  # train/validation overlap becomes a warning instead of an error
    listed_per_kind: int = 5  # findings listed per (file, kind); totals are always exact
    sample_budget_bytes: int | None = DEFAULT_SAMPLE_BUDGET_BYTES  # None: sample every example


def check_dataset(
    training_uri: str,
    validation_uri: str | None = None,
    *,
    model: BaseModel,
    objects: DatasetObjects | None = None,
    options: CheckOptions | None = None,
    cache: DatasetCheckCache | None = None,
    evaluation_uri: str | None = None,
) -> DatasetReport:
    """Check the dataset of one tuning job; local paths and gs:// URIs."""
    objects = objects or DatasetObjects()
    options = options or CheckOptions()
    train_log = FindingLog(DatasetRole.TRAINING, listed_per_kind=options.listed_per_kind)
    val_log = FindingLog(DatasetRole.VALIDATION, listed_per_kind=options.listed_per_kind)
    eval_log = FindingLog(DatasetRole.EVALUATION, listed_per_kind=options.listed_per_kind)
    train_obj = _stat(objects, training_uri, train_log)
    val_obj = None if validation_uri is None else _stat(objects, validation_uri, val_log)
    eval_obj = None if evaluation_uri is None else _stat(objects, evaluation_uri, eval_log)
    cache_key = None
    if (train_obj is not None and (validation_uri is None or val_obj is not None)
            and (evaluation_uri is None or eval_obj is not None)):
        cache_key = (model, options, train_obj, val_obj, eval_obj)
        cached = cache.get(cache_key) if cache is not None else None
        if cached is not None:
            return cached
    minhasher = MinHasher()
    rules = ExampleRules(model)
    leakage = Severity.WARNING if options.allow_leakage else Severity.ERROR
    val_scan, eval_scan = (
        _scan_whole(objects, obj, log, model=model, rules=rules, minhasher=minhasher,
                    leakage=leakage, keep_keys=keep)
        for obj, log, keep in ((val_obj, val_log, True), (eval_obj, eval_log, False))
    )
    if eval_scan is not None and eval_scan.stats.examples == 0:
        eval_log.add(FindingKind.TOO_FEW_EXAMPLES, "the evaluation set has no valid examples")
    train_scan = None
    if train_obj is not None and _readable(train_obj, model, train_log):
        hygiene = FileHygiene(
            train_log,
            minhasher=minhasher,
            sample_every=_sample_every(train_obj.size, options.sample_budget_bytes),
            sample_limit=None,
            leakage_from=val_scan.leakage_index if val_scan else None,
            leakage_severity=leakage,
            keep_keys=False,
        )
        with objects.open_lines(train_obj) as lines:
            train_scan = scan_lines(lines, rules=rules, log=train_log, hygiene=hygiene)
    _count_rules(train=train_scan, val=val_scan, validation_uri=validation_uri, model=model,
                 train_log=train_log, val_log=val_log)
    training = _file_report(DatasetRole.TRAINING, training_uri, train_obj, train_scan)
    report = DatasetReport(
        model=model.name,
        training=training,
        validation=None if validation_uri is None else _file_report(
            DatasetRole.VALIDATION, validation_uri, val_obj, val_scan),
        findings=tuple(sorted(
            train_log.findings() + val_log.findings() + eval_log.findings(),
            key=lambda f: (_ROLE_ORDER.index(f.dataset), f.line or 0),
        )),
        totals=train_log.totals() + val_log.totals() + eval_log.totals(),
        recommendation=recommend(model, training.stats),
        evaluation=None if evaluation_uri is None else _file_report(
            DatasetRole.EVALUATION, evaluation_uri, eval_obj, eval_scan),
    )
    if cache is not None and cache_key is not None:
        cache.put(cache_key, report)
    return report


_ROLE_ORDER = (DatasetRole.TRAINING, DatasetRole.VALIDATION, DatasetRole.EVALUATION)


def _scan_whole(
    objects: DatasetObjects, obj: DatasetObject | None, log: FindingLog, *, model: BaseModel,
    rules: ExampleRules, minhasher: MinHasher, leakage: Severity, keep_keys: bool,
) -> ScanResult | None:
    """A validation or evaluation file: every example sampled (up to the limit), no leakage
    lookup of its own; `keep_keys` keeps the index the training pass looks leakage up in."""
    if obj is None or not _readable(obj, model, log):
        return None
    hygiene = FileHygiene(log, minhasher=minhasher, sample_every=1,
                          sample_limit=VALIDATION_SAMPLE_LIMIT, leakage_from=None,
                          leakage_severity=leakage, keep_keys=keep_keys)
    with objects.open_lines(obj) as lines:
        return scan_lines(lines, rules=rules, log=log, hygiene=hygiene)


def _stat(objects: DatasetObjects, uri: str, log: FindingLog) -> DatasetObject | None:
    try:
        return objects.stat(uri)
    except DatasetNotFound as exc:
        log.add(FindingKind.UNREADABLE, str(exc).removeprefix(f"{uri}: "))
        return None


def _readable(obj: DatasetObject, model: BaseModel, log: FindingLog) -> bool:
    """The size check, before a byte is read."""
    limit = model.max_training_file_bytes
    if obj.size > limit:
        log.add(
            FindingKind.FILE_TOO_LARGE,
            f"{obj.size:,} bytes, over {model.name}'s {limit:,}-byte limit for a JSONL file;"
            " split the data or sample it down (not read further)",
        )
        return False
    return True


def _sample_every(size: int, budget: int | None) -> int:
    if budget is None or budget <= 0:
        return 1
    return max(1, math.ceil(size / budget))


def _count_rules(
    *,
    train: ScanResult | None,
    val: ScanResult | None,
    validation_uri: str | None,
    model: BaseModel,
    train_log: FindingLog,
    val_log: FindingLog,
) -> None:
    if train is not None:
        n = train.stats.examples
        multimodal = train.stats.file_parts > 0
        most = model.training_limit(multimodal=multimodal)
        if most is not None and n > most:
            kind = "multimodal" if multimodal else "text-only"
            train_log.add(FindingKind.TOO_MANY_TRAINING_EXAMPLES,
                          f"{n:,} examples; {model.name} tunes on at most {most:,} {kind}"
                          " training examples (catalog rule: max training examples)")
        if n < MIN_EXAMPLES:
            train_log.add(FindingKind.TOO_FEW_EXAMPLES,
                          f"{n} valid examples; supervised tuning needs at least {MIN_EXAMPLES}")
        elif n < RECOMMENDED_MIN_EXAMPLES:
            train_log.add(FindingKind.FEW_EXAMPLES,
                          f"{n} examples; aim for 100-500 (seed 001: classification 100+,"
                          " summarization 100-500+)")
    if validation_uri is None:
        train_log.add(FindingKind.NO_VALIDATION_SET,
                      "no validation set; keep a separate one to see over-fitting (seed 004)")
    elif val is not None:
        n = val.stats.examples
        if n == 0:
            val_log.add(FindingKind.TOO_FEW_EXAMPLES, "the validation set has no valid examples")
        elif n > (most := model.validation_limit(train.stats.examples if train else None)):
            training = f" with {train.stats.examples:,} training examples" if train else ""
            val_log.add(FindingKind.TOO_MANY_VALIDATION_EXAMPLES,
                        f"{n:,} examples; {model.name} takes at most {most:,} validation"
                        f" examples{training} (catalog rule: validation-set size,"
                        f" {model.validation_rule()})")


def _file_report(
    role: DatasetRole, uri: str, obj: DatasetObject | None, scan: ScanResult | None
) -> DatasetFileReport:
    return DatasetFileReport(
        role=role,
        uri=uri,
        object=obj,
        read=scan is not None,
        format=scan.format if scan else DatasetFormat.UNKNOWN,
        stats=scan.stats if scan else EMPTY_STATS,
        sampled_examples=scan.sampled_examples if scan else 0,
    )


CacheKey = tuple[BaseModel, CheckOptions, DatasetObject, DatasetObject | None,
                 DatasetObject | None]


class DatasetCheckCache(Lru[CacheKey, DatasetReport]):
    """Reports by (model, options, object versions): a changed object is checked again.

    Bounded (least recently used out first) and safe to share between threads.
    """


__all__ = ["CheckOptions", "DatasetCheckCache", "check_dataset"]
