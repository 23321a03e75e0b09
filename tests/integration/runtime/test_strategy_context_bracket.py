"""A strategy's context on a real trading node: brackets, a rule strategy's stop and
reverse through the signal pipeline, and no path from a strategy around the risk checks."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any, ClassVar

import pytest
from test_trading_node import BTC, MAKER, World

from omoitrade.core.approvals import ApprovalDesk
from omoitrade.execution.order_manager import OrderManager
from omoitrade.model import Order
from omoitrade.model.enums import OrderSide, OrderStatus, OrderType, SignalType, Timeframe
from omoitrade.model.events import (
    OrderEvent,
    OrderSubmitted,
    SignalCreated,
    SignalExitTriggered,
)
from omoitrade.model.identifiers import AccountId, BarId, ClientOrderId, StrategyId
from omoitrade.model.market_data import Bar
from omoitrade.model.venue import SubmitOrder, VenueAdapter
from omoitrade.runtime.signal_wiring import signal_pipeline
from omoitrade.runtime.strategy_context import NodeStrategyContext, StrategyRouter
from omoitrade.runtime.trading_node import TradingNode
from omoitrade.strategy.base import OrderIntent, Strategy, StrategyRunner
from omoitrade.strategy.document import validate_document
from omoitrade.strategy.rule_strategy import RuleStrategy

TAKER = AccountId("taker")


class Bracketeer(Strategy):
    """Buys ``quantity`` BTC at market on start, with a take profit at 43000 and a stop at
    41000."""

    quantity: ClassVar[D] = D("0.5")

    def on_start(self) -> None:
        self.events: list[OrderEvent] = []
        entry = OrderIntent(BTC.id, OrderSide.BUY, self.quantity)
        self.entry = self.submit_bracket(entry, take_profit=D("43000.00"), stop_loss=D("41000.00"))

    def on_order_event(self, event: OrderEvent) -> None:
        self.events.append(event)

    def sent(self) -> list[ClientOrderId]:
        """The client order ids of its orders, as their events told it."""
        return [e.client_order_id for e in self.events if isinstance(e, OrderSubmitted)]


class Desk:
    """The node of ``test_trading_node.World`` with a signal pipeline, a strategy router
    and one strategy trading through a :class:`NodeStrategyContext`."""

    def __init__(self, build: Any = Bracketeer) -> None:
        self.world = w = World()
        w.exchange.open_account(TAKER, {"USD": D("10000000"), "BTC": D("100")})
        self.numbers = iter(range(1, 1000))
        self.pipeline = pipeline = signal_pipeline(w.node, ApprovalDesk(w.clock, w.node.ids))
        self.runner = StrategyRunner()
        self.router = StrategyRouter(w.node, self.runner)
        self.context = NodeStrategyContext(
            node=w.node,
            pipeline=pipeline,
            portfolio_id=w.portfolio.id,
            strategy_id=StrategyId.new(w.node.ids),
            name="bracketeer",
        )
        self.strategy = build(self.context)
        self.router.add(self.strategy, self.context)
        self.runner.start()
        self.router.drain()

    def trade(self, account: AccountId, side: OrderSide, price: str, quantity: str) -> None:
        """A limit order of another account at the exchange; our orders' events delivered."""
        self.world.exchange.submit(
            SubmitOrder(
                account,
                ClientOrderId(f"{account}-{next(self.numbers)}"),
                BTC.id,
                side,
                OrderType.LIMIT,
                D(quantity),
                price=D(price),
            )
        )
        self.router.drain()

    def order(self, tag: str) -> Order:
        """The strategy's order whose client order id ends with ``-tag``."""
        (cid,) = [c for c in self.strategy.sent() if c.endswith(f"-{tag}")]
        found = self.world.node.orders.registry.by_client(self.world.portfolio.id, cid)
        assert found is not None and self.context.owns(found)
        return found


def test_a_filled_bracket_entry_places_its_exits_as_one_oco_pair() -> None:
    desk = Desk()
    entry = desk.world.node.orders.order(desk.world.portfolio.id, desk.strategy.entry)
    assert entry is not None
    assert (entry.status, entry.average_fill_price) == (OrderStatus.FILLED, D("42000.00"))
    profit, stop = desk.order("tp"), desk.order("sl")
    assert (profit.order_type, profit.side, profit.price, profit.quantity) == (
        OrderType.LIMIT,
        OrderSide.SELL,
        D("43000.00"),
        D("0.5"),
    )
    assert (stop.order_type, stop.side, stop.stop_price, stop.quantity) == (
        OrderType.STOP,
        OrderSide.SELL,
        D("41000.00"),
        D("0.5"),
    )
    assert profit.status is stop.status is OrderStatus.SUBMITTED
    assert profit.oco_group is not None and profit.oco_group == stop.oco_group
    assert desk.context.position(BTC.id) == D("0.5")
    assert any(getattr(e, "order_id", None) == entry.id for e in desk.strategy.events)


@pytest.mark.parametrize("leg", ["tp", "sl"])
def test_one_exit_filling_cancels_the_other(leg: str) -> None:
    desk = Desk()
    if leg == "tp":
        desk.trade(TAKER, OrderSide.BUY, "43000.00", "10")  # 9.5 left at 42000, then ours
    else:
        desk.trade(MAKER, OrderSide.BUY, "40950.00", "10")
        desk.trade(TAKER, OrderSide.SELL, "40950.00", "15")  # through 41000: the stop fires
    filled, other = desk.order(leg), desk.order("sl" if leg == "tp" else "tp")
    assert filled.status is OrderStatus.FILLED
    assert other.status is OrderStatus.CANCELLED
    assert desk.context.position(BTC.id) == 0
    assert desk.world.node.orders.open_orders(desk.world.portfolio.id) == []


def test_a_refused_bracket_entry_places_no_exits() -> None:
    class TooBig(Bracketeer):
        quantity = D("2")  # over the 1 BTC order size limit

    desk = Desk(TooBig)
    entry = desk.world.node.orders.order(desk.world.portfolio.id, desk.strategy.entry)
    assert entry is not None and entry.status is OrderStatus.REJECTED
    assert {e.order_id for e in desk.strategy.events} == {entry.id}  # nothing but the entry
    assert desk.world.node.orders.open_orders(desk.world.portfolio.id) == []


FORBIDDEN = (VenueAdapter, OrderManager, TradingNode)


def reachable(root: object) -> list[tuple[str, object]]:
    """``root``'s public attributes and theirs, one level deep (items of containers too)."""
    found: list[tuple[str, object]] = []
    for name in (n for n in dir(root) if not n.startswith("_")):
        try:
            value = getattr(root, name)
        except Exception:  # a property that cannot be read here leads nowhere
            continue
        found.append((name, value))
        items = value.values() if isinstance(value, dict) else value
        if isinstance(items, list | tuple | set | frozenset | type({}.values())):
            found += [(f"{name}[]", item) for item in items]
        for inner in (n for n in dir(value) if not n.startswith("_")):
            try:
                found.append((f"{name}.{inner}", getattr(value, inner)))
            except Exception:
                continue
    return found


def rule_strategy(context: NodeStrategyContext) -> Strategy:
    """Long on a close crossing above 42000, short on one crossing below (0.1 BTC)."""
    document = {
        "name": "rules",
        "version": 1,
        "instruments": ["SIM:BTC/USD"],
        "timeframe": "1m",
        "entry_rules": {"crosses_above": ["close", 42000]},
        "exit_rules": {"crosses_below": ["close", 42000]},
        "risk_parameters": {"direction": "both", "sizing": {"fixed_quantity": "0.1"}},
    }
    return RuleStrategy(context, validate_document(document))


def test_a_rule_strategy_with_both_reverses_through_the_signal_pipeline() -> None:
    desk = Desk(rule_strategy)
    created: list[SignalCreated] = []
    desk.world.node.bus.subscribe(SignalCreated.topic, created.append)
    exits: list[SignalExitTriggered] = []
    desk.world.node.bus.subscribe(SignalExitTriggered.topic, exits.append)
    for i, close in enumerate(["41000", "43000", "41000", "41000"]):
        desk.world.clock.advance_by(60 * 1_000_000_000)  # a minute bar has closed
        price = D(close)
        at = desk.world.clock.utc_now()
        bar = Bar(BarId.new(), BTC.id, at, Timeframe.M1, price, price, price, price, D(1))
        desk.router.guarded(desk.runner.on_bar, bar)
        held = desk.context.position(BTC.id)
        assert held == [0, D("0.1"), 0, D("-0.1")][i]  # long; out; short on the next bar
    assert [c.signal_type for c in created] == [SignalType.BUY, SignalType.CLOSE, SignalType.SELL]
    assert [e.reason for e in exits] == ["exit_signal"]  # the long left on the CLOSE
    trade = desk.pipeline.trade(desk.context.strategy_id, BTC.id)
    assert trade is not None and trade.side is OrderSide.SELL
    assert trade.signal.id == created[-1].signal_id


@pytest.mark.parametrize("build", [Bracketeer, rule_strategy])
def test_no_public_path_leads_from_a_strategy_or_its_context_to_a_venue(build: Any) -> None:
    desk = Desk(build)
    for root in (desk.strategy, desk.context):
        leaks = [(name, value) for name, value in reachable(root) if isinstance(value, FORBIDDEN)]
        assert leaks == [], f"{type(root).__name__} exposes {leaks}"
    assert not hasattr(desk.context, "node") and not hasattr(desk.context, "pipeline")
