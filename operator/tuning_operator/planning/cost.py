"""What one job is expected to cost: training tokens × epochs, the evaluation's predictions.

Pure arithmetic on figures others measured: the pre-flight counts the training set's tokens
(`specs.tokens` is the one token estimate), the job file or the catalog gives the epochs, the
policy gives the prices. Nothing here guesses a price: a model the policy does not price has
tokens and a `None` cost, and an estimate without the datasets read is `unknown` with the
reason, never zero (a budget must not admit a job because nobody looked at its data).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from tuning_operator.specs.catalog import BaseModel
from tuning_operator.specs.money import Prices

if TYPE_CHECKING:  # `plan` imports no judging (issue 31, P7)
    from tuning_operator.judging.usage import Usage

PER = 1_000_000  # prices are per 1M tokens


@dataclass(frozen=True)
class Estimate:
    """One job's expected tokens and cost; `unknown` says why there are no figures."""

    training_tokens: int | None = None  # dataset tokens × epochs
    prediction_tokens: int | None = None  # the evaluation's questions and answers
    epochs: int | None = None
    epochs_assumed: bool = False  # left to Vertex: the catalog's default epochs were assumed
    cost: float | None = None  # None: unpriced (a model not in the policy's table) or unknown
    currency: str | None = None
    unknown: str | None = None
    model: str | None = None  # the base model: the price table's key

    @property
    def known(self) -> bool:
        return self.unknown is None and self.training_tokens is not None

    def short(self) -> str:
        """One line for `plan`: `≈41.2M training tokens (3 epochs, assumed), $206.00`."""
        if not self.known:
            return f"estimate unknown: {self.unknown or 'no token count'}"
        epochs = "" if self.epochs is None else (
            f" ({self.epochs} epochs{', assumed' if self.epochs_assumed else ''})")
        line = f"≈{tokens_text(self.training_tokens or 0)} training tokens{epochs}"
        if self.prediction_tokens:
            line += f" + {tokens_text(self.prediction_tokens)} prediction tokens"
        if self.cost is None:
            return line + ", unpriced"
        return line + f", {money_text(self.cost, self.currency)}"

    def to_dict(self) -> dict[str, object]:
        """The JSON form (`plan --format json`, events): `null` where unknown or unpriced."""
        return {"estimatedTrainingTokens": self.training_tokens,
                "predictionTokens": self.prediction_tokens, "epochs": self.epochs,
                "epochsAssumed": self.epochs_assumed,
                "estimatedCost": None if self.cost is None else round(self.cost, 2),
                "currency": self.currency, "unknown": self.unknown}


def unknown(reason: str) -> Estimate:
    return Estimate(unknown=reason)


class Counted(Protocol):
    """What the dataset pre-flight counted of one job (`datasets.jobcheck.JobDatasetCheck`)."""

    @property
    def training_tokens(self) -> int | None: ...

    @property
    def epochs(self) -> int | None:
        """The epochs a create sends; None: left to Vertex."""

    @property
    def model(self) -> BaseModel | None: ...

    @property
    def prediction_tokens(self) -> int | None: ...


def estimate_of(counted: Counted) -> Estimate:
    """The unpriced estimate of a pre-flight's answer."""
    return estimate_job(dataset_tokens=counted.training_tokens, epochs=counted.epochs,
                        model=counted.model, prediction_tokens=counted.prediction_tokens)


def estimate_job(*, dataset_tokens: int | None, epochs: int | None, model: BaseModel | None,
                 prediction_tokens: int | None = None) -> Estimate:
    """The tokens from the training set's count (once) and the epochs that will be sent;
    `priced` adds the cost.

    `epochs` None: the job leaves them to Vertex, and the model's default in the catalog is
    assumed (and said to be); without one the estimate is unknown.
    """
    if dataset_tokens is None:
        return unknown("the training set's tokens were not counted")
    assumed = epochs is None
    if epochs is None:
        epochs = model.default_epoch_count if model is not None else None
        if epochs is None:
            return unknown("epochs are left to Vertex and the catalog has no default to assume")
    return Estimate(training_tokens=dataset_tokens * epochs, prediction_tokens=prediction_tokens,
                    epochs=epochs, epochs_assumed=assumed,
                    model=model.name if model is not None else None)


def priced(estimate: Estimate, prices: Prices | None, *,
           billed: Usage | None = None) -> Estimate:
    """The estimate with its cost by the policy's table, when every part of it has a price.

    Training at its price, predictions at the output price (an upper bound: the split of a
    prediction's tokens into prompt and answer is not known before it runs), or, `billed`,
    the predictions Vertex billed, each side at its own price. A part without a price leaves
    the whole unpriced: a partial sum would read as the total.
    """
    if prices is None or not estimate.known:
        return estimate
    currency = replace(estimate, currency=prices.currency, cost=None)
    price = prices.training_price(estimate.model)
    if price is None:
        return currency
    total = (estimate.training_tokens or 0) * price / PER
    if billed is not None or estimate.prediction_tokens:
        rates = prices.prediction.get(estimate.model or "")
        if rates is None:
            return currency
        total += (billed.input * rates.input + billed.output * rates.output if billed
                  else (estimate.prediction_tokens or 0) * rates.output) / PER
    return replace(currency, cost=total)


def tokens_text(tokens: int) -> str:
    """41200000 → `41.2M`; 950 → `950`."""
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "k")):
        if tokens >= size:
            return f"{tokens / size:.1f}{suffix}"
    return str(tokens)


def money_text(amount: float, currency: str | None) -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency or "")
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {currency or ''}".rstrip()
