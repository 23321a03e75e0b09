"""The trading node's reconciliation: fills it missed are applied once, and positions are
compared after them (no false difference)."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

from test_trading_node import BTC, ME, World

from omoitrade.core.bus import MessageBus
from omoitrade.execution.journal import InMemoryOrderJournal
from omoitrade.model.enums import OrderSide, OrderStatus, PositionSide
from omoitrade.model.identifiers import StrategyId
from omoitrade.runtime.trading_node import PortfolioSetup, TradingNode
from omoitrade.testing import factories as f
from omoitrade.venues.sim.exchange import SimExchangeConfig, SimulatedExchange


def test_a_missed_fill_is_applied_once_and_leaves_no_position_difference() -> None:
    w = World()
    assert w.venue is not None
    bot = StrategyId.new()
    w.venue.disconnect()  # the venue fills the order; its reports never reach the node
    order = w.order("b1", OrderSide.BUY, "0.5", strategy=bot)
    w.venue.reconnect()
    assert order.status is OrderStatus.SUBMITTED
    assert w.node.ledger.position(w.portfolio.id, BTC.id) is None

    [result] = asyncio.run(w.node.reconcile())
    assert result.fills_applied == 1
    assert [d.kind for d in result.discrepancies] == ["missing_fill"]
    assert order.status is OrderStatus.FILLED
    position = w.node.ledger.position(w.portfolio.id, BTC.id)
    assert position is not None
    assert (position.side, position.quantity) == (PositionSide.LONG, D("0.5"))
    assert len(w.node.ledger.pnl_records(w.portfolio.id)) == 1
    assert set(w.node.ledger.pnl_by_strategy(w.portfolio.id)) == {bot}

    [again] = asyncio.run(w.node.reconcile())
    assert again.clean and again.fills_applied == 0
    assert len(w.node.ledger.pnl_records(w.portfolio.id)) == 1


def test_positions_are_compared_only_at_the_venue_of_their_instrument() -> None:
    w = World()
    alt_btc = f.make_instrument(exchange="ALT")
    alt = SimulatedExchange(w.clock, [alt_btc], SimExchangeConfig(venue="ALT"))
    alt.open_account(ME, {"USD": D("1000000")})
    assert w.venue is not None
    w.venue.disconnect()  # the one-venue node is gone
    w.node = TradingNode(
        clock=w.clock,
        bus=MessageBus(),
        journal=InMemoryOrderJournal(),
        venues={"SIM": w.exchange, "ALT": alt},
        instruments=[BTC, alt_btc],
        portfolios=[PortfolioSetup(w.portfolio, ME, w.limits)],
    )
    w.mark("41990.00", "42000.00")
    assert w.order("b1", OrderSide.BUY, "0.5").status is OrderStatus.FILLED  # at SIM
    results = asyncio.run(w.node.reconcile())
    assert len(results) == 2
    assert all(r.clean for r in results)  # ALT holds no BTC of SIM's, and need not
