"""Publish throughput of status events to the official Pub/Sub emulator: outbox vs raw client.

The outbox (fsync'd journal + background publisher + per-job ordering with resume) is what the
operator uses; the raw PublisherClient publishing the same messages with the same batching and
ordering settings is the ceiling. Each mode runs `--runs` times on a fresh topic; the table
shows the median, and after each run an ordered subscription is read back to check that every
job's events arrived complete and in order (not timed).

    .venv/bin/python bench/pubsub_publish.py [--jobs 20] [--steps 250] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.support

from tests.support.pubsub_emulator import PubSubEmulator
from tests.support.status_events import delivery_order, numbered_events
from tuning_operator.events.model import StatusEvent
from tuning_operator.events.outbox import Outbox
from tuning_operator.events.pubsub import PubSubSink, event_publisher

Run = Callable[[str, list[list[StatusEvent]]], float]


def raw_client(topic: str, passes: list[list[StatusEvent]]) -> float:
    """The ceiling: PublisherClient.publish for every event, then wait for every future."""
    client = event_publisher()
    started = time.perf_counter()
    futures = [
        client.publish(topic, e.data_bytes(), ordering_key=e.ordering_key, **e.attributes())
        for events in passes
        for e in events
    ]
    for future in futures:
        future.result(timeout=120)
    elapsed = time.perf_counter() - started
    client.stop()
    return elapsed


def outbox_per_event(topic: str, passes: list[list[StatusEvent]]) -> float:
    """The operator's path, one `append` (one fsync) per event."""
    return _through_outbox(topic, passes, batched=False)


def outbox_per_pass(topic: str, passes: list[list[StatusEvent]]) -> float:
    """The operator's path, one `append_all` (one fsync) per reconcile pass of all jobs."""
    return _through_outbox(topic, passes, batched=True)


def outbox_group_commit(topic: str, passes: list[list[StatusEvent]]) -> float:
    """One `append` per event, `sync_on_append=False`: the publisher fsyncs once per round."""
    return _through_outbox(topic, passes, batched=False, sync_on_append=False)


def _through_outbox(
    topic: str, passes: list[list[StatusEvent]], *, batched: bool, sync_on_append: bool = True
) -> float:
    sink = PubSubSink(topic)
    with tempfile.TemporaryDirectory() as directory:
        outbox = Outbox(Path(directory) / "outbox", sink, sync_on_append=sync_on_append)
        started = time.perf_counter()
        for events in passes:
            if batched:
                outbox.append_all(events)
            else:
                for event in events:
                    outbox.append(event)
        if not outbox.drain(timeout=300):
            raise RuntimeError("the outbox did not drain in 300 s")
        elapsed = time.perf_counter() - started
        outbox.close()
    sink.close()
    return elapsed


def order_kept(emulator: PubSubEmulator, subscription: str, jobs: int, steps: int) -> bool:
    received = emulator.receive(subscription, count=jobs * steps, timeout=120)
    order = delivery_order(item.event for item in received)
    return len(order) == jobs and all(s == list(range(steps)) for s in order.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--steps", type=int, default=250, help="events per job")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    streams = [numbered_events(f"job-{j:03d}", args.steps) for j in range(args.jobs)]
    passes = [[stream[step] for stream in streams] for step in range(args.steps)]
    total = args.jobs * args.steps
    modes: list[tuple[str, Run]] = [
        ("raw PublisherClient", raw_client),
        ("outbox, append per event", outbox_per_event),
        ("outbox, append_all per pass", outbox_per_pass),
        ("outbox, append, group commit", outbox_group_commit),
    ]
    results: dict[str, tuple[float, bool]] = {}
    with PubSubEmulator() as emulator:
        for name, run in modes:
            times, ordered = [], True
            for attempt in range(args.runs):
                topic_id = f"bench-{len(results)}-{attempt}"
                topic = emulator.create_topic(topic_id)
                subscription = emulator.create_subscription(f"{topic_id}-sub", topic)
                times.append(run(topic, passes))
                ordered = ordered and order_kept(emulator, subscription, args.jobs, args.steps)
            results[name] = (statistics.median(times), ordered)
    ceiling = total / results[modes[0][0]][0]
    print(f"{total} events ({args.jobs} jobs × {args.steps}), median of {args.runs} runs\n")
    print(f"| {'mode':<28} | {'median s':>8} | {'events/s':>8} | {'× raw':>5} | order kept |")
    print(f"|{'-' * 30}|{'-' * 10}|{'-' * 10}|{'-' * 7}|------------|")
    for name, (seconds, ordered) in results.items():
        rate = total / seconds
        print(
            f"| {name:<28} | {seconds:>8.3f} | {rate:>8.0f} | {rate / ceiling:>5.2f} |"
            f" {'yes' if ordered else 'NO':<10} |"
        )


if __name__ == "__main__":
    main()
