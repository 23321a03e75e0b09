"""Fees and the participation cap through the runner: a limit fill pays the maker rate and
a market fill the taker rate (each over ``commission``); a cap leaves the rest of a big
order working for the next bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from omoitrade.backtest.runner import BacktestConfig, BacktestRunner, RawRun, StrategySpec
from omoitrade.model.enums import OrderSide, OrderStatus
from omoitrade.model.market_data import Bar
from omoitrade.strategy.base import Strategy
from omoitrade.testing import factories as f

T0 = datetime(2024, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
STOCK = f.make_instrument(symbol="XYZ", lot_size=D("1"), min_quantity=D("1"))
ROWS = [  # (open, high, low, close): a limit buy at 98 is first reached by the open of day 2
    ("100", "101", "99", "100"),
    ("100", "101", "99", "100"),
    ("97", "99", "96", "98"),
    ("99", "100", "98", "99"),
    ("99", "100", "98", "99"),
]


def bars(volume: str = "1000") -> list[Bar]:
    return f.make_daily_bars(STOCK, ROWS, T0, volume)


class LimitInMarketOut(Strategy):
    """A limit buy of 10 at 98 after the first bar; a market sell of 10 once it has filled."""

    def on_bar(self, bar: Bar) -> None:
        held = self.position(bar.instrument_id)
        if bar.timestamp == T0:
            self.submit_limit(bar.instrument_id, OrderSide.BUY, D(10), D(98))
        elif held > 0:
            self.submit_market(bar.instrument_id, OrderSide.SELL, held)


class BigBuy(Strategy):
    """A market buy of 250 after the first bar."""

    def on_bar(self, bar: Bar) -> None:
        if bar.timestamp == T0:
            self.submit_market(bar.instrument_id, OrderSide.BUY, D(250))


def run(strategy: type[Strategy], config: BacktestConfig, volume: str = "1000") -> RawRun:
    return BacktestRunner(
        [StrategySpec("s", python_class=strategy)], [STOCK], bars(volume), config
    ).run()


def test_a_limit_fill_pays_the_maker_fee_and_a_market_fill_the_taker_fee() -> None:
    config = BacktestConfig(commission=D("0.01"), maker_fee=D("0.0002"), taker_fee=D("0.001"))
    done = run(LimitInMarketOut, config)
    buy, sell = done.fills
    assert (buy.executed_at, buy.side, buy.execution_price) == (T0 + 2 * DAY, OrderSide.BUY, 97)
    assert (sell.executed_at, sell.side, sell.execution_price) == (T0 + 3 * DAY, OrderSide.SELL, 99)
    assert buy.commission == D("0.194")  # 970 x 0.0002: the maker rate, not commission's
    assert sell.commission == D("0.990")  # 990 x 0.001: the taker rate
    assert done.equity.equity[-1] == D(100_000) + 10 * (99 - 97) - D("0.194") - D("0.990")


def test_a_side_without_its_own_fee_pays_the_commission() -> None:
    taker_only = BacktestConfig(commission=D("0.01"), taker_fee=D("0.001"))
    buy, sell = run(LimitInMarketOut, taker_only).fills
    assert (buy.commission, sell.commission) == (D("9.70"), D("0.990"))
    maker_only = BacktestConfig(commission=D("0.01"), maker_fee=D("0.0002"))
    buy, sell = run(LimitInMarketOut, maker_only).fills
    assert (buy.commission, sell.commission) == (D("0.194"), D("9.90"))


def test_a_participation_cap_leaves_the_rest_of_a_big_order_working() -> None:
    capped = run(BigBuy, BacktestConfig(participation_cap=D("0.1")))  # 100 of 1000 a bar
    (order,) = capped.orders
    assert [(x.executed_at, x.quantity, x.execution_price) for x in capped.fills] == [
        (T0 + DAY, D(100), D(100)),
        (T0 + 2 * DAY, D(100), D(97)),
        (T0 + 3 * DAY, D(50), D(99)),
    ]
    assert {x.order_id for x in capped.fills} == {order.id}
    assert (order.status, order.filled_quantity) == (OrderStatus.FILLED, D(250))
    # the account held 100, then 200, then 250 at the closes of those bars
    assert list(capped.equity.exposure[1:4]) == [D(100 * 100), D(200 * 98), D(250 * 99)]
    uncapped = run(BigBuy, BacktestConfig())
    assert [(x.executed_at, x.quantity) for x in uncapped.fills] == [(T0 + DAY, D(250))]
