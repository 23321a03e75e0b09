"""The Strategy base: handlers, order helpers through the context, parameters, isolation."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide, OrderType, SignalType, Timeframe, TimeInForce
from omoitrade.model.events import OrderCancelled, OrderFilled
from omoitrade.model.identifiers import (
    BarId,
    ClientOrderId,
    EventId,
    InstrumentId,
    OrderId,
    PortfolioId,
    TradeId,
    VenueTradeId,
)
from omoitrade.model.market_data import Bar, Quote, TradeTick
from omoitrade.strategy.base import (
    BracketIntent,
    OrderIntent,
    Strategy,
    StrategyParameterError,
    StrategyRunner,
    StrategyState,
)
from omoitrade.testing.strategies import FakeStrategyContext

X = InstrumentId.of("SIM", "X")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
EXAMPLE = Path(__file__).parents[3] / "examples" / "strategies" / "momentum_breakout.py"


def make_bar(close: float, i: int = 0, high: float | None = None, low: float | None = None) -> Bar:
    c = Decimal(str(close))
    h = Decimal(str(high)) if high is not None else c
    lo = Decimal(str(low)) if low is not None else c
    return Bar(BarId.new(), X, T0 + timedelta(days=i), Timeframe.D1, c, h, lo, c, Decimal(1))


def fill(side: OrderSide = OrderSide.BUY) -> OrderFilled:
    return OrderFilled(
        event_id=EventId.new(),
        occurred_at=T0,
        order_id=OrderId.new(),
        portfolio_id=PortfolioId.new(),
        instrument_id=X,
        side=side,
        trade_id=TradeId.new(),
        exchange_trade_id=VenueTradeId("t1"),
        fill_quantity=Decimal(1),
        fill_price=Decimal(10),
        commission=Decimal(0),
        filled_quantity=Decimal(1),
        average_fill_price=Decimal(10),
    )


def state_of(strategy: Strategy) -> StrategyState:
    return strategy.state  # read through a call so mypy does not keep a narrowed state


class Recorder(Strategy):
    def __init__(self, context: FakeStrategyContext, **kw: Any) -> None:
        super().__init__(context, **kw)
        self.seen: list[str] = []

    def on_start(self) -> None:
        self.seen.append("start")

    def on_bar(self, bar: Bar) -> None:
        self.seen.append(f"bar {bar.close}")

    def on_quote(self, quote: Quote) -> None:
        self.seen.append("quote")

    def on_trade_tick(self, tick: TradeTick) -> None:
        self.seen.append("tick")

    def on_order_event(self, event: Any) -> None:
        self.seen.append(type(event).__name__)

    def on_fill(self, fill: Any) -> None:
        self.seen.append("fill")

    def on_stop(self) -> None:
        self.seen.append("stop")


class Exploding(Recorder):
    def on_bar(self, bar: Bar) -> None:
        super().on_bar(bar)
        if bar.close > 1:
            raise RuntimeError("boom at close 2")


def test_handlers_are_called_in_order_through_the_runner() -> None:
    ctx = FakeStrategyContext()
    strategy = Recorder(ctx)
    runner = StrategyRunner([strategy])
    runner.start()
    runner.on_bar(make_bar(1))
    runner.on_quote(Quote(X, T0, Decimal(1), Decimal(2), Decimal(1), Decimal(1)))
    runner.on_trade_tick(TradeTick(X, T0, Decimal(1), Decimal(1), VenueTradeId("a")))
    runner.on_order_event(strategy, fill())
    cancelled = OrderCancelled(
        event_id=EventId.new(), occurred_at=T0, order_id=OrderId.new(), reason="user"
    )
    runner.on_order_event(strategy, cancelled)
    runner.stop()
    assert strategy.seen == [
        "start",
        "bar 1",
        "quote",
        "tick",
        "OrderFilled",
        "fill",
        "OrderCancelled",
        "stop",
    ]
    assert strategy.state is StrategyState.STOPPED
    runner.on_bar(make_bar(2))
    assert strategy.seen[-1] == "stop"


def test_a_strategy_added_with_instruments_gets_only_their_market_data() -> None:
    ctx = FakeStrategyContext()
    everything, only_y = Recorder(ctx, name="all"), Recorder(ctx, name="y")
    runner = StrategyRunner([everything])
    y = InstrumentId.of("SIM", "Y")
    runner.add(only_y, instruments=[y])
    runner.start()
    runner.on_bar(make_bar(1))  # of X
    runner.on_trade_tick(TradeTick(y, T0, Decimal(1), Decimal(1), VenueTradeId("a")))
    runner.on_order_event(only_y, fill())  # its own orders' events whatever the instrument
    assert everything.seen == ["start", "bar 1", "tick"]
    assert only_y.seen == ["start", "tick", "OrderFilled", "fill"]
    assert runner.strategies == [everything, only_y]


def test_a_raising_strategy_is_paused_and_the_other_keeps_running() -> None:
    ctx = FakeStrategyContext()
    bad, good = Exploding(ctx, name="bad"), Recorder(ctx, name="good")
    runner = StrategyRunner([bad, good])
    runner.start()
    for i, close in enumerate([1, 2, 3]):
        runner.on_bar(make_bar(close, i))  # does not raise
    assert bad.state is StrategyState.PAUSED
    assert bad.failure is not None
    assert bad.failure.handler == "on_bar"
    assert bad.failure.error == "RuntimeError: boom at close 2"
    assert "boom at close 2" in bad.failure.traceback and "on_bar" in bad.failure.traceback
    assert bad.seen == ["start", "bar 1", "bar 2"]  # nothing delivered after the failure
    assert good.seen == ["start", "bar 1", "bar 2", "bar 3"]
    assert runner.paused() == [bad]
    bad.resume()
    runner.on_bar(make_bar(0.5, 4))
    assert bad.seen[-1] == "bar 0.5" and state_of(bad) is StrategyState.RUNNING


def test_a_failing_on_start_pauses_before_any_event() -> None:
    class BadStart(Recorder):
        def on_start(self) -> None:
            raise ValueError("no")

    strategy = BadStart(FakeStrategyContext())
    strategy.start()
    strategy.dispatch("on_bar", make_bar(1))
    assert strategy.state is StrategyState.PAUSED and strategy.seen == []
    strategy.stop()  # on_stop is not called on a paused strategy
    assert state_of(strategy) is StrategyState.STOPPED and strategy.seen == []


def test_order_helpers_go_through_the_context_as_intents() -> None:
    ctx = FakeStrategyContext(fill_market_orders=False)
    s = Strategy(ctx)
    q = Decimal(2)
    ids = [
        s.submit_market(X, OrderSide.BUY, q, client_tag="m"),
        s.submit_limit(X, OrderSide.SELL, q, Decimal(11), time_in_force=TimeInForce.DAY),
        s.submit_stop(X, OrderSide.SELL, q, Decimal(9)),
        s.submit_stop_limit(X, OrderSide.BUY, q, Decimal(12), Decimal("12.5")),
    ]
    assert len(set(ids)) == 4
    assert [(o.order_type, o.price, o.stop_price) for o in ctx.orders] == [
        (OrderType.MARKET, None, None),
        (OrderType.LIMIT, Decimal(11), None),
        (OrderType.STOP, None, Decimal(9)),
        (OrderType.STOP_LIMIT, Decimal("12.5"), Decimal(12)),
    ]
    assert ctx.orders[0].client_tag == "m" and ctx.orders[1].time_in_force is TimeInForce.DAY
    entry = OrderIntent(X, OrderSide.BUY, q, OrderType.LIMIT, Decimal(10))
    s.submit_bracket(entry, take_profit=Decimal(12), stop_loss=Decimal(9))
    assert ctx.brackets == [BracketIntent(entry, Decimal(12), Decimal(9))]
    s.cancel(ClientOrderId("fake-1"))
    s.close_position(X)
    s.emit_signal(X, SignalType.BUY, 0.5, entry_price=Decimal(10))
    assert ctx.cancelled == [ClientOrderId("fake-1")] and ctx.closed == [X]
    assert ctx.signals[0].signal_type is SignalType.BUY and ctx.signals[0].strength == 0.5
    assert ctx.signals[0].levels == {
        "entry_price": Decimal(10),
        "stop_loss": None,
        "take_profit": None,
        "terms": None,
    }


def test_reads_position_portfolio_clock_and_indicators() -> None:
    ctx = FakeStrategyContext(equity_value=Decimal(5000), cash_value=Decimal(1200))
    ctx.positions[X] = Decimal(-3)
    ctx.sim_clock.set_time(1_700_000_000 * 10**9)
    s = Strategy(ctx)
    assert s.position(X) == Decimal(-3)
    assert s.position(InstrumentId.of("SIM", "Y")) == 0
    assert (s.equity(), s.cash()) == (Decimal(5000), Decimal(1200))
    assert s.clock.timestamp_ns() == 1_700_000_000 * 10**9
    sma = s.indicator("sma", period=2)
    sma.update_bar(0, 0, 0, 1, 0)
    assert sma.update_bar(0, 0, 0, 3, 0) == pytest.approx(2.0)
    assert not hasattr(s, "venue") and not hasattr(s, "order_manager")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"quantity": Decimal(0)}, "quantity"),
        ({"order_type": OrderType.LIMIT}, "price"),
        ({"order_type": OrderType.MARKET, "price": Decimal(1)}, "price"),
        ({"order_type": OrderType.STOP}, "stop_price"),
        ({"order_type": OrderType.STOP_LIMIT, "price": Decimal(1)}, "stop_price"),
        ({"order_type": OrderType.LIMIT, "price": Decimal(-1)}, "price"),
    ],
)
def test_bad_order_intents_are_rejected(kwargs: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {"quantity": Decimal(1)} | kwargs
    with pytest.raises(ValidationError) as info:
        OrderIntent(X, OrderSide.BUY, **values)
    assert info.value.field == field


def test_bad_brackets_are_rejected() -> None:
    buy = OrderIntent(X, OrderSide.BUY, Decimal(1), OrderType.LIMIT, Decimal(10))
    with pytest.raises(ValidationError, match="take_profit"):
        BracketIntent(buy, Decimal(9), Decimal(12))
    with pytest.raises(ValidationError, match="between"):
        BracketIntent(buy, Decimal(20), Decimal(11))
    sell = OrderIntent(X, OrderSide.SELL, Decimal(1))
    assert BracketIntent(sell, Decimal(8), Decimal(12)).stop_loss == Decimal(12)


@dataclass(frozen=True)
class Params:
    period: int
    threshold: Decimal = Decimal(1)
    label: str = "x"

    def __post_init__(self) -> None:
        if self.period < 2:
            raise ValidationError("period", "must be at least 2", self.period)


class WithParams(Strategy):
    params_type = Params


def test_typed_parameters_are_validated_and_converted() -> None:
    s = WithParams(FakeStrategyContext(), {"period": 5, "threshold": "1.5"})
    assert s.params == Params(5, Decimal("1.5"))


@pytest.mark.parametrize(
    ("values", "field", "rule"),
    [
        ({}, "period", "required"),
        ({"period": 5, "nope": 1}, "nope", "unknown parameter"),
        ({"period": "5"}, "period", "must be int"),
        ({"period": True}, "period", "must be int"),
        ({"period": 5, "threshold": "abc"}, "threshold", "must be a decimal number"),
        ({"period": 5, "label": 3}, "label", "must be str"),
        ({"period": 1}, "period", "must be at least 2"),
    ],
)
def test_bad_parameters_name_the_field(values: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(StrategyParameterError) as info:
        WithParams(FakeStrategyContext(), values)
    assert (info.value.field, info.value.rule) == (field, rule)


def test_a_strategy_without_parameters_rejects_any() -> None:
    with pytest.raises(StrategyParameterError, match="x: unknown parameter"):
        Strategy(FakeStrategyContext(), {"x": 1})


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("momentum_breakout", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["momentum_breakout"] = module
    spec.loader.exec_module(module)
    return module


def test_example_momentum_breakout_enters_on_breakout_and_exits_on_low() -> None:
    module = load_example()
    ctx = FakeStrategyContext()
    strategy = module.MomentumBreakout(ctx, {"entry_period": 3, "exit_period": 2, "quantity": 2})
    runner = StrategyRunner([strategy])
    runner.start()
    closes = [10, 11, 10.5, 10.8, 11.5, 12, 11.9, 11.0]
    for i, close in enumerate(closes):
        runner.on_bar(make_bar(close, i, high=close + 0.2, low=close - 0.2))
    # Bar 4 (11.5) breaks the 3-bar high 11.2 of bars 1-3; bar 7 (11.0) breaks the
    # 2-bar low 11.7 of bars 5-6.
    assert [(o.side, o.quantity) for o in ctx.orders] == [(OrderSide.BUY, Decimal(2))]
    assert ctx.closed == [X]
    assert strategy.state is StrategyState.RUNNING
    with pytest.raises(StrategyParameterError) as info:
        module.MomentumBreakout(ctx, {"exit_period": 0})
    assert info.value.field == "exit_period"
