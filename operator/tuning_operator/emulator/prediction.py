"""The emulated PredictionService.GenerateContent: scripted answers of base and tuned models.

A tuned model is only worth what it answers, so the operator's evaluation must be tested over
the wire against answers a test chooses. Scripts are a list of
`{"model": BASE_MODEL_ID | "tuned:" + TUNED_MODEL_DISPLAY_NAME, "answers": {PROMPT: ANSWER},
"default": TEXT}`, where PROMPT is the text of the request's last `user` turn (a request with
more than one `user` turn, a few-shot prompt, is answered by `"fewshot:" + BASE_MODEL_ID` when
that script exists, so a test can make examples help the base model; a checkpoint's endpoint
by `"tuned:" + DISPLAY_NAME + "@" + CHECKPOINT_ID` before `"tuned:" + DISPLAY_NAME`); set them with
`--answers FILE` or `POST /emulator/answers`. A model is addressed as Vertex addresses it:
`projects/P/locations/L/publishers/google/models/BASE` (a base model of the catalog) or the
`tuned_model.endpoint` (or a checkpoint's endpoint) of a job that SUCCEEDED; anything else is
NOT_FOUND. Calls are counted and faulted like the tuning service's. Transport-free: the gRPC and
REST fronts call `generate_content` with the real aiplatform_v1 types.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import orjson
from google.cloud import aiplatform_v1

from tuning_operator.emulator.faults import CallLedger, FaultInjector
from tuning_operator.emulator.service import CountedService
from tuning_operator.emulator.status import ApiError, invalid_argument
from tuning_operator.emulator.store import JobStore
from tuning_operator.specs.catalog import Catalog
from tuning_operator.specs.tokens import estimate_tokens

METHOD = "GenerateContent"
TUNED_PREFIX = "tuned:"
FEW_SHOT_PREFIX = "fewshot:"
UNSCRIPTED = "emulated answer of {model}"  # the answer when no script covers a model
_PUBLISHER = re.compile(
    r"^(projects/[^/]+/locations/[^/]+/)?publishers/(?P<publisher>[^/]+)/models/(?P<model>[^/]+)$"
)
_ENDPOINT = re.compile(r"^projects/[^/]+/locations/[^/]+/endpoints/[^/]+$")


@dataclass(frozen=True)
class AnswerScript:
    """The answers of one model: by prompt, else the default."""

    model: str
    answers: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None

    def answer(self, prompt: str) -> str:
        if prompt in self.answers:
            return self.answers[prompt]
        return self.default if self.default is not None else UNSCRIPTED.format(model=self.model)


def parse_scripts(document: Any) -> dict[str, AnswerScript]:
    """Scripts by model key from their JSON form; ValueError names what is wrong."""
    if isinstance(document, dict) and "scripts" in document:
        document = document["scripts"]
    if not isinstance(document, list):
        raise ValueError("answers must be a JSON list of {model, answers, default}")
    scripts: dict[str, AnswerScript] = {}
    for index, entry in enumerate(document):
        if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
            raise ValueError(f"answers[{index}] needs a `model` string")
        unknown = set(entry) - {"model", "answers", "default"}
        if unknown:
            raise ValueError(f"answers[{index}]: unknown keys {sorted(unknown)}")
        answers = entry.get("answers") or {}
        default = entry.get("default")
        if not isinstance(answers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in answers.items()
        ):
            raise ValueError(f"answers[{index}].answers must map prompt strings to answers")
        if default is not None and not isinstance(default, str):
            raise ValueError(f"answers[{index}].default must be a string")
        scripts[entry["model"]] = AnswerScript(entry["model"], dict(answers), default)
    return scripts


def load_scripts(path: Path) -> dict[str, AnswerScript]:
    """Scripts from a JSON file (the `--answers FILE` option)."""
    try:
        return parse_scripts(orjson.loads(path.read_bytes()))
    except orjson.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON: {error}") from None
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


class ScriptedAnswers:
    """The current scripts; replaced whole (admin route), read by every call. Thread-safe."""

    def __init__(self, scripts: Mapping[str, AnswerScript] | None = None) -> None:
        self._lock = threading.Lock()
        self._scripts = dict(scripts or {})
        self._billed = {"input": 0, "output": 0}  # what usage_metadata reported, in all

    def bill(self, *, prompt: int, answer: int) -> None:
        with self._lock:
            self._billed["input"] += prompt
            self._billed["output"] += answer

    def billed(self) -> dict[str, int]:
        """Every response's usage_metadata added up (`GET /emulator/usage`): Vertex's bill."""
        with self._lock:
            return dict(self._billed)

    def replace(self, scripts: Mapping[str, AnswerScript]) -> None:
        with self._lock:
            self._scripts = dict(scripts)

    def has(self, model: str) -> bool:
        with self._lock:
            return model in self._scripts

    def answer(self, model: str, prompt: str) -> str:
        with self._lock:
            script = self._scripts.get(model)
        return script.answer(prompt) if script else UNSCRIPTED.format(model=model)

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"model": s.model, "answers": dict(s.answers), "default": s.default}
                    for s in self._scripts.values()]


def last_user_text(contents: Any) -> str:
    """The text of the last `user` turn (its text parts joined): the script's PROMPT."""
    for content in reversed(list(contents)):
        if content.role == "user":
            return "".join(part.text for part in content.parts)
    raise invalid_argument("contents has no `user` turn; send at least one user message.")


class PredictionService(CountedService):
    """GenerateContent for base models of the catalog and tuned endpoints of the job store."""

    def __init__(self, store: JobStore, *, catalog: Catalog, answers: ScriptedAnswers,
                 faults: FaultInjector, ledger: CallLedger) -> None:
        super().__init__(store, faults=faults, ledger=ledger)
        self.catalog = catalog
        self.answers = answers

    def generate_content(
        self, request: aiplatform_v1.GenerateContentRequest
    ) -> aiplatform_v1.GenerateContentResponse:
        self._enter(METHOD)
        if not request.contents:
            raise invalid_argument("contents is not specified.")
        key = self.model_key(request.model)
        users = sum(1 for content in request.contents if content.role == "user")
        if users > 1 and self.answers.has(FEW_SHOT_PREFIX + key):
            key = FEW_SHOT_PREFIX + key
        prompt = last_user_text(request.contents)
        text = self.answers.answer(key, prompt)
        # The one token estimate of the pre-flight, so evaluation costs add up the same way.
        asked, answered = (estimate_tokens(len(t.encode("utf-8"))) for t in (prompt, text))
        self.answers.bill(prompt=asked, answer=answered)
        return aiplatform_v1.GenerateContentResponse(
            candidates=[aiplatform_v1.Candidate(
                index=0,
                content=aiplatform_v1.Content(role="model", parts=[aiplatform_v1.Part(text=text)]),
                finish_reason=aiplatform_v1.Candidate.FinishReason.STOP,
            )],
            model_version=key,
            usage_metadata=aiplatform_v1.GenerateContentResponse.UsageMetadata(
                prompt_token_count=asked, candidates_token_count=answered,
                total_token_count=asked + answered,
            ),
        )

    def model_key(self, model: str) -> str:
        """The script key of a resource name: BASE or `tuned:` + display name; else NOT_FOUND."""
        match = _PUBLISHER.match(model)
        if match is not None:
            if match["publisher"] == "google" and self.catalog.get(match["model"]) is not None:
                return match["model"]
            raise ApiError(grpc.StatusCode.NOT_FOUND,
                           f"Publisher Model `{model}` not found.")
        if _ENDPOINT.match(model):
            job = self.store.served_by(model)
            if job is not None:
                key = TUNED_PREFIX + (job.tuned_model_display_name or job.name.rsplit("/", 1)[1])
                for checkpoint in job.tuned_model.checkpoints:
                    by_checkpoint = f"{key}@{checkpoint.checkpoint_id}"
                    if checkpoint.endpoint == model and self.answers.has(by_checkpoint):
                        return by_checkpoint
                return key
            raise ApiError(grpc.StatusCode.NOT_FOUND, f"Endpoint `{model}` not found.")
        raise invalid_argument(
            f"model {model!r} is neither projects/P/locations/L/publishers/google/models/M nor"
            " projects/P/locations/L/endpoints/E."
        )
