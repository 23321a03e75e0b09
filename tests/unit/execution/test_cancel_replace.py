"""Amend by cancel-replace, at a venue that cannot amend a working order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from decimal import Decimal as D
from typing import ClassVar

import pytest
from test_order_manager import BTC, MAKER, ME, PORTFOLIO, Desk

from omoitrade.core.errors import Conflict
from omoitrade.execution.cancel_replace import replaced_client_id, replacement_client_id
from omoitrade.execution.journal import InMemoryOrderJournal
from omoitrade.execution.order_manager import OrderManager
from omoitrade.execution.order_requests import (
    AmendRefused,
    OrderManagerConfig,
    OrderRequest,
    PreTradeRejection,
)
from omoitrade.model import Order
from omoitrade.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce, UserRole
from omoitrade.model.events import DomainEvent, OrderAmended, OrderCancelled
from omoitrade.model.identifiers import ClientOrderId
from omoitrade.model.trades import Trade
from omoitrade.model.venue import (
    AmendOrder,
    CancelOrder,
    ReportHandler,
    SubmitOrder,
    VenueCapabilities,
    VenueReport,
    capabilities_of,
)
from omoitrade.risk import InMemoryRiskView, RiskEngine, TradingState
from omoitrade.risk.decisions import APPROVED
from omoitrade.testing.factories import make_organization, make_user
from omoitrade.venues.sim.exchange import SimulatedExchange

Command = SubmitOrder | CancelOrder | AmendOrder


class NoAmendVenue:
    """The simulated exchange behind the network edge of a venue that cannot amend.

    ``sent`` is every command that crossed the edge. With ``hold_cancels``, cancels wait
    in the network until :meth:`deliver_cancels` (so a fill can race them). ``deafen``
    stops reports reaching the handlers so far (a process that died).
    """

    capabilities: ClassVar[VenueCapabilities] = VenueCapabilities(amend=False)

    def __init__(self, exchange: SimulatedExchange) -> None:
        self._exchange = exchange
        self.sent: list[Command] = []
        self.held: list[CancelOrder] = []
        self.hold_cancels = False
        self.before_submit: Callable[[SubmitOrder], object] | None = None
        self._handlers: list[ReportHandler] = []
        exchange.on_report(self._emit)

    def __getattr__(self, name: str) -> object:
        return getattr(self._exchange, name)

    def submit(self, command: SubmitOrder) -> None:
        if self.before_submit is not None:
            self.before_submit(command)
        self.sent.append(command)
        self._exchange.submit(command)

    def cancel(self, command: CancelOrder) -> None:
        self.sent.append(command)
        if self.hold_cancels:
            self.held.append(command)
        else:
            self._exchange.cancel(command)

    def amend(self, command: AmendOrder) -> None:
        raise AssertionError("this venue cannot amend: the order manager must cancel-replace")

    def deliver_cancels(self) -> None:
        held, self.held = self.held, []
        for command in held:
            self._exchange.cancel(command)

    def on_report(self, handler: ReportHandler) -> None:
        self._handlers.append(handler)

    def deafen(self) -> None:
        self._handlers.clear()

    def _emit(self, report: VenueReport) -> None:
        for handler in list(self._handlers):
            handler(report)

    def submits(self, cid: str) -> list[SubmitOrder]:
        return [c for c in self.sent if isinstance(c, SubmitOrder) and c.client_order_id == cid]

    def cancels(self, cid: str) -> list[CancelOrder]:
        return [c for c in self.sent if isinstance(c, CancelOrder) and c.client_order_id == cid]


class NoAmendDesk(Desk):
    """:class:`Desk` whose order manager trades through a :class:`NoAmendVenue`."""

    edge: NoAmendVenue

    def manager(self, check: object = None) -> OrderManager:
        if not hasattr(self, "edge"):
            self.edge = NoAmendVenue(self.exchange)
        return OrderManager(
            clock=self.clock,
            bus=self.bus,
            journal=self.journal,
            venues={"SIM": self.edge},  # type: ignore[dict-item]
            instruments={BTC.id: BTC},
            accounts={PORTFOLIO: ME},
            pre_trade_check=check,  # type: ignore[arg-type]
            config=self.config,
        )

    def maker(self, side: OrderSide, cid: str, qty: str, price: str) -> None:
        self.exchange.submit(
            SubmitOrder(MAKER, ClientOrderId(cid), BTC.id, side, OrderType.LIMIT, D(qty),
                        price=D(price))
        )  # fmt: skip

    def stored(self, cid: str) -> Order:
        order = self.journal.order_by_client_id(PORTFOLIO, ClientOrderId(cid))
        assert order is not None, f"{cid} is not journaled"
        return order

    def at_venue(self, cid: str) -> object:
        return asyncio.run(self.exchange.order_status(ME, ClientOrderId(cid)))


def test_capabilities_default_to_amend_and_a_venue_may_declare_otherwise() -> None:
    desk = NoAmendDesk()
    assert capabilities_of(desk.venue).amend is True  # declares nothing: the defaults
    assert capabilities_of(desk.edge).amend is False


def test_replacement_ids_derive_from_the_original_and_lead_back_to_it() -> None:
    assert replacement_client_id("b1") == "b1.r1"
    assert replacement_client_id("b1.r1") == "b1.r2"
    assert replaced_client_id("b1.r2") == "b1.r1" and replaced_client_id("b1.r1") == "b1"
    assert replaced_client_id("b1") is None and replaced_client_id("b1.r0") is None
    with pytest.raises(AmendRefused, match="too long"):
        replacement_client_id("x" * 63)


def test_an_amend_cancels_then_sends_a_replacement_at_the_new_price() -> None:
    desk = NoAmendDesk()
    desk.edge.hold_cancels = True
    desk.buy("b1", "1", "41000.00", oco_group="g1", time_in_force=TimeInForce.GTC)

    returned = desk.oms.amend(PORTFOLIO, ClientOrderId("b1"), price=D("41500.00"))

    assert returned.client_order_id == "b1" and returned.status is OrderStatus.SUBMITTED
    waiting = desk.stored("b1.r1")  # journaled before the venue hears of it
    assert (waiting.status, waiting.price, waiting.quantity) == (
        OrderStatus.PENDING, D("41500.00"), D("1"),
    )  # fmt: skip
    assert desk.edge.submits("b1.r1") == [] and len(desk.edge.cancels("b1")) == 1
    assert [o.client_order_id for o in desk.oms.open_orders()] == ["b1"]
    assert desk.oms.order(PORTFOLIO, ClientOrderId("b1.r1")) is waiting

    desk.edge.deliver_cancels()

    original, replacement = desk.stored("b1"), desk.stored("b1.r1")
    assert original.status is OrderStatus.CANCELLED
    assert original.cancel_reason == "replaced by b1.r1"  # the link, in its event too
    cancelled = [e for e in desk.events if isinstance(e, OrderCancelled)]
    assert [(e.order_id, e.reason) for e in cancelled] == [(original.id, "replaced by b1.r1")]
    (command,) = desk.edge.submits("b1.r1")
    assert (command.price, command.quantity, command.side, command.order_type) == (
        D("41500.00"), D("1"), OrderSide.BUY, OrderType.LIMIT,
    )  # fmt: skip
    assert (command.oco_group, command.time_in_force) == ("g1", TimeInForce.GTC)
    assert replacement.status is OrderStatus.SUBMITTED and replacement.exchange_order_id
    assert (replacement.oco_group, replacement.signal_id) == (original.oco_group, None)
    assert desk.at_venue("b1.r1") is not None
    assert [o.client_order_id for o in desk.oms.open_orders()] == ["b1.r1"]


def test_a_cancel_confirmed_at_once_sends_the_replacement_in_the_same_call() -> None:
    desk = NoAmendDesk()
    desk.buy("b1", "1", "41000.00")

    desk.oms.amend(PORTFOLIO, ClientOrderId("b1"), price=D("40900.00"), quantity=D("2"))

    assert [type(c).__name__ for c in desk.edge.sent] == ["SubmitOrder", "CancelOrder",
                                                          "SubmitOrder"]  # fmt: skip
    (command,) = desk.edge.submits("b1.r1")
    assert (command.price, command.quantity) == (D("40900.00"), D("2"))
    assert desk.stored("b1.r1").status is OrderStatus.SUBMITTED


def test_a_fill_racing_the_cancel_means_no_replacement() -> None:
    desk = NoAmendDesk()
    desk.edge.hold_cancels = True
    desk.buy("b2", "1", "41000.00")
    desk.oms.amend(PORTFOLIO, ClientOrderId("b2"), price=D("40900.00"))

    desk.maker(OrderSide.SELL, "m1", "1", "41000.00")  # fills b2 before the cancel lands
    desk.edge.deliver_cancels()  # too late: the venue has nothing to cancel

    assert desk.stored("b2").status is OrderStatus.FILLED
    replacement = desk.stored("b2.r1")
    assert replacement.status is OrderStatus.CANCELLED
    assert replacement.cancel_reason is not None and "FILLED" in replacement.cancel_reason
    assert desk.edge.submits("b2.r1") == [] and desk.at_venue("b2.r1") is None
    assert desk.oms.open_orders() == []


def test_a_partial_fill_before_the_cancel_leaves_the_remainder_to_the_replacement() -> None:
    desk = NoAmendDesk()
    desk.edge.hold_cancels = True
    desk.buy("b3", "2", "41000.00")
    desk.maker(OrderSide.SELL, "m1", "0.5", "41000.00")
    desk.oms.amend(PORTFOLIO, ClientOrderId("b3"), quantity=D("3"), price=D("40950.00"))
    desk.maker(OrderSide.SELL, "m2", "0.25", "41000.00")  # another fill, racing the cancel

    desk.edge.deliver_cancels()

    original, replacement = desk.stored("b3"), desk.stored("b3.r1")
    assert (original.status, original.filled_quantity) == (OrderStatus.CANCELLED, D("0.75"))
    (command,) = desk.edge.submits("b3.r1")
    assert (command.quantity, command.price) == (D("2.25"), D("40950.00"))  # 3 - 0.75
    assert (replacement.status, replacement.quantity) == (OrderStatus.SUBMITTED, D("2.25"))
    amended = [e for e in desk.events if isinstance(e, OrderAmended)]
    assert [(e.order_id, e.quantity) for e in amended] == [(replacement.id, D("2.25"))]


def test_fills_that_reach_the_new_total_before_the_cancel_leave_nothing_to_replace() -> None:
    desk = NoAmendDesk()
    desk.edge.hold_cancels = True
    desk.buy("b3", "2", "41000.00")
    desk.oms.amend(PORTFOLIO, ClientOrderId("b3"), quantity=D("1"))
    desk.maker(OrderSide.SELL, "m1", "1", "41000.00")  # the new total, filled

    desk.edge.deliver_cancels()

    assert desk.stored("b3").status is OrderStatus.CANCELLED
    assert desk.stored("b3.r1").status is OrderStatus.CANCELLED
    assert desk.edge.submits("b3.r1") == []


def test_a_retry_never_doubles_the_replacement_even_after_a_restart() -> None:
    desk = NoAmendDesk()
    desk.edge.hold_cancels = True
    desk.buy("b4", "1", "41000.00")
    desk.oms.amend(PORTFOLIO, ClientOrderId("b4"), price=D("40900.00"))

    again = desk.oms.amend(PORTFOLIO, ClientOrderId("b4"), price=D("40900.00"))  # a retry

    assert again.client_order_id == "b4" and len(desk.edge.cancels("b4")) == 1
    with pytest.raises(Conflict, match=r"already being replaced by b4\.r1"):
        desk.oms.amend(PORTFOLIO, ClientOrderId("b4"), price=D("40800.00"))

    desk.edge.deafen()  # the process dies; its cancel is still in the network
    restarted = desk.oms = desk.manager()
    restarted.amend(PORTFOLIO, ClientOrderId("b4"), price=D("40900.00"))  # retried after it
    desk.edge.deliver_cancels()

    assert len(desk.edge.submits("b4.r1")) == 1
    assert desk.stored("b4.r1").status is OrderStatus.SUBMITTED
    assert desk.at_venue("b4.r1") is not None
    with pytest.raises(Conflict, match=r"CANCELLED \(replaced by b4\.r1\)"):
        restarted.amend(PORTFOLIO, ClientOrderId("b4"), price=D("40900.00"))
    assert len(desk.edge.submits("b4.r1")) == 1


def test_cancelling_the_original_drops_its_waiting_replacement() -> None:
    desk = NoAmendDesk()
    desk.edge.hold_cancels = True
    desk.buy("b5", "1", "41000.00")
    desk.oms.amend(PORTFOLIO, ClientOrderId("b5"), price=D("40900.00"))

    desk.oms.cancel(PORTFOLIO, ClientOrderId("b5"), "changed my mind")
    desk.edge.deliver_cancels()

    assert desk.stored("b5").status is OrderStatus.CANCELLED
    assert desk.stored("b5.r1").status is OrderStatus.CANCELLED
    assert desk.edge.submits("b5.r1") == []


def test_a_waiting_replacement_cannot_be_amended_and_cancelling_it_drops_only_it() -> None:
    desk = NoAmendDesk()
    desk.edge.hold_cancels = True
    desk.buy("b7", "1", "41000.00")
    desk.oms.amend(PORTFOLIO, ClientOrderId("b7"), price=D("40900.00"))

    with pytest.raises(Conflict, match="waits for the cancel of b7"):
        desk.oms.amend(PORTFOLIO, ClientOrderId("b7.r1"), price=D("40800.00"))
    desk.oms.cancel(PORTFOLIO, ClientOrderId("b7.r1"), "not wanted")
    desk.edge.deliver_cancels()

    assert desk.stored("b7.r1").cancel_reason == "not wanted"
    assert desk.stored("b7").status is OrderStatus.CANCELLED
    assert desk.edge.submits("b7.r1") == [] and desk.edge.submits("b7.r2") == []


def risk_checked(engine: RiskEngine) -> Callable[[Order, Order | None], PreTradeRejection | None]:
    """The pre-trade check as a node wires it: new orders and amends through the engine."""

    def check(order: Order, before: Order | None) -> PreTradeRejection | None:
        if before is None:
            decision = engine.check_order(order)
        else:
            decision = engine.check_amend(
                before, quantity=order.quantity, price=order.price, stop_price=order.stop_price
            )
        if decision is APPROVED:
            return None
        first = decision.rejections[0]
        return PreTradeRejection(str(first.code), first.message)

    return check


def test_under_reducing_an_amend_that_grows_is_refused_one_that_reduces_passes() -> None:
    view = InMemoryRiskView()
    view.add_portfolio(PORTFOLIO, balance=D("10000000"), equity=D("10000000"))
    view.set_position(PORTFOLIO, BTC.id, D("2"))  # long: sells reduce, buys grow
    view.set_price(BTC.id, D("41000.00"))
    desk = NoAmendDesk()
    engine = RiskEngine(view, desk.clock, desk.bus)
    engine.set_limits(PORTFOLIO, [])
    desk.edge.deafen()  # the desk's unchecked manager: replaced by a checked one
    desk.oms = desk.manager(risk_checked(engine))
    desk.buy("b6", "1", "40000.00")
    desk.oms.submit(
        OrderRequest(PORTFOLIO, BTC.id, ClientOrderId("s6"), OrderSide.SELL, OrderType.LIMIT,
                     D("1"), price=D("42000.00"))
    )  # fmt: skip
    admin = make_user(make_organization(), role=UserRole.ADMIN)
    engine.set_trading_state(PORTFOLIO, TradingState.REDUCING, admin, "test")

    with pytest.raises(AmendRefused, match="reduce_only"):
        desk.oms.amend(PORTFOLIO, ClientOrderId("b6"), quantity=D("2"))

    assert desk.edge.cancels("b6") == []
    assert desk.oms.order(PORTFOLIO, ClientOrderId("b6.r1")) is None
    desk.oms.amend(PORTFOLIO, ClientOrderId("s6"), price=D("41900.00"))
    assert desk.stored("s6").status is OrderStatus.CANCELLED
    (command,) = desk.edge.submits("s6.r1")
    assert command.price == D("41900.00")


class WrittenJournal(InMemoryOrderJournal):
    """Notes each order's status as it is written (the in-memory orders change before)."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[tuple[str, OrderStatus]] = []

    def write(
        self,
        new_orders: Sequence[Order],
        changed_orders: Sequence[Order],
        trades: Sequence[Trade],
        events: Sequence[DomainEvent],
    ) -> None:
        super().write(new_orders, changed_orders, trades, events)
        self.written += [(o.client_order_id, o.status) for o in [*new_orders, *changed_orders]]


@pytest.mark.parametrize("group_commit_ns", [0, 5_000_000])
def test_the_replacement_and_the_cancel_are_journaled_before_the_venue_hears_of_it(
    group_commit_ns: int,
) -> None:
    journal = WrittenJournal()
    desk = NoAmendDesk(journal=journal, config=OrderManagerConfig(group_commit_ns=group_commit_ns))
    desk.edge.hold_cancels = True
    desk.buy("b8", "1", "41000.00")
    desk.oms.amend(PORTFOLIO, ClientOrderId("b8"), price=D("40900.00"))
    assert ("b8.r1", OrderStatus.PENDING) in journal.written
    seen: list[list[tuple[str, OrderStatus]]] = []
    desk.edge.before_submit = lambda _: seen.append(list(journal.written))

    desk.edge.deliver_cancels()  # outside any venue call: the group commit may be waiting

    (at_submit,) = seen
    assert ("b8", OrderStatus.CANCELLED) in at_submit
    assert ("b8.r1", OrderStatus.SUBMITTED) in at_submit
