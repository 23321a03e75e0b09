"""Market-data ticks per second: normalization, anomaly checks and the bus to one strategy.

Each tick is a synthetic-venue dict (80% quotes, 20% trades of a seeded random
walk, 1 ms apart, four instruments) handed to ``MarketDataPipeline.on_raw``:
normalized to a model object with exact Decimals, checked by the anomaly
detector (with its rolling robust statistics), fed to the bar aggregator (all
six timeframes) and published to one strategy handler subscribed to
``data.quotes.*`` and ``data.trades.*``. Throughput is the best of a few runs
without per-tick timing; latency is ``perf_counter_ns`` around each
``on_raw`` call. A breakdown of the CPU cost per quote by stage is printed first.
Targets: 100,000 ticks/s, p99 under 50 us.
"""

from __future__ import annotations

import math
import random
import sys
import time
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from harness import Figure, best_rate, parse_args, report
from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import SimulatedClock
from omoitrade.core.ids import IdGenerator
from omoitrade.data.anomalies import AnomalyDetector
from omoitrade.data.bars import BarAggregator
from omoitrade.data.normalize import SYNTHETIC, Normalizer, SymbolMap
from omoitrade.data.pipeline import MarketDataPipeline
from omoitrade.model import Instrument, InstrumentType, Quote
from omoitrade.runtime.process import tune_gc

START_NS = 1_704_189_600_000_000_000  # 2024-01-02 10:00 UTC
SYMBOLS = ("BTCUSD", "ETHUSD", "SOLUSD", "XRPUSD")
PRICES = (42000.0, 2200.0, 95.0, 0.62)


def instruments() -> list[Instrument]:
    return [
        Instrument.create(
            "SIM",
            f"{symbol[:3]}/USD",
            instrument_type=InstrumentType.SPOT,
            base_currency=symbol[:3],
            quote_currency="USD",
            tick_size=Decimal("0.0001") if price < 1 else Decimal("0.01"),
            lot_size=Decimal("0.0001"),
            min_quantity=Decimal("0.0001"),
        )
        for symbol, price in zip(SYMBOLS, PRICES, strict=True)
    ]


def payloads(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Synthetic-venue quotes and trades of a random walk per instrument, 1 ms apart."""
    rng = random.Random(seed)
    mids = list(PRICES)
    out: list[dict[str, Any]] = []
    for i in range(count):
        k = i % len(SYMBOLS)
        mids[k] *= math.exp(rng.gauss(0, 1e-4))
        places = 4 if PRICES[k] < 1 else 2
        step = 10.0**-places
        bid = round(mids[k] - step, places)
        ts = START_NS + i * 1_000_000
        if rng.random() < 0.8:
            out.append(
                {
                    "type": "quote",
                    "sym": SYMBOLS[k],
                    "ts": ts,
                    "bp": f"{bid:.{places}f}",
                    "bq": f"{rng.randint(1, 50_000) / 10_000:.4f}",
                    "ap": f"{bid + 2 * step:.{places}f}",
                    "aq": f"{rng.randint(1, 50_000) / 10_000:.4f}",
                }
            )
        else:
            out.append(
                {
                    "type": "trade",
                    "sym": SYMBOLS[k],
                    "ts": ts,
                    "px": f"{bid:.{places}f}",
                    "qty": f"{max(1, round(math.exp(rng.gauss(7, 1.2)))) / 10_000:.4f}",
                    "side": "S",
                    "id": f"t{i}",
                }
            )
    return out


class Strategy:
    """The one subscriber: counts ticks and keeps the last mid, as a strategy would."""

    def __init__(self) -> None:
        self.ticks = 0
        self.last_mid: Decimal | None = None

    def on_quote(self, quote: Quote) -> None:
        self.ticks += 1
        self.last_mid = quote.mid

    def on_trade(self, trade: object) -> None:
        self.ticks += 1


def build() -> tuple[MarketDataPipeline, Strategy, AnomalyDetector, Normalizer]:
    clock = SimulatedClock(START_NS)
    ids = IdGenerator(clock.timestamp_ns, seed=1)
    listed = instruments()
    symbols = SymbolMap(zip(["SIM"] * len(listed), SYMBOLS, listed, strict=True))
    normalizer = Normalizer(symbols, {"SIM": SYNTHETIC}, ids)
    detector = AnomalyDetector(instruments=listed)
    bus = MessageBus()
    strategy = Strategy()
    bus.subscribe("data.quotes.*", strategy.on_quote)
    bus.subscribe("data.trades.*", strategy.on_trade)
    pipeline = MarketDataPipeline(bus, clock, normalizer, detector, BarAggregator(ids), ids)
    return pipeline, strategy, detector, normalizer


def run(ticks: list[dict[str, Any]]) -> int:
    pipeline, strategy, detector, _ = build()
    on_raw = pipeline.on_raw
    for payload in ticks:
        on_raw("SIM", payload)
    if detector.total() or strategy.ticks != len(ticks):
        raise AssertionError(f"{detector.total()} anomalies, {strategy.ticks} delivered")
    return len(ticks)


def latencies(ticks: list[dict[str, Any]]) -> list[int]:
    pipeline, _, _, _ = build()
    on_raw, now = pipeline.on_raw, time.perf_counter_ns
    spent = [0] * len(ticks)
    for index, payload in enumerate(ticks):
        start = now()
        on_raw("SIM", payload)
        spent[index] = now() - start
    spent.sort()
    return spent


def per_call_us(work: Any, items: list[Any]) -> float:
    """CPU time per call (thread time: other processes on the machine do not count)."""
    start = time.thread_time_ns()
    for item in items:
        work(item)
    return (time.thread_time_ns() - start) / len(items) / 1000


def breakdown(ticks: list[dict[str, Any]]) -> None:
    """The CPU cost per quote of each stage on its own, best of three."""
    quotes = [t for t in ticks if t["type"] == "quote"]
    normalizer = build()[3]
    models = [normalizer.normalize("SIM", t) for t in quotes]
    fields = [
        (q.instrument_id, q.timestamp, q.bid_price, q.ask_price, q.bid_size, q.ask_size)
        for q in models
        if isinstance(q, Quote)
    ]
    stages: dict[str, Any] = {
        "on_raw (everything)": lambda: per_call_us(partial(build()[0].on_raw, "SIM"), quotes),
        "normalize": lambda: per_call_us(partial(normalizer.normalize, "SIM"), quotes),
        "  of which Quote(...) (model)": lambda: per_call_us(lambda f: Quote(*f), fields),
        "on_data (checks, bars, bus)": lambda: per_call_us(build()[0].on_data, models),
        "  of which anomaly checks": lambda: per_call_us(build()[2].check, models),
    }
    print(f"{'stage, per quote':<32}  {'CPU us':>6}")
    for name, measure in stages.items():
        print(f"{name:<32}  {min(measure() for _ in range(3)):>6.2f}")
    print()


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    count, repeats = (20_000, 3) if args.quick else (200_000, 5)
    ticks = payloads(count)
    # As the trading process does after start-up; this also keeps the pre-built payloads
    # (transient in a live feed) out of the collector's scans.
    tune_gc()
    breakdown(ticks)
    rate = best_rate(lambda: run(ticks), repeats)
    spent = latencies(ticks)
    p50 = spent[len(spent) // 2] / 1000
    p99 = spent[min(len(spent) - 1, int(len(spent) * 0.99))] / 1000
    report(
        "market_data",
        [
            Figure("ticks_per_s", rate, "1/s", 100_000, "higher"),
            Figure("tick_latency_p50_us", p50, "us", None, "lower"),
            Figure("tick_latency_p99_us", p99, "us", 50, "lower"),
        ],
    )


if __name__ == "__main__":
    main()
