"""Benchmark of the in-process message bus: deliveries per second.

Measures the synchronous publish hot path: one subscriber, ten subscribers on
the same topic (deliveries = publishes x 10) and one wildcard subscriber fed a
rotating set of concrete topics (each resolved once, then served from the cache).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import Figure, best_rate, parse_args, report
from omoitrade.core.bus import MessageBus

TOPIC = "bench.tick.a"
WILDCARD_TOPICS = tuple(f"bench.tick.{i}" for i in range(64))


def counting_handler() -> tuple[Callable[[object], None], Callable[[], int]]:
    """A minimal but real subscriber (increments a closure cell) and its reader."""
    count = 0

    def handle(message: object) -> None:
        nonlocal count
        count += 1

    def read() -> int:
        return count

    return handle, read


def exact_topic(publishes: int, subscribers: int) -> Callable[[], int]:
    """Work function: ``publishes`` publishes to ``subscribers`` exact subscribers."""
    bus = MessageBus()
    readers = []
    for _ in range(subscribers):
        handle, read = counting_handler()
        bus.subscribe(TOPIC, handle)
        readers.append(read)
    publish = bus.publish

    def work() -> int:
        before = sum(read() for read in readers)
        message = object()
        for _ in range(publishes):
            publish(TOPIC, message)
        delivered = sum(read() for read in readers) - before
        assert delivered == publishes * subscribers, (delivered, publishes * subscribers)
        return delivered

    return work


def wildcard_topics(publishes: int) -> Callable[[], int]:
    """Work function: one ``bench.*`` subscriber fed 64 rotating concrete topics."""
    bus = MessageBus()
    handle, read = counting_handler()
    bus.subscribe("bench.*", handle)
    publish = bus.publish
    rounds = max(1, publishes // len(WILDCARD_TOPICS))

    def work() -> int:
        before = read()
        message = object()
        for _ in range(rounds):
            for topic in WILDCARD_TOPICS:
                publish(topic, message)
        delivered = read() - before
        assert delivered == rounds * len(WILDCARD_TOPICS), delivered
        return delivered

    return work


def main() -> None:
    """Run the measurements and print the report."""
    args = parse_args(__doc__.splitlines()[0])
    publishes, repeats = (150_000, 5) if args.quick else (600_000, 15)
    one = best_rate(exact_topic(publishes, 1), repeats)
    ten = best_rate(exact_topic(publishes // 5, 10), repeats)
    wildcard = best_rate(wildcard_topics(publishes), repeats)
    report(
        "bus",
        [
            Figure("deliveries_per_s_1_subscriber", one, "1/s", 3_000_000, "higher"),
            Figure("deliveries_per_s_10_subscribers", ten, "1/s", 3_000_000, "higher"),
            Figure("deliveries_per_s_wildcard", wildcard, "1/s", None, "higher"),
        ],
    )


if __name__ == "__main__":
    main()
