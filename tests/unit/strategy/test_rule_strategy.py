"""RuleStrategy: a strategy document's rules traded through the strategy context."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide, OrderType, Timeframe
from omoitrade.model.events import OrderFilled
from omoitrade.model.identifiers import (
    BarId,
    EventId,
    InstrumentId,
    OrderId,
    PortfolioId,
    TradeId,
    VenueTradeId,
)
from omoitrade.model.market_data import Bar
from omoitrade.strategy.base import Strategy, StrategyRunner, StrategyState
from omoitrade.strategy.document import (
    CappedKelly,
    FixedQuantity,
    PercentOfEquity,
    RiskPerTrade,
    validate_document,
)
from omoitrade.strategy.rule_strategy import RuleStrategy, entry_quantity, instrument_id_of
from omoitrade.testing.strategies import FakeStrategyContext

EXAMPLES = Path(__file__).parents[3] / "examples" / "strategies"
X = InstrumentId.of("SIM", "X")
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def bar(close: float, i: int, instrument: InstrumentId = X) -> Bar:
    c = Decimal(str(close))
    return Bar(
        BarId.new(), instrument, T0 + timedelta(days=i), Timeframe.D1, c, c, c, c, Decimal(1)
    )


def document(
    entry: Any, exit_: Any = None, sizing: Any = None, direction: str = "long_only"
) -> Any:
    data: dict[str, Any] = {
        "name": "t",
        "version": 1,
        "instruments": ["SIM:X"],
        "timeframe": "1d",
        "entry_rules": entry,
        "risk_parameters": {
            "direction": direction,
            "sizing": sizing or {"fixed_quantity": "3"},
        },
    }
    if exit_ is not None:
        data["exit_rules"] = exit_
    return validate_document(data)


ABOVE_10 = {">": [{"field": "close"}, 10]}
BELOW_5 = {"<": [{"field": "close"}, 5]}


def run(strategy: Strategy, closes: Sequence[float]) -> None:
    runner = StrategyRunner([strategy])
    runner.start()
    for i, close in enumerate(closes):
        runner.on_bar(bar(close, i))


def test_rule_strategy_is_a_strategy_and_enters_once_then_exits() -> None:
    ctx = FakeStrategyContext()
    strategy = RuleStrategy(ctx, document(ABOVE_10, BELOW_5))
    assert isinstance(strategy, Strategy) and strategy.name == "t"
    run(strategy, [9, 11, 12, 13, 4, 3, 12])
    assert [(o.side, o.quantity, o.order_type) for o in ctx.orders] == [
        (OrderSide.BUY, Decimal(3), OrderType.MARKET),
        (OrderSide.BUY, Decimal(3), OrderType.MARKET),
    ]  # entered on 11, held through 12 and 13, closed on 4, re-entered on 12
    assert ctx.closed == [X]
    assert ctx.position(X) == Decimal(3)
    assert strategy.state is StrategyState.RUNNING


def test_short_only_enters_with_a_sell() -> None:
    ctx = FakeStrategyContext()
    run(RuleStrategy(ctx, document(ABOVE_10, direction="short_only")), [11])
    assert [o.side for o in ctx.orders] == [OrderSide.SELL]
    assert ctx.position(X) == Decimal(-3)


def test_bars_for_other_instruments_are_ignored() -> None:
    ctx = FakeStrategyContext()
    strategy = RuleStrategy(ctx, document(ABOVE_10))
    strategy.start()
    strategy.dispatch("on_bar", bar(11, 0, InstrumentId.of("SIM", "Y")))
    assert ctx.orders == []


def test_percent_of_equity_sizing_floors_to_lots() -> None:
    ctx = FakeStrategyContext(equity_value=Decimal(10_000), lot=Decimal("0.5"))
    run(RuleStrategy(ctx, document(ABOVE_10, sizing={"percent_of_equity": "50"})), [12])
    # 10000 * 50% / 12 = 416.67 -> 416.5 in lots of 0.5
    assert ctx.orders[0].quantity == Decimal("416.5")


def test_no_order_when_the_size_is_under_one_lot() -> None:
    ctx = FakeStrategyContext(equity_value=Decimal(10), lot=Decimal(1))
    run(RuleStrategy(ctx, document(ABOVE_10, sizing={"percent_of_equity": "10"})), [12])
    assert ctx.orders == []


def test_bars_in_trade_reach_the_rules() -> None:
    ctx = FakeStrategyContext()
    exit_ = {"bars_in_trade": {">=": 2}}
    run(RuleStrategy(ctx, document(ABOVE_10, exit_)), [11, 11, 11, 11])
    # entry on bar 0; in trade 1 bar on bar 1, 2 bars on bar 2 -> closed; re-entered on bar 3
    assert ctx.closed == [X] and len(ctx.orders) == 2


def test_unrealized_pnl_reaches_the_rules() -> None:
    ctx = FakeStrategyContext()
    exit_ = {"unrealized_pnl_pct": {"<=": -10}}
    run(RuleStrategy(ctx, document(ABOVE_10, exit_)), [20, 19, 18])
    assert ctx.closed == [X]  # 18 is 10 % under the entry at 20


@pytest.mark.parametrize(
    ("sizing", "name"),
    [
        ({"risk_per_trade": {"percent": "1", "atr_multiple": "2"}}, "RiskPerTrade"),
        ({"kelly": {"win_rate": "0.5", "payoff_ratio": "2"}}, "CappedKelly"),
    ],
)
def test_unsupported_sizing_is_rejected_with_a_message(sizing: Any, name: str) -> None:
    with pytest.raises(ValidationError, match=f"{name} sizing is not supported") as info:
        RuleStrategy(FakeStrategyContext(), document(ABOVE_10, sizing=sizing))
    assert info.value.field == "risk_parameters.sizing"


def test_direction_both_is_rejected_with_a_message() -> None:
    with pytest.raises(ValidationError, match="'both' is not supported"):
        RuleStrategy(FakeStrategyContext(), document(ABOVE_10, direction="both"))


def test_entry_quantity() -> None:
    one = Decimal(1)
    assert entry_quantity(FixedQuantity(Decimal("2.7")), one, one, one) == Decimal(2)
    assert entry_quantity(
        PercentOfEquity(Decimal(100)), Decimal(1000), Decimal(3), Decimal("0.01")
    ) == Decimal("333.33")
    for sizing in (RiskPerTrade(one, one), CappedKelly(one, one)):
        with pytest.raises(ValidationError):
            entry_quantity(sizing, one, one, one)
    with pytest.raises(ValidationError, match="lot_size"):
        entry_quantity(FixedQuantity(one), one, one, Decimal(0))


def test_instrument_ids_follow_the_document_symbols() -> None:
    assert instrument_id_of("SIM:X") == X
    assert instrument_id_of("sim:BTC/USD") == InstrumentId.of("SIM", "BTC/USD")
    with pytest.raises(ValidationError):
        instrument_id_of("BTC")


def test_example_sma_cross_trades_a_trend_reversal() -> None:
    data = json.loads((EXAMPLES / "sma_cross.json").read_text())
    data["parameters"] = {"fast": 2, "slow": 3}
    data["instruments"] = ["SIM:X"]
    ctx = FakeStrategyContext(equity_value=Decimal(1000))
    closes = [10, 9, 8, 7, 8, 10, 12, 11, 9, 7, 6]
    run(RuleStrategy(ctx, validate_document(data)), closes)
    assert len(ctx.orders) == 1 and ctx.orders[0].side is OrderSide.BUY
    assert ctx.orders[0].quantity == Decimal(100)  # all-in at the crossing close of 10
    assert ctx.closed == [X]


def test_max_bars_in_trade_closes_the_position() -> None:
    doc = document(ABOVE_10)
    doc = replace(doc, risk=replace(doc.risk, max_bars_in_trade=3))
    ctx = FakeStrategyContext()
    run(RuleStrategy(ctx, doc), [11] * 4)
    assert ctx.closed == [X]  # entered on bar 0, held 3 bars by bar 3


def fill_at(price: str) -> OrderFilled:
    return OrderFilled(
        event_id=EventId.new(),
        occurred_at=T0,
        order_id=OrderId.new(),
        portfolio_id=PortfolioId.new(),
        instrument_id=X,
        side=OrderSide.BUY,
        trade_id=TradeId.new(),
        exchange_trade_id=VenueTradeId("t"),
        fill_quantity=Decimal(3),
        fill_price=Decimal(price),
        commission=Decimal(0),
        filled_quantity=Decimal(3),
        average_fill_price=Decimal(price),
    )


@pytest.mark.parametrize(("fill_price", "closed"), [(None, False), ("19", True)])
def test_the_entry_fill_price_is_the_reference_for_unrealized_pnl(
    fill_price: str | None, closed: bool
) -> None:
    ctx = FakeStrategyContext()
    strategy = RuleStrategy(ctx, document(ABOVE_10, {"unrealized_pnl_pct": {">=": 5}}))
    runner = StrategyRunner([strategy])
    runner.start()
    runner.on_bar(bar(20, 0))
    if fill_price is not None:
        runner.on_order_event(strategy, fill_at(fill_price))
    runner.on_bar(bar(20, 1))  # +5.3 % over a fill at 19, flat over the close of 20
    assert ctx.closed == ([X] if closed else [])
