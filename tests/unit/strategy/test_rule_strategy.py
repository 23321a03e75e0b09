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
from omoitrade.model.enums import OrderSide, SignalType, Timeframe
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
    validate_document,
)
from omoitrade.strategy.rule_strategy import RuleStrategy, instrument_id_of
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
    entry: Any, exit_: Any = None, sizing: Any = None, direction: str = "long_only", **risk: Any
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
            **risk,
        },
    }
    if exit_ is not None:
        data["exit_rules"] = exit_
    return validate_document(data)


ABOVE_10 = {">": [{"field": "close"}, 10]}
BELOW_5 = {"<": [{"field": "close"}, 5]}


def run(strategy: Strategy, closes: Sequence[float]) -> None:
    """Feed daily bars; the fake context fills entry signals at each bar's close."""
    runner = StrategyRunner([strategy])
    runner.start()
    context = strategy._context
    for i, close in enumerate(closes):
        if isinstance(context, FakeStrategyContext):
            context.mark = Decimal(str(close))
        runner.on_bar(bar(close, i))


def test_rule_strategy_is_a_strategy_and_enters_once_then_exits() -> None:
    ctx = FakeStrategyContext()
    strategy = RuleStrategy(ctx, document(ABOVE_10, BELOW_5))
    assert isinstance(strategy, Strategy) and strategy.name == "t"
    run(strategy, [9, 11, 12, 13, 4, 3, 12])
    assert [s.signal_type for s in ctx.signals] == [
        SignalType.BUY,
        SignalType.CLOSE,
        SignalType.BUY,
    ]
    assert ctx.entries == [(X, OrderSide.BUY, Decimal(3))] * 2
    # entered on 11, held through 12 and 13, closed on 4, re-entered on 12
    assert ctx.closed == [X]
    assert ctx.position(X) == Decimal(3)
    assert strategy.state is StrategyState.RUNNING


def test_short_only_enters_with_a_sell() -> None:
    ctx = FakeStrategyContext()
    run(RuleStrategy(ctx, document(ABOVE_10, direction="short_only")), [11])
    assert [s.signal_type for s in ctx.signals] == [SignalType.SELL]
    assert [side for _, side, _ in ctx.entries] == [OrderSide.SELL]
    assert ctx.position(X) == Decimal(-3)


def test_bars_for_other_instruments_are_ignored() -> None:
    ctx = FakeStrategyContext()
    strategy = RuleStrategy(ctx, document(ABOVE_10))
    strategy.start()
    strategy.dispatch("on_bar", bar(11, 0, InstrumentId.of("SIM", "Y")))
    assert ctx.signals == []


def test_percent_of_equity_sizing_floors_to_lots() -> None:
    ctx = FakeStrategyContext(equity_value=Decimal(10_000), lot=Decimal("0.5"))
    run(RuleStrategy(ctx, document(ABOVE_10, sizing={"percent_of_equity": "50"})), [12])
    # 10000 * 50% / 12 = 416.67 -> 416.5 in lots of 0.5
    assert ctx.entries[0][2] == Decimal("416.5")


def test_no_order_when_the_size_is_under_one_lot() -> None:
    ctx = FakeStrategyContext(equity_value=Decimal(10), lot=Decimal(1))
    run(RuleStrategy(ctx, document(ABOVE_10, sizing={"percent_of_equity": "10"})), [12])
    assert ctx.entries == [] and len(ctx.signals) == 1  # the pipeline sizes it to nothing


def test_bars_in_trade_reach_the_rules() -> None:
    ctx = FakeStrategyContext()
    exit_ = {"bars_in_trade": {">=": 2}}
    run(RuleStrategy(ctx, document(ABOVE_10, exit_)), [11, 11, 11, 11])
    # entry on bar 0; in trade 1 bar on bar 1, 2 bars on bar 2 -> closed; re-entered on bar 3
    assert ctx.closed == [X] and len(ctx.entries) == 2


def test_unrealized_pnl_reaches_the_rules() -> None:
    ctx = FakeStrategyContext()
    exit_ = {"unrealized_pnl_pct": {"<=": -10}}
    run(RuleStrategy(ctx, document(ABOVE_10, exit_)), [20, 19, 18])
    assert ctx.closed == [X]  # 18 is 10 % under the entry at 20


def test_a_kelly_sizing_without_an_edge_is_refused_with_a_message() -> None:
    no_edge = {"kelly": {"win_rate": "0.3", "payoff_ratio": "1"}}
    with pytest.raises(ValidationError, match="no edge") as info:
        RuleStrategy(FakeStrategyContext(), document(ABOVE_10, sizing=no_edge))
    assert info.value.field == "risk_parameters.sizing.kelly"


UP_10 = {"crosses_above": [{"field": "close"}, 10]}
DOWN_10 = {"crosses_below": [{"field": "close"}, 10]}
UP_DOWN_UP = [9, 11, 12, 9, 8, 11, 12]  # crosses 10 upward on bar 1, down on 3, up on 5
BUY, SELL, CLOSE = SignalType.BUY, SignalType.SELL, SignalType.CLOSE


@pytest.mark.parametrize(
    ("direction", "kinds", "held"),
    [
        ("both", [BUY, CLOSE, SELL, CLOSE, BUY], 3),
        ("long_only", [BUY, CLOSE, BUY], 3),
        ("short_only", [SELL, CLOSE], 0),  # short on the down-cross, out on the up-cross
    ],
)
def test_both_stops_and_reverses_on_the_crosses_one_sided_directions_do_not(
    direction: str, kinds: list[SignalType], held: int
) -> None:
    ctx = FakeStrategyContext()
    exit_ = DOWN_10 if direction != "short_only" else UP_10
    entry = UP_10 if direction != "short_only" else DOWN_10
    run(RuleStrategy(ctx, document(entry, exit_, direction=direction)), UP_DOWN_UP)
    assert [s.signal_type for s in ctx.signals] == kinds
    assert ctx.position(X) == held


def test_both_closes_the_long_then_enters_short_with_levels_on_the_short_side() -> None:
    ctx = FakeStrategyContext()
    levels = {"stop_loss": {"percent": "2"}, "take_profit": {"percent": "4"}}
    run(RuleStrategy(ctx, document(UP_10, DOWN_10, direction="both", **levels)), UP_DOWN_UP[:5])
    # long on 11 (bar 1); closed on 9 (bar 3); short on the next bar's close, 8
    assert [s.signal_type for s in ctx.signals] == [BUY, CLOSE, SELL]
    assert ctx.entries == [(X, OrderSide.BUY, Decimal(3)), (X, OrderSide.SELL, Decimal(3))]
    assert ctx.closed == [X] and ctx.position(X) == Decimal(-3)
    long, short = ctx.signals[0].levels, ctx.signals[2].levels
    assert (long["stop_loss"], long["take_profit"]) == (Decimal("10.78"), Decimal("11.44"))
    assert (short["stop_loss"], short["take_profit"]) == (Decimal("8.16"), Decimal("7.68"))


def test_a_reversal_enters_on_the_next_bar_once_flat_and_only_then() -> None:
    ctx = FakeStrategyContext(fill_market_orders=False, positions={X: Decimal(3)})  # long
    runner = StrategyRunner([RuleStrategy(ctx, document(UP_10, DOWN_10, direction="both"))])
    runner.start()
    for i, close in enumerate([11, 9]):
        runner.on_bar(bar(close, i))
    assert [s.signal_type for s in ctx.signals] == [CLOSE]  # the down-cross: out first
    ctx.positions[X] = Decimal(0)  # the close filled
    runner.on_bar(bar(8, 2))
    assert [s.signal_type for s in ctx.signals] == [CLOSE, SELL]
    ctx.positions[X] = Decimal(-3)  # short; this time the close is slow to fill
    for i, close in enumerate([11, 12], start=3):
        runner.on_bar(bar(close, i))
    ctx.positions[X] = Decimal(0)
    runner.on_bar(bar(13, 5))
    assert [s.signal_type for s in ctx.signals] == [CLOSE, SELL, CLOSE]  # no stale entry


def test_both_keeps_position_filters_and_a_fixed_level_only_fits_one_side() -> None:
    entry = {"all": [ABOVE_10, {"position": "flat"}]}
    ctx = FakeStrategyContext()
    run(RuleStrategy(ctx, document(entry, BELOW_5, direction="both")), [11, 12, 4, 4, 12])
    # long on 11; on 12 long already; out on 4, short on the next 4; on 12 short: held
    assert [s.signal_type for s in ctx.signals] == [BUY, CLOSE, SELL]
    fixed = document(UP_10, DOWN_10, direction="both", stop_loss={"price": "8"})
    ctx = FakeStrategyContext()
    run(RuleStrategy(ctx, fixed), UP_DOWN_UP[:5])
    assert [s.signal_type for s in ctx.signals] == [BUY, CLOSE]  # a stop at 8 is no short's


def test_both_leaves_without_reversing_after_max_bars_in_trade() -> None:
    doc = document(UP_10, DOWN_10, direction="both", max_bars_in_trade=2)
    ctx = FakeStrategyContext()
    run(RuleStrategy(ctx, doc), [9, 11, 12, 13])
    assert [s.signal_type for s in ctx.signals] == [BUY, CLOSE] and ctx.position(X) == 0


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
    assert ctx.entries == [(X, OrderSide.BUY, Decimal(100))]  # all-in at the crossing close of 10
    assert ctx.closed == [X]


def test_max_bars_in_trade_closes_the_position() -> None:
    doc = document(ABOVE_10)
    doc = replace(doc, risk=replace(doc.risk, max_bars_in_trade=3))
    ctx = FakeStrategyContext()
    run(RuleStrategy(ctx, doc), [11] * 4)
    assert ctx.closed == [X]  # entered on bar 0, held 3 bars by bar 3


def fill_at(price: str, side: OrderSide = OrderSide.BUY) -> OrderFilled:
    return OrderFilled(
        event_id=EventId.new(),
        occurred_at=T0,
        order_id=OrderId.new(),
        portfolio_id=PortfolioId.new(),
        instrument_id=X,
        side=side,
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
    ctx = FakeStrategyContext(mark=Decimal(20))
    strategy = RuleStrategy(ctx, document(ABOVE_10, {"unrealized_pnl_pct": {">=": 5}}))
    runner = StrategyRunner([strategy])
    runner.start()
    runner.on_bar(bar(20, 0))
    if fill_price is not None:
        runner.on_order_event(strategy, fill_at(fill_price))
    runner.on_bar(bar(20, 1))  # +5.3 % over a fill at 19, flat over the close of 20
    assert ctx.closed == ([X] if closed else [])
