"""Builders for the backtest results tests: fills, bars and round trips with fixed ids."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from omoitrade.backtest.metrics import EquityCurve, compute_metrics
from omoitrade.backtest.results import BacktestResult
from omoitrade.backtest.trades import RoundTrip, round_trips
from omoitrade.model import (
    Bar,
    BarId,
    ClientOrderId,
    InstrumentId,
    Order,
    OrderId,
    OrderSide,
    OrderType,
    PortfolioId,
    PositionSide,
    Timeframe,
    Trade,
    TradeId,
    VenueTradeId,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
DAY = timedelta(days=1)
BTC = InstrumentId.of("SIM", "BTC/USD")
ETH = InstrumentId.of("SIM", "ETH/USD")

FillMaker = Callable[..., Trade]


def fill_maker() -> FillMaker:
    """``fill(side, quantity, price, at, commission="0", order=None, instrument=BTC)``:
    a fill with counted ids; ``order`` names its order (a new one by default)."""
    counter = itertools.count(1)

    def make(
        side: str,
        quantity: str | int,
        price: str | int,
        at: datetime,
        commission: str | int = "0",
        order: int | None = None,
        instrument: InstrumentId = BTC,
    ) -> Trade:
        k = next(counter)
        return Trade(
            id=TradeId(int=k),
            order_id=OrderId(int=1000 + (order if order is not None else k)),
            instrument_id=instrument,
            side=OrderSide(side),
            execution_price=D(price),
            quantity=D(quantity),
            exchange_trade_id=VenueTradeId(f"t-{k}"),
            executed_at=at,
            commission=D(commission),
        )

    return make


def make_bar(
    at: datetime,
    high: str | int,
    low: str | int,
    close: str | int | None = None,
    instrument: InstrumentId = BTC,
    timeframe: Timeframe = Timeframe.D1,
) -> Bar:
    """A bar from ``low`` to ``high``; open is the low, close the given one (else the high)."""
    hi, lo = D(high), D(low)
    return Bar(
        id=BarId(int=int(at.timestamp()) + 1),
        instrument_id=instrument,
        timestamp=at,
        timeframe=timeframe,
        open=lo,
        high=hi,
        low=lo,
        close=D(close) if close is not None else hi,
        volume=D(1),
    )


def make_trip(**overrides: Any) -> RoundTrip:
    """A closed long round trip of 1 unit, 100 -> 110, with the fields given replaced."""
    fields: dict[str, Any] = {
        "instrument_id": BTC,
        "symbol": "BTC/USD",
        "direction": PositionSide.LONG,
        "entry_time": T0,
        "exit_time": T0 + DAY,
        "entry_price": D(100),
        "exit_price": D(110),
        "quantity": D(1),
        "gross_pnl": D(10),
        "entry_fees": D(0),
        "exit_fees": D(0),
        "fees": D(0),
        "pnl": D(10),
        "return_pct": D(10),
        "duration": DAY,
        "mae": D(0),
        "mfe": D(10),
        "mae_pct": D(0),
        "mfe_pct": D(10),
        "bars_held": 1,
    }
    return RoundTrip(**(fields | overrides))


PORTFOLIO = PortfolioId(int=7)


def _order(k: int, side: OrderSide, quantity: str, at: datetime) -> Order:
    order = Order(
        id=OrderId(int=1000 + k),
        portfolio_id=PORTFOLIO,
        instrument_id=BTC,
        client_order_id=ClientOrderId(f"c-{k}"),
        order_type=OrderType.MARKET,
        side=side,
        quantity=D(quantity),
        created_at=at,
    )
    order.submit(at)
    return order


def build(generated_at: datetime | None = None) -> BacktestResult:
    """A small result of one round trip; the same every time."""
    fill = fill_maker()
    fills = [
        fill("BUY", "0.5", "100.10", T0, commission="0.05", order=1),
        fill("SELL", "0.5", "120.00", T0 + 2 * DAY, commission="0.06", order=2),
    ]
    orders = [
        _order(1, OrderSide.BUY, "0.5", T0),
        _order(2, OrderSide.SELL, "0.5", T0 + 2 * DAY),
    ]
    for order, trade in zip(orders, fills, strict=True):
        order.apply_trade(trade)
    bars = [make_bar(T0 + k * DAY, 125, 95, close=100 + 5 * k) for k in range(4)]
    trips = round_trips(fills, {BTC: bars}, {BTC: "BTC/USD"})
    values = [D("1000"), D("1000.5"), D("1009.84"), D("1009.84")]
    curve = EquityCurve(
        [T0 + k * DAY for k in range(4)],
        values,
        [D("949.90"), D("949.90"), D("1009.84"), D("1009.84")],
        [D("50.05"), D("50.55"), D(0), D(0)],
    )
    metrics = compute_metrics(curve, trips, bars, None, D(1000), fills=fills)
    return BacktestResult(
        strategy="sma_cross",
        version="1.2.0",
        parameters={"fast": 10, "slow": 20, "ratio": 0.5},
        instruments={BTC: "BTC/USD"},
        timeframe=Timeframe.D1,
        start=T0,
        end=T0 + 3 * DAY,
        initial_cash=D(1000),
        currency="USD",
        settings={"commission": "0.001", "fill_model": "next-open"},
        orders=tuple(orders),
        fills=tuple(fills),
        trades=tuple(trips),
        equity_curve=curve,
        metrics=metrics,
        generated_at=generated_at,
    )
