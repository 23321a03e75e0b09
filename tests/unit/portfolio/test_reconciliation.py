"""Reconciliation against the simulated exchange: missing fills, lost orders, positions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal as D

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import SimulatedClock
from omoitrade.execution.journal import InMemoryOrderJournal
from omoitrade.execution.order_manager import OrderManager
from omoitrade.execution.order_requests import OrderRequest
from omoitrade.model import Order
from omoitrade.model.enums import DeliveryFailure, OrderSide, OrderStatus, OrderType
from omoitrade.model.identifiers import AccountId, ClientOrderId, InstrumentId, PortfolioId
from omoitrade.model.venue import CancelOrder, SubmitOrder
from omoitrade.portfolio.reconciliation import (
    DISCREPANCY_TOPIC,
    Reconciler,
    ReconciliationResult,
)
from omoitrade.testing.factories import T0, make_instrument
from omoitrade.testing.venues import FakeFlakyVenue
from omoitrade.venues.sim.exchange import SimExchangeConfig, SimulatedExchange

BTC = make_instrument()
PORTFOLIO = PortfolioId.new()
ME, MAKER = AccountId("desk-1"), AccountId("maker")


class ExchangeWithSubmit:
    """The exchange as the venue sees it, with ``submit`` replaced (the exchange may be
    compiled, see docs/performance.md: a method cannot be replaced on it)."""

    def __init__(self, exchange: SimulatedExchange, submit: Callable[[SubmitOrder], object]):
        self._exchange = exchange
        self.submit = submit

    def __getattr__(self, name: str) -> object:
        return getattr(self._exchange, name)


class Setup:
    def __init__(self) -> None:
        self.clock = SimulatedClock(int(T0.timestamp() * 1e9))
        self.exchange = SimulatedExchange(self.clock, [BTC], SimExchangeConfig())
        self.exchange.open_account(ME, {"USD": D("1000000")})
        self.exchange.open_account(MAKER, {"BTC": D("100")})
        self.venue = FakeFlakyVenue(self.exchange)
        self.bus = MessageBus()
        self.found: list[object] = []
        self.bus.subscribe(DISCREPANCY_TOPIC, self.found.append)
        self.journal = InMemoryOrderJournal()
        self.oms = self.manager()
        self.reconciler = Reconciler(self.clock, self.bus, self.oms, self.venue, grace_ns=10**9)

    def manager(self) -> OrderManager:
        return OrderManager(
            clock=self.clock,
            bus=self.bus,
            journal=self.journal,
            venues={"SIM": self.venue},
            instruments={BTC.id: BTC},
            accounts={PORTFOLIO: ME},
        )

    def maker(self, cid: str, side: OrderSide, qty: str, price: str) -> None:
        self.exchange.submit(
            SubmitOrder(
                MAKER, ClientOrderId(cid), BTC.id, side, OrderType.LIMIT, D(qty), price=D(price)
            )
        )

    def buy(self, cid: str, qty: str, price: str) -> Order:
        return self.oms.submit(
            OrderRequest(
                PORTFOLIO,
                BTC.id,
                ClientOrderId(cid),
                OrderSide.BUY,
                OrderType.LIMIT,
                D(qty),
                price=D(price),
            )
        )

    def reconcile(self, positions: dict[InstrumentId, D] | None = None) -> ReconciliationResult:
        return asyncio.run(self.reconciler.reconcile(PORTFOLIO, ME, T0, positions))


def test_fills_made_while_we_were_down_are_applied_once_on_reconciliation() -> None:
    s = Setup()
    order = s.buy("b1", "0.5", "42000.00")
    s.venue.disconnect()  # our process is down: the fills never reach it
    s.maker("a1", OrderSide.SELL, "0.2", "42000.00")
    s.maker("a2", OrderSide.SELL, "0.3", "42000.00")
    s.venue.reconnect()
    assert order.filled_quantity == 0
    result = s.reconcile({BTC.id: D("0.5")})
    assert result.fills_applied == 2
    assert order.status is OrderStatus.FILLED
    assert len(s.journal.trades_of(order.id)) == 2
    again = s.reconcile({BTC.id: D("0.5")})
    assert again.clean and again.fills_applied == 0


def test_an_order_cancelled_at_the_venue_while_we_were_down_is_closed() -> None:
    s = Setup()
    order = s.buy("b1", "0.5", "41000.00")
    s.venue.disconnect()
    s.exchange.cancel(CancelOrder(ME, ClientOrderId("b1"), BTC.id))
    s.venue.reconnect()
    result = s.reconcile()
    assert order.status is OrderStatus.CANCELLED
    assert [d.kind for d in result.discrepancies] == ["order_closed_at_venue"]


def test_an_order_that_never_reached_the_venue_is_rejected_after_the_grace_window() -> None:
    s = Setup()
    s.venue.exchange = ExchangeWithSubmit(s.exchange, lambda command: None)  # type: ignore[assignment]
    s.venue.fail_next(1, DeliveryFailure.AMBIGUOUS)
    order = s.buy("b1", "0.5", "41000.00")
    s.venue.exchange = s.exchange
    early = s.reconcile()
    assert early.orders_closed == 0 and order.is_open
    s.clock.advance_by(2 * 10**9)
    late = s.reconcile()
    assert late.orders_closed == 1
    assert order.status is OrderStatus.REJECTED
    assert order.reject_reason == "not found at the venue (reconciliation)"


def test_unknown_venue_orders_and_position_differences_are_reported() -> None:
    s = Setup()
    s.exchange.submit(
        SubmitOrder(
            ME,
            ClientOrderId("manual"),
            BTC.id,
            OrderSide.BUY,
            OrderType.LIMIT,
            D("0.1"),
            price=D("40000.00"),
        )
    )
    result = s.reconcile({BTC.id: D("1")})
    kinds = [d.kind for d in result.discrepancies]
    assert kinds == ["unknown_venue_order", "position"]
    assert s.found == result.discrepancies
