"""The dataset pre-flight of one job file: verdict, billable tokens, hyperparameters to send.

`validate --check-datasets`, `plan --check-datasets` and the operator all ask the same question
of a job — may it be created, and with which hyperparameters — so they share this answer.
`preset: recommended` is resolved here, from the training set's statistics; explicit values are
sent as written. Reports are cached by URI and object generation: a dataset is read again only
when it changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuning_operator.datasets.objects import DatasetObjects
from tuning_operator.datasets.preflight import CheckOptions, DatasetCheckCache, check_dataset
from tuning_operator.datasets.report import DatasetReport, Verdict
from tuning_operator.specs import Catalog, LoadedJob, default_catalog
from tuning_operator.specs.catalog import BaseModel
from tuning_operator.specs.model import HyperParameters


@dataclass(frozen=True)
class JobDatasetCheck:
    """What the pre-flight says about one job."""

    job: str
    verdict: Verdict
    reason: str
    billable_tokens: int | None  # None: Vertex picks the epochs
    chosen: HyperParameters | None  # as written in the job file
    send: HyperParameters | None  # what a create sends (the preset resolved)
    report: DatasetReport | None
    # What a cost estimate needs (`planning.cost.estimate_of`): the training set's tokens once,
    # the epochs sent (None: left to Vertex), the model, the evaluation's prediction tokens.
    training_tokens: int | None = None
    epochs: int | None = None
    model: BaseModel | None = None
    prediction_tokens: int | None = None

    @property
    def blocks_create(self) -> bool:
        return self.verdict is Verdict.ERRORS

    @property
    def generations(self) -> dict[str, str]:
        """The training and validation objects' generations this check read (URI → generation):
        what a create now trains on."""
        files = (self.report.training, self.report.validation) if self.report else ()
        return {f.uri: f.object.generation for f in files if f is not None and f.object}

    def summary(self) -> str:
        """One line for `plan`: verdict, billable tokens, recommended vs chosen."""
        tokens = (f"≈{self.billable_tokens:,} billable tokens" if self.billable_tokens is not None
                  else "billable tokens: epochs chosen by Vertex")
        parts = [f"dataset {self.verdict.value}", tokens]
        if self.report is not None:
            rec = self.report.recommendation
            values = _values(rec.epoch_count, rec.adapter_size, rec.learning_rate_multiplier)
            parts.append(f"recommended {values}")
        chosen = self.chosen
        if chosen is None or chosen.preset is not None:
            parts.append("chosen: preset/defaults")
        else:
            values = _values(chosen.epoch_count, chosen.adapter_size,
                             chosen.learning_rate_multiplier)
            parts.append(f"chosen {values}")
        if self.blocks_create:
            parts.append(self.reason)
        return "; ".join(parts)


def _values(epochs: int | None, adapter: int | None, lr: float | None) -> str:
    def show(value: object) -> str:
        return "default" if value is None else str(value)

    return f"epochs {show(epochs)}, adapter {show(adapter)}, lr× {show(lr)}"


class JobDatasetChecker:
    """Checks a job's training and validation data against its base model, with a cache."""

    def __init__(self, *, catalog: Catalog | None = None, objects: DatasetObjects | None = None,
                 options: CheckOptions | None = None,
                 cache: DatasetCheckCache | None = None) -> None:
        self.catalog = catalog or default_catalog()
        self.objects = objects or DatasetObjects()
        self.options = options or CheckOptions()
        self.cache = cache or DatasetCheckCache()

    def check(self, loaded: LoadedJob) -> JobDatasetCheck:
        spec = loaded.job.spec
        base = loaded.base_model or spec.base_model
        chosen = spec.hyper_parameters
        if base is None:  # continues a tuned model named by resource: its base is not known
            return JobDatasetCheck(
                loaded.name, Verdict.WARNINGS,
                "continues tuning a model whose base model is not known offline: the dataset"
                " is left to Vertex's checks", None, chosen, chosen, None)
        model = self.catalog.get(base)
        if model is None:  # the loader rejects these; kept total for callers that did not load
            return JobDatasetCheck(loaded.name, Verdict.ERRORS, f"unknown base model {base}",
                                   None, chosen, None, None)
        report = check_dataset(spec.training_dataset, spec.validation_dataset, model=model,
                               objects=self.objects, options=self.options, cache=self.cache,
                               evaluation_uri=loaded.evaluation_dataset)
        rec = report.recommendation
        if chosen is not None and chosen.preset is None:
            send: HyperParameters | None = chosen
            epochs = chosen.epoch_count or rec.epoch_count
        else:
            send = HyperParameters(epoch_count=rec.epoch_count, adapter_size=rec.adapter_size,
                                   learning_rate_multiplier=rec.learning_rate_multiplier)
            epochs = rec.epoch_count
        tokens = report.billable_tokens(epochs) if epochs is not None else None
        return JobDatasetCheck(loaded.name, report.verdict, report.reason(), tokens, chosen,
                               send, report, training_tokens=report.training.stats.tokens_trained,
                               epochs=epochs, model=model,
                               prediction_tokens=_prediction_tokens(loaded, report))


def _prediction_tokens(loaded: LoadedJob, report: DatasetReport) -> int | None:
    """What the evaluation will ask of the tuned (and the base) model: each asked question
    with an answer about as long as its reference."""
    evaluation, stats = loaded.spec.evaluation, report.evaluation
    if evaluation is None or stats is None:
        return None
    asked = min(stats.stats.examples, evaluation.max_examples)
    return round(asked * stats.stats.tokens_mean * (2 if evaluation.baseline else 1))
