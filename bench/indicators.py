"""Streaming update cost of every indicator, per bar, with its vectorized cost alongside.

A seeded geometric random walk of OHLCV bars (prices near 42,000 on a 0.01 tick) is made
once as Python floats; each indicator in ``INDICATORS``, with its default parameters, is
built fresh and fed every bar through ``update_bar`` (the call a live strategy or an
event-driven backtest makes), and the best of a few passes gives nanoseconds per bar.
The vectorized form runs over the same arrays for comparison. Streaming work per bar is
O(1), so the figure should not grow with the number of bars (``--quick`` uses fewer).
Target: 10 us per bar for every streaming indicator (a bar a second per instrument across
thousands of instruments on one core).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from harness import Figure, parse_args, report
from omoitrade.strategy.indicators import INDICATORS

STREAMING_TARGET_NS = 10_000


def random_walk(count: int, seed: int = 7) -> tuple[np.ndarray, ...]:
    """Open, high, low, close, volume arrays of a geometric random walk in 30 sub-steps."""
    rng = np.random.default_rng(seed)
    shocks = rng.normal(0.0, 0.002 / np.sqrt(30), (count, 30))
    path = np.round(42_000.0 * np.exp(np.cumsum(shocks.ravel())).reshape(count, 30), 2)
    volume = np.round(rng.lognormal(3.0, 0.6, count), 4)
    return path[:, 0], path.max(axis=1), path.min(axis=1), path[:, -1], volume


def streaming_ns_per_bar(name: str, rows: list[tuple[float, ...]], repeats: int) -> float:
    spec = INDICATORS[name]
    best = float("inf")
    for _ in range(repeats):
        update = spec.create().update_bar
        start = time.perf_counter_ns()
        for o, h, low, c, v in rows:
            update(o, h, low, c, v)
        best = min(best, (time.perf_counter_ns() - start) / len(rows))
    return best


def vectorized_ns_per_bar(name: str, arrays: tuple[np.ndarray, ...], repeats: int) -> float:
    spec = INDICATORS[name]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter_ns()
        spec.compute(*arrays)
        best = min(best, (time.perf_counter_ns() - start) / len(arrays[0]))
    return best


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    count, repeats = (20_000, 2) if args.quick else (200_000, 5)
    arrays = random_walk(count)
    rows = list(zip(*(a.tolist() for a in arrays), strict=True))
    print(f"{count:,} bars, best of {repeats} passes, default parameters")
    figures = []
    for name in INDICATORS:
        streaming = streaming_ns_per_bar(name, rows, repeats)
        vectorized = vectorized_ns_per_bar(name, arrays, repeats)
        figures.append(
            Figure(f"{name}_stream_ns", streaming, "ns/bar", STREAMING_TARGET_NS, "lower")
        )
        figures.append(Figure(f"{name}_vector_ns", vectorized, "ns/bar", None, "lower"))
    report("indicators", figures)


if __name__ == "__main__":
    main()
