"""P8: status events through the operator's outbox and publisher vs the raw PublisherClient.

Both publish the same events to the official Pub/Sub emulator in the same run, alternating,
each on a fresh topic: the raw client with the operator's batching and ordering settings (the
ceiling), and the operator's path (fsync'd outbox, one `append_all` per reconcile pass,
background publisher, ordering per job). After every run an ordered subscription is read back
to check each job's events arrived complete and in order (not timed). The same functions back
`bench/pubsub_publish.py`, which also shows the outbox's other append modes.
"""

from __future__ import annotations

from harness import Figure, Suite, median
from pubsub_publish import order_kept, outbox_per_pass, raw_client

from tests.support.pubsub_emulator import EmulatorUnavailable, PubSubEmulator
from tests.support.status_events import numbered_events


def measure(*, jobs: int, steps: int, runs: int) -> Suite:
    suite = Suite("P8 — events published to Pub/Sub")
    streams = [numbered_events(f"job-{j:03d}", steps) for j in range(jobs)]
    passes = [[stream[step] for stream in streams] for step in range(steps)]
    total = jobs * steps
    times: dict[str, list[float]] = {"raw": [], "outbox": []}
    ordered = True
    try:
        with PubSubEmulator() as emulator:
            for attempt in range(runs):
                for mode, publish in (("raw", raw_client), ("outbox", outbox_per_pass)):
                    topic_id = f"bench-{mode}-{attempt}"
                    topic = emulator.create_topic(topic_id)
                    subscription = emulator.create_subscription(f"{topic_id}-sub", topic)
                    times[mode].append(publish(topic, passes))
                    ordered = ordered and order_kept(emulator, subscription, jobs, steps)
    except EmulatorUnavailable as error:
        suite.notes.append(f"not measured: the Pub/Sub emulator is unavailable ({error})")
        return suite
    raw, ours = total / median(times["raw"]), total / median(times["outbox"])
    suite.figures.append(Figure(
        "P8", f"events/s through the outbox, {total:,} events of {jobs} jobs", ours, "events/s",
        "≥ 0.5×", ours >= 0.5 * raw and ordered, floor=raw, floor_what="raw PublisherClient",
        runs=runs))
    suite.notes.append(f"order per job kept in every run: {'yes' if ordered else 'NO'}")
    return suite
