"""Our round trips and metrics agree with backtesting.py's for the fills and equity it makes.

backtesting.py runs on the GOOG daily bars it ships; its trades become our fills (an
entry and an exit fill per trade, commission 0.2% of each fill's value) and its equity
curve our curve. Then our round trips must be its trades, and the metrics defined alike
must be its statistics (docs/backtesting.md says which are and why the others differ).
"""

from __future__ import annotations

import math
import warnings
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest

backtesting = pytest.importorskip("backtesting")
from backtesting import Backtest, Strategy  # noqa: E402
from backtesting.lib import crossover  # noqa: E402
from backtesting.test import GOOG, SMA  # noqa: E402

from omoitrade.backtest.metrics import EquityCurve, compute_metrics  # noqa: E402
from omoitrade.backtest.trades import round_trips  # noqa: E402
from omoitrade.model import (  # noqa: E402
    Bar,
    BarId,
    InstrumentId,
    OrderId,
    OrderSide,
    Timeframe,
    Trade,
    TradeId,
    VenueTradeId,
)

GOOG_ID = InstrumentId.of("SIM", "GOOG")
RATE = D("0.002")


class SmaCross(Strategy):  # type: ignore[misc]
    """backtesting.py's example: long on SMA 10 crossing above SMA 20, short below."""

    def init(self) -> None:
        self.fast = self.I(SMA, self.data.Close, 10)
        self.slow = self.I(SMA, self.data.Close, 20)

    def next(self) -> None:
        if crossover(self.fast, self.slow):
            self.position.close()
            self.buy()
        elif crossover(self.slow, self.fast):
            self.position.close()
            self.sell()


class SmaCrossHalfOut(Strategy):  # type: ignore[misc]
    """Long on the cross up; half out after five bars; the rest out on the cross down."""

    def init(self) -> None:
        self.fast = self.I(SMA, self.data.Close, 10)
        self.slow = self.I(SMA, self.data.Close, 20)

    def next(self) -> None:
        if crossover(self.fast, self.slow) and not self.position:
            self.buy()
        elif crossover(self.slow, self.fast):
            self.position.close()
        for trade in self.trades:
            if len(self.data) - trade.entry_bar == 5:
                trade.close(0.5)


def _utc(stamp: Any) -> datetime:
    moment: datetime = stamp.to_pydatetime().replace(tzinfo=UTC)
    return moment


def _decimal(value: Any) -> D:
    return D(repr(float(value)))


def _run(strategy: type) -> tuple[Any, list[Bar], list[Trade]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "some trades remain open"
        stats = Backtest(GOOG, strategy, cash=10_000, commission=float(RATE)).run()
    bars = [
        Bar(BarId(int=k + 1), GOOG_ID, _utc(at), Timeframe.D1, _decimal(row.Open),
            _decimal(row.High), _decimal(row.Low), _decimal(row.Close), D(int(row.Volume)))
        for k, (at, row) in enumerate(GOOG.iterrows())
    ]  # fmt: skip
    fills: list[Trade] = []

    def add(buy: bool, size: int, price: Any, at: Any) -> None:
        k = len(fills) + 1
        quantity, value = D(size), _decimal(price)
        fills.append(
            Trade(TradeId(int=k), OrderId(int=k), GOOG_ID, OrderSide.BUY if buy else OrderSide.SELL,
                  value, quantity, VenueTradeId(f"t{k}"), _utc(at), RATE * quantity * value)
        )  # fmt: skip

    for trade in stats["_trades"].itertuples():
        size = int(trade.Size)
        add(size > 0, abs(size), trade.EntryPrice, trade.EntryTime)
        add(size < 0, abs(size), trade.ExitPrice, trade.ExitTime)
    # in time order; an exit before an entry at the same time (a reversal closes first)
    fills.sort(key=lambda f: (f.executed_at, f.id.int % 2 == 1))
    return stats, bars, fills


def _curve(stats: Any) -> EquityCurve:
    frame = stats["_equity_curve"]
    equity = [_decimal(v) for v in frame["Equity"]]
    stamps = [_utc(at) for at in frame.index]
    return EquityCurve(stamps, equity, equity, [D(0)] * len(equity))


def _same_trades(stats: Any, bars: list[Bar], fills: list[Trade]) -> list[Any]:
    trips = round_trips(fills, {GOOG_ID: bars}, {GOOG_ID: "GOOG"})
    theirs = list(stats["_trades"].sort_values(["ExitTime", "EntryTime"]).itertuples())
    assert len(trips) == len(theirs)
    for ours, their in zip(trips, theirs, strict=True):
        assert (ours.entry_time, ours.exit_time) == (_utc(their.EntryTime), _utc(their.ExitTime))
        assert float(ours.entry_price) == pytest.approx(their.EntryPrice, rel=1e-12)
        assert float(ours.exit_price) == pytest.approx(their.ExitPrice, rel=1e-12)
        assert int(ours.quantity) == abs(int(their.Size))
        assert float(ours.pnl) == pytest.approx(their.PnL, rel=1e-9, abs=1e-6)
        assert float(ours.fees) == pytest.approx(their.Commission, rel=1e-9)
        assert float(ours.return_pct) == pytest.approx(100 * their.ReturnPct, rel=1e-9, abs=1e-9)
        assert ours.bars_held == their.ExitBar - their.EntryBar
    return trips


def test_the_sma_crossover_trades_and_statistics_agree() -> None:
    stats, bars, fills = _run(SmaCross)
    trips = _same_trades(stats, bars, fills)
    assert len(trips) == 93  # with reversals: each closes one trade and opens the next
    m = compute_metrics(_curve(stats), trips, bars[19:], None, D(10_000), fills=fills)
    assert float(m.final_equity) == pytest.approx(stats["Equity Final [$]"], rel=1e-12)
    assert float(m.peak_equity) == pytest.approx(stats["Equity Peak [$]"], rel=1e-12)
    assert float(m.total_return_pct) == pytest.approx(stats["Return [%]"], rel=1e-9)
    assert float(m.buy_and_hold_return_pct or 0) == pytest.approx(
        stats["Buy & Hold Return [%]"], rel=1e-9
    )
    assert m.cagr_pct == pytest.approx(stats["CAGR [%]"], rel=1e-9)
    assert -float(m.max_drawdown_pct) == pytest.approx(stats["Max. Drawdown [%]"], rel=1e-9)
    assert m.max_drawdown_duration == stats["Max. Drawdown Duration"].to_pytimedelta()
    assert m.exposure_time_pct == pytest.approx(stats["Exposure Time [%]"], rel=1e-12)
    assert m.trades == stats["# Trades"]
    assert float(m.win_rate_pct or 0) == pytest.approx(stats["Win Rate [%]"], rel=1e-12)
    assert float(m.best_trade_pct or 0) == pytest.approx(stats["Best Trade [%]"], rel=1e-9)
    assert float(m.worst_trade_pct or 0) == pytest.approx(stats["Worst Trade [%]"], rel=1e-9)
    assert m.avg_trade_pct == pytest.approx(stats["Avg. Trade [%]"], rel=1e-9)
    assert float(m.expectancy_pct or 0) == pytest.approx(stats["Expectancy [%]"], rel=1e-9)
    assert m.sqn == pytest.approx(stats["SQN"], rel=1e-9)
    assert m.max_trade_duration == stats["Max. Trade Duration"].to_pytimedelta()
    assert float(m.total_fees) == pytest.approx(stats["Commissions [$]"], rel=1e-9)
    # defined differently (docs/backtesting.md): per-bar Sharpe and volatility, Calmar
    # over CAGR, profit factor of money rather than of returns
    assert m.sharpe is not None and math.isfinite(m.sharpe)
    assert m.calmar == pytest.approx(stats["Calmar Ratio"], rel=0.01)


def test_a_partial_close_splits_the_trade_as_backtesting_py_does() -> None:
    stats, bars, fills = _run(SmaCrossHalfOut)
    trips = _same_trades(stats, bars, fills)
    entries = [t.entry_time for t in trips]
    split = [t for t in trips if entries.count(t.entry_time) == 2]  # half out, then the rest
    assert len(split) >= 20
    assert all(t.bars_held == 5 for t in split[::2])
    m = compute_metrics(_curve(stats), trips, None, None, D(10_000), fills=fills)
    assert m.exposure_time_pct == pytest.approx(stats["Exposure Time [%]"], rel=1e-12)
    assert m.sqn == pytest.approx(stats["SQN"], rel=1e-9)
