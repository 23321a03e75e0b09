"""The runner's equity samples, its isolation of failing strategies and its bar groups."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

from omoitrade.backtest.runner import BacktestConfig, BacktestRunner, RawRun, StrategySpec
from omoitrade.model import Instrument
from omoitrade.model.enums import OrderSide, Timeframe
from omoitrade.model.identifiers import VenueTradeId
from omoitrade.model.market_data import Bar, TradeTick
from omoitrade.strategy.base import Strategy
from omoitrade.strategy.document import validate_document
from omoitrade.testing import factories as f

EXAMPLES = Path(__file__).parents[3] / "examples" / "strategies"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
STOCK = f.make_instrument(symbol="XYZ", lot_size=D("1"), min_quantity=D("1"))
OTHER = f.make_instrument(symbol="ABC", lot_size=D("1"), min_quantity=D("1"))
CLOSES = [100 + ((i * 7) % 13) - 6 for i in range(60)]


def bars(instrument: Instrument, shift: int = 0) -> list[Bar]:
    """Daily bars around a zigzag: open c, high c + 2, low c - 2, close c + 1."""
    zigzag = [(c + shift, c + shift + 2, c + shift - 2, c + shift + 1) for c in CLOSES]
    return f.make_daily_bars(instrument, zigzag, T0)


def sma_cross(symbol: str = "SIM:XYZ") -> StrategySpec:
    document = json.loads((EXAMPLES / "sma_cross.json").read_text())
    document.update(instruments=[symbol], parameters={"fast": 2, "slow": 4})
    return StrategySpec("sma", document=validate_document(document))


def expected_columns(run: RawRun, initial: D) -> tuple[list[D], list[D], list[D]]:
    """Equity, cash and exposure at each close, worked out from the fills alone."""
    series = run.bars["XYZ"]
    cash, held = initial, D(0)
    equity, cash_column, exposure = [], [], []
    fills = list(run.fills)
    for i, bar in enumerate(series):
        end = series[i + 1].timestamp if i + 1 < len(series) else datetime.max.replace(tzinfo=UTC)
        while fills and fills[0].executed_at < end:
            fill = fills.pop(0)
            sign = 1 if fill.side is OrderSide.BUY else -1
            cash -= sign * fill.execution_price * fill.quantity + fill.commission
            held += sign * fill.quantity
        equity.append(cash + held * bar.close)
        cash_column.append(cash)
        exposure.append(abs(held * bar.close))
    return equity, cash_column, exposure


def test_each_close_samples_the_equity_cash_and_exposure_the_fills_give() -> None:
    config = BacktestConfig(initial_cash=D(100_000), commission=D("0.001"))
    run = BacktestRunner([sma_cross()], [STOCK], bars(STOCK), config).run()
    assert len(run.fills) > 4
    equity, cash, exposure = expected_columns(run, config.initial_cash)
    assert list(run.equity.equity) == equity
    assert list(run.equity.cash) == cash
    assert list(run.equity.exposure) == exposure
    assert run.equity.timestamps == tuple(b.timestamp for b in run.bars["XYZ"])


def test_bars_of_two_instruments_at_one_time_give_one_sample() -> None:
    config = BacktestConfig(initial_cash=D(100_000), commission=D("0.001"))
    alone = BacktestRunner([sma_cross()], [STOCK], bars(STOCK), config).run()
    mixed = [bar for pair in zip(bars(OTHER, 50), bars(STOCK), strict=True) for bar in pair]
    both = BacktestRunner([sma_cross()], [STOCK, OTHER], mixed, config).run()
    assert [(x.executed_at, x.execution_price) for x in both.fills] == [
        (x.executed_at, x.execution_price) for x in alone.fills
    ]
    assert both.equity == alone.equity  # the other instrument is never held
    assert [b.close for b in both.bars["ABC"]] == [D(c + 51) for c in CLOSES]
    assert len(both.bars["XYZ"]) == len(CLOSES)


class Exploding(Strategy):
    def on_bar(self, bar: Bar) -> None:
        if bar.timestamp >= T0 + timedelta(days=3):
            raise RuntimeError("boom on day 3")


def test_a_raising_strategy_is_paused_and_the_others_keep_trading() -> None:
    config = BacktestConfig(initial_cash=D(100_000), commission=D("0.001"))
    alone = BacktestRunner([sma_cross()], [STOCK], bars(STOCK), config).run()
    spec = StrategySpec("boom", python_class=Exploding)
    run = BacktestRunner([spec, sma_cross()], [STOCK], bars(STOCK), config).run()
    assert run.paused == ["boom: RuntimeError: boom on day 3"]
    assert [(x.executed_at, x.execution_price) for x in run.fills] == [
        (x.executed_at, x.execution_price) for x in alone.fills
    ]
    assert run.equity == alone.equity


def progress_of(runner: BacktestRunner) -> list[tuple[int, int]]:
    """The ``progress(done, total)`` calls of a run."""
    calls: list[tuple[int, int]] = []
    runner.run(lambda done, total: calls.append((done, total)))
    return calls


def assert_progress(calls: list[tuple[int, int]], total: int) -> None:
    """Every call has the total; done never goes back, stays in 0..total and ends at it."""
    assert calls and {t for _, t in calls} == {total}
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[0] >= 0 and done[-1] == total
    assert calls[-1] == (total, total)
    assert len(calls) <= 202  # every so often: about 200 calls however long the run


def test_progress_counts_the_bars_of_every_instrument_up_to_the_total() -> None:
    mixed = bars(STOCK) + bars(OTHER, 50)
    calls = progress_of(BacktestRunner([sma_cross()], [STOCK, OTHER], mixed))
    assert_progress(calls, 2 * len(CLOSES))
    assert len(calls) > len(CLOSES) // 2  # a short run reports as it goes, not only at the end
    long = [replace(b, timestamp=T0 + timedelta(minutes=k)) for k, b in enumerate(bars(STOCK) * 20)]
    assert_progress(progress_of(BacktestRunner([sma_cross()], [STOCK], long)), len(long))


def test_progress_counts_the_ticks_up_to_the_total() -> None:
    ticks = [
        TradeTick(STOCK.id, T0 + timedelta(seconds=7 * k), D(c), D(1), VenueTradeId(f"t{k}"))
        for k, c in enumerate(CLOSES)
    ]
    config = BacktestConfig(tick_bars=Timeframe.M1)
    calls = progress_of(BacktestRunner([sma_cross()], [STOCK], config=config, ticks=ticks))
    assert_progress(calls, len(ticks))
    assert len(calls) > len(ticks) // 2
