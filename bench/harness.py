"""Shared reporting for benchmarks: a readable table, then one JSON line.

Every ``bench/NAME.py`` ends by calling :func:`report`, so ``make bench`` and
CI tooling can read the last line of each script as
``{"bench": NAME, "figures": {FIGURE: {"value", "unit", "target", "better"}}}``.

Each report ends with two figures of the machine itself, the cost of a Python call and
of a Decimal addition, to set beside the floors the issues were written against (17 ns
and 24 ns). They are tight loops: they do not show the hour-to-hour swings of work with
a large memory footprint, such as the order path (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Figure:
    """One measured number with its unit, target and direction."""

    name: str
    value: float
    unit: str
    target: float | None
    better: str  # "higher" or "lower"

    @property
    def meets_target(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.better == "higher" else self.value <= self.target


def parse_args(description: str) -> argparse.Namespace:
    """The arguments every benchmark accepts (``--quick`` for a small size)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="run a small size in a few seconds")
    return parser.parse_args()


def best_rate(work: Callable[[], int], repeats: int) -> float:
    """Run ``work`` (which returns how many operations it did) and keep the best rate/s."""
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        done = work()
        elapsed = time.perf_counter() - start
        best = max(best, done / elapsed)
    return best


def machine_figures(loops: int = 1_000_000) -> list[Figure]:
    """What a Python call and a Decimal addition cost here now (ns, best of five, the
    empty loop subtracted)."""
    names = {"f": lambda: None, "a": Decimal("42000.12"), "b": Decimal("0.0001")}

    def cost(statement: str) -> float:
        timings = timeit.repeat(
            f"for _ in r: {statement}", f"r = range({loops})", number=1, repeat=5, globals=names
        )
        return min(timings)

    empty = cost("pass")
    call, add = ((cost(statement) - empty) / loops * 1e9 for statement in ("f()", "a + b"))
    return [
        Figure("machine_python_call_ns", call, "ns", None, "lower"),
        Figure("machine_decimal_add_ns", add, "ns", None, "lower"),
    ]


def report(bench: str, figures: list[Figure]) -> None:
    """Print a table of figures (the machine's own last) and, as the very last line, their
    JSON form."""
    figures = [*figures, *machine_figures()]
    width = max(len(f.name) for f in figures)
    print(f"{'figure':<{width}}  {'value':>16}  {'unit':<10}  {'target':>14}  verdict")
    for f in figures:
        target = "-" if f.target is None else f"{f.target:,.0f}"
        verdict = {True: "meets", False: "MISSES", None: "-"}[f.meets_target]
        print(f"{f.name:<{width}}  {f.value:>16,.1f}  {f.unit:<10}  {target:>14}  {verdict}")
    payload = {
        "bench": bench,
        "figures": {
            f.name: {"value": f.value, "unit": f.unit, "target": f.target, "better": f.better}
            for f in figures
        },
    }
    print(json.dumps(payload))
