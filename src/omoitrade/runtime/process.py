"""Settings of the trading process itself, applied once start-up is done."""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 20_000  # allocations between young-generation collections (CPython: 700)


def tune_gc(gen0_threshold: int = GEN0_THRESHOLD) -> None:
    """Move everything built so far out of the collector's sight, and collect less often.

    The hot paths (matching, market data) allocate short-lived objects without cycles, so
    CPython's default of a young collection every 700 allocations pauses about one order
    operation in a hundred for nothing; the objects made at start-up (instruments, caches,
    imported modules) would be rescanned by every full collection. See docs/performance.md.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(gen0_threshold, 20, 100)
