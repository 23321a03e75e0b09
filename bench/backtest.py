"""Backtest throughput: the full event-driven kernel with the SMA crossover over many bars.

Bars are synthesized from a real-shaped series: the daily GOOG bars backtesting.py ships,
their log returns resampled (seeded) into a long minute series with the same volatility
per bar and the same shape of candles (open gap, high/low range). Our kernel (bus,
strategy, signal pipeline, risk engine, order manager, simulated exchange in bars mode,
portfolio) runs ``examples/strategies/sma_cross.json`` over them; backtesting.py and
backtrader run the same long-only SMA(10)/SMA(20) crossover on the same bars in the same
script, and a bare Python loop over the bars gives the floor; a skeletal event-driven
loop (a bus, two running SMAs, a crossover, an exchange filling at the next open, Decimal
marks and an equity sample per bar; no risk, no order objects, no events) shows what the
least layered kernel costs here. Printed: bars per second of each, the ratios, our fills,
and the process's peak memory (max RSS right after our run, the bars included). Targets:
at least 300,000 bars per second, under 1 GiB.
"""

from __future__ import annotations

import gc
import json
import math
import random
import resource
import sys
import time
import warnings
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np
import pandas as pd

from harness import Figure, parse_args, report
from omoitrade.backtest.runner import BacktestConfig, BacktestRunner, StrategySpec
from omoitrade.model.enums import Timeframe
from omoitrade.model.identifiers import BarId
from omoitrade.model.market_data import Bar
from omoitrade.runtime.process import tune_gc
from omoitrade.strategy.document import validate_document
from omoitrade.testing import factories as f

EXAMPLES = Path(__file__).parents[1] / "examples" / "strategies"
COMMISSION = 0.001
CASH = 1_000_000
VOLUME = Decimal(1_000_000)


def synthetic_frame(count: int, seed: int = 7) -> pd.DataFrame:
    """``count`` minute bars whose returns and candles are resampled from GOOG's."""
    from backtesting.test import GOOG

    close = GOOG["Close"].to_numpy()
    returns = np.diff(np.log(close))
    gaps = np.log(GOOG["Open"].to_numpy()[1:] / close[:-1])
    highs = np.log(GOOG["High"].to_numpy() / np.maximum(GOOG["Open"], GOOG["Close"]).to_numpy())
    lows = np.log(np.minimum(GOOG["Open"], GOOG["Close"]).to_numpy() / GOOG["Low"].to_numpy())
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(returns), count)
    scale = 0.1  # minute bars: a tenth of a daily move
    drift_free = returns[pick] - returns.mean()  # a long series must not run off
    price = 100.0 * np.exp(np.cumsum(drift_free * scale))
    opens = np.concatenate([[100.0], price[:-1]]) * np.exp(gaps[pick] * scale)
    tops = np.maximum(opens, price) * np.exp(highs[pick + 1] * scale)
    bottoms = np.minimum(opens, price) / np.exp(lows[pick + 1] * scale)
    index = pd.date_range("2000-01-03", periods=count, freq="min", tz="UTC")
    frame = pd.DataFrame(
        {"Open": opens, "High": tops, "Low": bottoms, "Close": price, "Volume": 1_000_000.0},
        index=index,
    ).round(2)
    frame["High"] = frame[["Open", "High", "Close"]].max(axis=1)
    frame["Low"] = frame[["Open", "Low", "Close"]].min(axis=1)
    return frame


def our_bars(frame: pd.DataFrame, instrument_id: object) -> list[Bar]:
    """The frame's rows as bars; equal prices share one Decimal (as a loader would)."""
    t0 = datetime(2000, 1, 3, tzinfo=UTC)
    step = timedelta(minutes=1)
    rows = zip(frame["Open"], frame["High"], frame["Low"], frame["Close"], strict=True)
    prices: dict[float, Decimal] = {}

    def price(value: float) -> Decimal:
        found = prices.get(value)
        if found is None:
            found = prices[value] = Decimal(f"{value:.2f}")
        return found

    return [
        Bar(
            BarId(int=i + 1),
            instrument_id,
            t0 + i * step,
            Timeframe.M1,  # type: ignore[arg-type]
            price(o),
            price(h),
            price(lo),
            price(c),
            VOLUME,
        )
        for i, (o, h, lo, c) in enumerate(rows)
    ]


def run_ours(frame: pd.DataFrame) -> tuple[float, int, float]:
    """Bars per second, fills, and peak memory in MiB of our kernel."""
    stock = f.make_instrument(symbol="XYZ", lot_size=Decimal(1), min_quantity=Decimal(1))
    bars = our_bars(frame, stock.id)
    document = json.loads((EXAMPLES / "sma_cross.json").read_text())
    document.update(instruments=["SIM:XYZ"], timeframe="1m")
    spec = StrategySpec("sma_cross", document=validate_document(document))
    config = BacktestConfig(initial_cash=Decimal(CASH), commission=Decimal(str(COMMISSION)))
    gc.collect()
    tune_gc()
    began = time.perf_counter()
    run = BacktestRunner([spec], [stock], bars, config).run()
    elapsed = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return len(bars) / elapsed, len(run.fills), peak


def run_backtesting_py(frame: pd.DataFrame) -> float:
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover
    from backtesting.test import SMA

    class LongCross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(SMA, self.data.Close, 10)
            self.slow = self.I(SMA, self.data.Close, 20)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()

    data = frame.tz_localize(None)
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Backtest(data, LongCross, cash=CASH, commission=COMMISSION).run()
    return len(frame) / (time.perf_counter() - began)


def run_backtrader(frame: pd.DataFrame) -> float:
    import backtrader as bt

    class LongCross(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            fast, slow = bt.ind.SMA(period=10), bt.ind.SMA(period=20)
            self.cross = bt.ind.CrossOver(fast, slow)

        def next(self) -> None:
            if not self.position and self.cross > 0:
                self.buy(size=int(self.broker.getcash() / self.data.close[0] * 0.99))
            elif self.position and self.cross < 0:
                self.close()

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame.tz_localize(None)))
    cerebro.addstrategy(LongCross)
    cerebro.broker.setcash(CASH)
    cerebro.broker.setcommission(commission=COMMISSION)
    began = time.perf_counter()
    cerebro.run()
    return len(frame) / (time.perf_counter() - began)


def bare_loop(frame: pd.DataFrame) -> float:
    """The floor: a Python loop touching each bar's close and two running sums."""
    closes = frame["Close"].tolist()
    began = time.perf_counter()
    fast = slow = 0.0
    for n, close in enumerate(closes):
        fast += close - (closes[n - 10] if n >= 10 else 0.0)
        slow += close - (closes[n - 20] if n >= 20 else 0.0)
    return len(closes) / (time.perf_counter() - began) if math.isfinite(fast + slow) else 0.0


class _Skeleton:
    """The skeletal kernel's strategy (two running SMAs, a crossover) and account."""

    def __init__(self) -> None:
        self.windows: dict[int, deque[float]] = {10: deque(), 20: deque()}
        self.sums = {10: 0.0, 20: 0.0}
        self.before: tuple[float | None, float | None] = (None, None)
        self.cash, self.held, self.pending = Decimal(CASH), Decimal(0), 0

    def sma(self, period: int, close: float) -> float | None:
        window = self.windows[period]
        window.append(close)
        self.sums[period] += close - (window.popleft() if len(window) > period else 0.0)
        return self.sums[period] / period if len(window) == period else None

    def on_bar(self, bar: Bar) -> None:
        close = float(bar.close)
        fast, slow = self.sma(10, close), self.sma(20, close)
        (was_fast, was_slow), self.before = self.before, (fast, slow)
        if fast is None or slow is None or was_fast is None or was_slow is None:
            return
        if fast > slow and was_fast <= was_slow and not self.held:
            self.pending = 1
        elif fast < slow and was_fast >= was_slow and self.held:
            self.pending = -1

    def fill_at_open(self, bar: Bar) -> None:
        if self.pending:
            size = (self.cash / bar.open).to_integral_value() - 1
            quantity = size if self.pending > 0 else -self.held
            self.cash -= quantity * bar.open
            self.held += quantity
            self.pending = 0


def skeleton_loop(bars: list[Bar]) -> float:
    """Bars per second of the least an event-driven kernel does with a bar (see above)."""
    skeleton = _Skeleton()
    subscribers: dict[str, list[Callable[[Bar], None]]] = {"bars": [skeleton.on_bar]}
    marks: dict[object, Decimal] = {}
    equity: list[Decimal] = []
    began = time.perf_counter()
    previous: Bar | None = None
    for bar in bars:
        marks[bar.instrument_id] = bar.open
        if previous is not None:
            for handler in subscribers["bars"]:
                handler(previous)
        skeleton.fill_at_open(bar)
        marks[bar.instrument_id] = bar.close
        held = skeleton.held
        equity.append(skeleton.cash + held * bar.close if held else skeleton.cash)
        previous = bar
    return len(bars) / (time.perf_counter() - began)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    count = 100_000 if args.quick else 1_000_000
    random.seed(7)
    frame = synthetic_frame(count)
    ours, fills, peak = run_ours(frame)
    theirs = run_backtesting_py(frame)
    trader = run_backtrader(frame)
    floor = bare_loop(frame)
    skeleton = skeleton_loop(our_bars(frame, f.make_instrument().id))
    print(
        f"{count:,} minute bars resampled from GOOG; ours made {fills:,} fills; "
        f"backtesting.py {theirs:,.0f}/s, backtrader {trader:,.0f}/s, bare loop {floor:,.0f}/s, "
        f"skeletal event loop {skeleton:,.0f}/s"
    )
    report(
        "backtest",
        [
            Figure("bars_per_s", ours, "1/s", 300_000, "higher"),
            Figure("peak_memory_mib", peak, "MiB", 1024, "lower"),
            Figure("vs_backtesting_py", ours / theirs, "x", None, "higher"),
            Figure("vs_backtrader", ours / trader, "x", None, "higher"),
            Figure("backtesting_py_bars_per_s", theirs, "1/s", None, "higher"),
            Figure("backtrader_bars_per_s", trader, "1/s", None, "higher"),
            Figure("bare_loop_bars_per_s", floor, "1/s", None, "higher"),
            Figure("skeleton_loop_bars_per_s", skeleton, "1/s", None, "higher"),
        ],
    )


if __name__ == "__main__":
    main()
