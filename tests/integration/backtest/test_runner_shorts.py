"""Shorts in backtests: the runner's exchange account is a margin account by default
(``BacktestConfig.short_margin``), so ``short_only`` and ``both`` rule strategies trade,
and a short's stop loss and take profit go out as one OCO pair the exchange accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from omoitrade.backtest.runner import BacktestConfig, BacktestRunner, RawRun, StrategySpec
from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderStatus, OrderType, Timeframe
from omoitrade.model.events import OrderRejected
from omoitrade.model.identifiers import BarId
from omoitrade.model.market_data import Bar
from omoitrade.strategy.document import validate_document
from omoitrade.testing import factories as f
from omoitrade.venues.sim.bar_fills import FillModel

T0 = datetime(2024, 1, 1, tzinfo=UTC)
STOCK = f.make_instrument(symbol="XYZ", lot_size=D("1"), min_quantity=D("1"))
GOING_DOWN = [
    ("100", "101", "99", "100"),
    ("100", "100", "94", "95"),  # closes under 97: the short entry signal
    ("94", "95", "90", "91"),  # short 10 at this open
    ("90", "91", "85", "86"),
    ("86", "99", "85", "98"),  # closes over 97: the exit signal
    ("88", "90", "87", "89"),  # covered at this open
]


def bars(rows: list[tuple[str, str, str, str]]) -> list[Bar]:
    """Daily bars from (open, high, low, close)."""
    return [
        Bar(BarId.new(), STOCK.id, T0 + timedelta(days=i), Timeframe.D1,
            D(o), D(h), D(lo), D(c), D(1000))
        for i, (o, h, lo, c) in enumerate(rows)
    ]  # fmt: skip


def spec(direction: str, entry: dict[str, Any], exit_: dict[str, Any], **risk: Any) -> StrategySpec:
    document = {
        "name": direction,
        "version": 1,
        "instruments": ["SIM:XYZ"],
        "timeframe": "1d",
        "entry_rules": entry,
        "exit_rules": exit_,
        "risk_parameters": {"direction": direction, "sizing": {"fixed_quantity": "10"}, **risk},
    }
    return StrategySpec(direction, document=validate_document(document))


def short_under(level: int, **risk: Any) -> StrategySpec:
    """Short 10 when the close is under ``level``, cover when it closes over it."""
    entry = {"all": [{"position": "flat"}, {"<": ["close", level]}]}
    return spec("short_only", entry, {"any": [{">": ["close", level]}]}, **risk)


def fills(run: RawRun) -> list[tuple[str, str, D, D]]:
    return [
        (x.executed_at.date().isoformat(), x.side.value, x.quantity, x.execution_price)
        for x in run.fills
    ]


def rejections(run: RawRun) -> list[str | None]:
    return [e.reason for e in run.events if isinstance(e, OrderRejected)]


def test_a_short_only_strategy_makes_money_on_falling_bars() -> None:
    config = BacktestConfig(commission=D("0.001"))
    run = BacktestRunner([short_under(97)], [STOCK], bars(GOING_DOWN), config).run()
    assert fills(run) == [
        ("2024-01-03", "SELL", D(10), D(94)),
        ("2024-01-06", "BUY", D(10), D(88)),
    ]
    assert rejections(run) == []
    # the sale credits 940 less 0.94 commission; covering pays 880 and 0.88
    assert run.equity.cash == (
        D(100000),
        D(100000),
        D("100939.060"),
        D("100939.060"),
        D("100939.060"),
        D("100058.180"),
    )
    assert run.equity.equity[2:] == (
        D("100029.060"),
        D("100079.060"),
        D("99959.060"),
        D("100058.180"),
    )
    assert run.equity.equity[-1] == D(100000) + 10 * (D(94) - D(88)) - D("0.94") - D("0.88")


def test_a_spot_account_cannot_short_so_short_only_does_not_trade() -> None:
    config = BacktestConfig(short_margin=None)
    run = BacktestRunner([short_under(97)], [STOCK], bars(GOING_DOWN), config).run()
    assert fills(run) == []
    assert set(rejections(run)) == {"insufficient BTC: needs 10, free 0"}


def test_a_shorts_stop_loss_and_take_profit_are_both_accepted_as_one_oco_pair() -> None:
    risk = {"stop_loss": {"percent": "5"}, "take_profit": {"percent": "5"}}
    config = BacktestConfig(fill_model=FillModel.OHLC)
    run = BacktestRunner([short_under(97, **risk)], [STOCK], bars(GOING_DOWN[:3]), config).run()
    # entered at the open (94): stop 99.75 and target 90.25 from the signal's close (95);
    # the rest of that bar reaches 90: the target covers, the stop is cancelled
    assert fills(run) == [
        ("2024-01-03", "SELL", D(10), D(94)),
        ("2024-01-03", "BUY", D(10), D("90.25")),
    ]
    assert rejections(run) == []
    [stop] = [o for o in run.orders if o.order_type is OrderType.STOP]
    assert stop.status is OrderStatus.CANCELLED
    assert run.equity.cash[-1] == D(100000) + 10 * (D(94) - D("90.25"))


def test_both_stops_and_reverses_through_a_short() -> None:
    rows = [
        ("100", "101", "99", "100"),  # over 97: long
        ("101", "102", "100", "101"),  # bought at this open
        ("100", "100", "94", "95"),  # under 97: close the long, short on the next bar
        ("94", "95", "90", "91"),  # sold at this open; still under 97: short next
        ("90", "91", "85", "86"),  # shorted at this open
        ("86", "99", "85", "98"),  # over 97: cover, then long again
        ("99", "100", "98", "99"),  # covered at this open
        ("99", "101", "98", "100"),  # long again at this open
    ]
    over = {"all": [{">": ["close", 97]}]}
    under = {"any": [{"<": ["close", 97]}]}
    run = BacktestRunner([spec("both", over, under)], [STOCK], bars(rows)).run()
    assert fills(run) == [
        ("2024-01-02", "BUY", D(10), D(101)),
        ("2024-01-04", "SELL", D(10), D(94)),
        ("2024-01-05", "SELL", D(10), D(90)),
        ("2024-01-07", "BUY", D(10), D(99)),
        ("2024-01-08", "BUY", D(10), D(99)),
    ]
    assert rejections(run) == []
    assert run.equity.equity[-1] == D(100000) - 70 - 90 + 10  # long -70, short -90, +10 open


def test_the_margin_rate_must_be_positive() -> None:
    with pytest.raises(ValidationError):
        BacktestConfig(short_margin=D(0))
