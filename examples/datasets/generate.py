"""Writes the demo's datasets (deterministic): `python examples/datasets/generate.py`.

The files under acme-tuning-datasets/ are what `make demo` uploads to a local fake-gcs-server
as gs://acme-tuning-datasets/…, so the operator's dataset pre-flight reads real objects.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).parent / "acme-tuning-datasets"
rng = random.Random(2026)

PRODUCTS = ["router", "smart plug", "thermostat", "doorbell camera", "mesh extender", "hub",
            "light strip", "smoke sensor", "garage opener", "water leak sensor", "desk lamp"]
QUEUES = {
    "shipping": ["my parcel never arrived", "tracking stopped updating {n} days ago",
                 "the courier left it at the wrong address", "the box arrived crushed"],
    "billing": ["I was charged twice for order {n}", "the invoice shows the wrong VAT number",
                "my refund of {n} euros is missing", "the subscription renewed without notice"],
    "returns": ["how do I send back the {p}", "the return label for order {n} does not print",
                "I want to swap the {p} for another colour", "the return window closed early"],
    "technical": ["the {p} drops off wifi every {n} minutes", "firmware update failed at {n}%",
                  "the app cannot find the {p}", "the {p} resets itself at night"],
    "account": ["I cannot log in after changing my email", "two-factor codes arrive late",
                "please delete my account and data", "my household members lost access"],
}
MOODS = ["", "This is the third time I write. ", "Urgent please. ", "Hi team, ",
         "Good morning, ", "Not happy at all. ", "Quick question: "]
TAILS = ["", " Thanks.", " Order placed in {m}.", " I use the {p} daily.", " Help!",
         " Reference {n}.", " Can someone call me back?"]
NAMES = ["Ana", "Bo", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea",
         "Mo", "Nia", "Oto", "Pia", "Raf", "Sol", "Tao", "Uma", "Vik", "Wen", "Yara", "Zed"]
PLANS = ["basic", "plus", "family", "business", "trial"]
COUNTRIES = ["PT", "DE", "JP", "FR", "BR", "IN", "US", "KE", "NL", "MX"]
MONTHS = ["January", "March", "May", "July", "September", "November"]


def fill(text: str) -> str:
    return text.format(n=rng.randint(2, 9999), p=rng.choice(PRODUCTS), m=rng.choice(MONTHS))


def example(user: str, model: str, system: str | None = None) -> dict[str, object]:
    line: dict[str, object] = {"contents": [{"role": "user", "parts": [{"text": user}]},
                                            {"role": "model", "parts": [{"text": model}]}]}
    if system:
        line["systemInstruction"] = {"role": "system", "parts": [{"text": system}]}
    return line


def tickets(count: int) -> list[dict[str, object]]:
    system = "Route the support ticket. Answer with the queue name only."
    out = []
    for _ in range(count):
        queue = rng.choice(list(QUEUES))
        text = fill(rng.choice(MOODS) + rng.choice(QUEUES[queue]) + rng.choice(TAILS))
        customer = f"{rng.choice(NAMES)} ({rng.choice(PLANS)} plan, {rng.choice(COUNTRIES)})"
        out.append(example(f"From {customer}. Ticket: {text}", queue, system))
    return out


def tone(count: int) -> list[dict[str, object]]:
    system = "Rewrite the agent's reply in Acme's house tone: warm, brief, no jargon."
    out = []
    for _ in range(count):
        product = rng.choice(PRODUCTS)
        issue = fill(rng.choice(rng.choice(list(QUEUES.values()))))
        draft = f"Per policy {rng.randint(10, 99)}.{rng.randint(1, 9)} re: {issue}. Pls advise."
        outcome = rng.choice(["a fix is on its way", "we have sent a new one", "we refunded you"])
        reply = (f"Thanks for telling us about your {product}. We've looked into it ({issue})"
                 f" and {outcome}.")
        out.append(example(f"Draft reply: {draft}", reply, system))
    return out


def incidents(count: int) -> list[dict[str, object]]:
    system = "Summarise the incident timeline as: Impact / Cause / Actions."
    services = ["checkout", "search", "login", "payments", "notifications", "inventory", "cdn"]
    causes = ["a bad config push", "an expired certificate", "disk exhaustion", "a deadlock",
              "a dependency timeout", "a noisy neighbour", "a schema migration"]
    out = []
    for _ in range(count):
        svc, cause = rng.choice(services), rng.choice(causes)
        start, minutes = rng.randint(0, 23), rng.randint(4, 180)
        timeline = (f"{start:02d}:{rng.randint(0, 59):02d} alerts fire for {svc};"
                    f" error rate {rng.randint(2, 90)}%; on-call paged; {cause} found after"
                    f" {minutes} min; rollback; recovery confirmed;"
                    f" ticket INC-{rng.randint(1000, 99999)}.")
        summary = (f"Impact: {svc} degraded for {minutes} minutes. Cause: {cause}."
                   f" Actions: add a guard against {cause.split(' ', 1)[1]}, review alerting.")
        out.append(example(timeline, summary, system))
    return out


def onboarding(count: int) -> list[dict[str, object]]:
    topics = ["VPN", "laptop setup", "on-call", "code review", "expenses", "holidays",
              "the deploy pipeline", "security training", "the wiki", "lunch options"]
    sections = ["§1.2", "§2.4", "§3.1", "§4.7", "§5.5", "§6.3", "§7.9"]
    out = []
    for _ in range(count):
        topic = rng.choice(topics)
        day = rng.choice(["first", "second", "third", "fourth", "fifth"])
        user = (f"It's my {day} day. {rng.choice(['How', 'Where', 'Who'])} do I handle {topic}"
                f" for team {rng.randint(1, 40)}?")
        answer = (f"Welcome! For {topic}, start with handbook {rng.choice(sections)}; your buddy"
                  f" can pair with you on {rng.choice(['Tuesday', 'Thursday', 'Friday'])}.")
        out.append(example(user, answer))
    return out


def distinct(make: Callable[[int], list[dict[str, object]]],
             count: int) -> list[dict[str, object]]:
    """`count` examples, none identical or near-identical to another (the pre-flight checks)."""
    kept: list[dict[str, object]] = []
    shingles: list[set[tuple[str, ...]]] = []
    while len(kept) < count:
        [candidate] = make(1)
        words = json.dumps(candidate).split()
        grams = {tuple(words[i:i + 3]) for i in range(len(words) - 2)}
        if all(len(grams & g) / len(grams | g) < 0.7 for g in shingles):
            kept.append(candidate)
            shingles.append(grams)
    return kept


def split(make: Callable[[int], list[dict[str, object]]], train: int,
          val: int) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    lines = distinct(make, train + val)
    return lines[:train], lines[train:]


def write(path: str, lines: list[dict[str, object]]) -> None:
    target = ROOT / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


if __name__ == "__main__":
    for base, make, train, val in (("support/tickets/%s-2026-11", tickets, 300, 50),
                                   ("support/tone/%s", tone, 140, 30),
                                   ("knowledge/incidents/%s", incidents, 200, 40),
                                   ("assistants/onboarding/%s", onboarding, 120, 0)):
        train_lines, val_lines = split(make, train, val)
        write(f"{base % 'train'}.jsonl", train_lines)
        if val_lines:
            write(f"{base % 'val'}.jsonl", val_lines)
