"""A cancel or amend whose answer timed out: asked about, then applied or sent again."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

from test_order_manager import ME, PORTFOLIO, Desk, ExchangeWithSubmit

from omoitrade.execution.report_handling import COMMAND_REJECTED_TOPIC
from omoitrade.model import Order
from omoitrade.model.enums import DeliveryFailure, OrderStatus
from omoitrade.model.identifiers import AccountId, ClientOrderId
from omoitrade.model.venue import AmendOrder, CancelOrder, CommandFailed, ExecutionReport
from omoitrade.venues.sim.exchange import SimulatedExchange

SECOND = 1_000_000_000


class ExchangeRefusing(ExchangeWithSubmit):
    """The exchange refusing its first ``refuse`` cancels and amends (the order works on)."""

    def __init__(self, exchange: SimulatedExchange, refuse: int) -> None:
        super().__init__(exchange, exchange.submit)
        self.refuse = refuse
        self.refused: list[CancelOrder | AmendOrder] = []
        self.forgets = False  # True: it has lost every order (its status queries say so)

    async def order_status(
        self, account_id: AccountId, client_order_id: ClientOrderId
    ) -> ExecutionReport | None:
        if self.forgets:
            return None
        return await self._exchange.order_status(account_id, client_order_id)

    def cancel(self, command: CancelOrder) -> None:
        if not self._refused(command):
            self._exchange.cancel(command)

    def amend(self, command: AmendOrder) -> None:
        if not self._refused(command):
            self._exchange.amend(command)

    def _refused(self, command: CancelOrder | AmendOrder) -> bool:
        if len(self.refused) >= self.refuse:
            return False
        self.refused.append(command)
        return True


def working(desk: Desk, refuse: int = 0) -> tuple[Order, ExchangeRefusing]:
    """A resting buy at 41000, behind an exchange that refuses ``refuse`` changes."""
    order = desk.buy("a", "0.1", "41000.00")
    assert order.status is OrderStatus.SUBMITTED
    edge = ExchangeRefusing(desk.exchange, refuse)
    desk.venue.exchange = edge  # type: ignore[assignment]
    return order, edge


def resolve(desk: Desk) -> int:
    return asyncio.run(desk.oms.reports.resolve_in_flight())


def at_exchange(desk: Desk) -> list[tuple[D | None, D]]:
    return [(r.price, r.quantity) for r in asyncio.run(desk.exchange.open_orders(ME))]


def test_a_cancel_accepted_then_timed_out_is_applied_without_sending_it_again() -> None:
    desk = Desk()
    order, _ = working(desk)
    desk.venue.lose_answers(1)
    desk.oms.cancel(PORTFOLIO, ClientOrderId("a"), "done with it")
    assert order.status is OrderStatus.SUBMITTED and desk.oms.reports.has_unclear()
    assert resolve(desk) == 0
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "done with it")
    assert not desk.oms.reports.has_unclear()
    assert not desk.oms.reports.awaiting(order, "CancelOrder")
    assert len(desk.venue.commands) == 2  # the submit and the one cancel
    assert desk.kinds()[-1] == "OrderCancelled"


def test_a_cancel_refused_then_timed_out_is_sent_again_after_the_backoff() -> None:
    desk = Desk()
    order, edge = working(desk, refuse=1)
    desk.venue.lose_answers(1)
    desk.oms.cancel(PORTFOLIO, ClientOrderId("a"))
    assert resolve(desk) == 0
    assert order.status is OrderStatus.SUBMITTED  # still working: the cancel waits to go again
    assert desk.oms.reports.awaiting(order, "CancelOrder")
    assert len(desk.venue.commands) == 2
    desk.clock.advance_by(SECOND)
    assert order.status is OrderStatus.CANCELLED
    sent = [c for c in desk.venue.commands if isinstance(c, CancelOrder)]
    assert [c.client_order_id for c in sent] == ["a", "a"] and len(edge.refused) == 1
    assert at_exchange(desk) == []


def test_a_permanent_error_on_the_resent_cancel_ends_the_attempt() -> None:
    desk = Desk()
    rejected: list[object] = []
    desk.bus.subscribe(COMMAND_REJECTED_TOPIC, rejected.append)
    order, _ = working(desk, refuse=1)
    desk.venue.lose_answers(1)
    desk.oms.cancel(PORTFOLIO, ClientOrderId("a"))
    resolve(desk)
    desk.venue.fail_next(1, DeliveryFailure.PERMANENT)
    desk.clock.advance_by(SECOND)
    assert order.status is OrderStatus.SUBMITTED
    assert not desk.oms.reports.awaiting(order, "CancelOrder")
    [failure] = rejected
    assert isinstance(failure, CommandFailed) and failure.failure is DeliveryFailure.PERMANENT
    desk.clock.advance_by(60 * SECOND)
    assert len(desk.venue.commands) == 2  # never sent again


def test_a_cancel_that_keeps_timing_out_stops_at_the_retry_limit() -> None:
    desk = Desk()
    rejected: list[object] = []
    desk.bus.subscribe(COMMAND_REJECTED_TOPIC, rejected.append)
    order, edge = working(desk, refuse=100)
    desk.venue.lose_answers(100)
    desk.oms.cancel(PORTFOLIO, ClientOrderId("a"))
    for _ in range(10):
        resolve(desk)
        desk.clock.advance_by(SECOND)
    assert len(edge.refused) == desk.config.retry.max_attempts  # every sending, the first too
    assert not desk.oms.reports.awaiting(order, "CancelOrder")
    assert order.status is OrderStatus.SUBMITTED and len(rejected) == 1


def test_an_order_filled_before_its_unclear_cancel_is_filled_and_the_cancel_leaves() -> None:
    desk = Desk()
    order, _ = working(desk, refuse=1)
    desk.venue.lose_answers(1)
    desk.oms.cancel(PORTFOLIO, ClientOrderId("a"))
    desk.venue.disconnect()  # the fill's report is lost too
    desk.maker_sells("ask-1", "0.1", "41000.00")
    desk.venue.reconnect()
    assert resolve(desk) == 0
    assert (order.status, order.filled_quantity) == (OrderStatus.FILLED, D("0.1"))
    assert not desk.oms.reports.awaiting(order, "CancelOrder")
    desk.clock.advance_by(10 * SECOND)
    assert len(desk.venue.commands) == 2  # no cancel sent again


def test_an_unclear_cancel_of_an_order_the_venue_lost_closes_it_after_the_grace() -> None:
    desk = Desk()
    order, edge = working(desk, refuse=1)
    desk.venue.lose_answers(1)
    desk.oms.cancel(PORTFOLIO, ClientOrderId("a"))
    edge.forgets = True
    assert resolve(desk) == 1  # not found, within the grace window: still unclear
    assert order.status is OrderStatus.SUBMITTED
    desk.clock.advance_by(2 * SECOND)
    assert resolve(desk) == 0
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "not found at the venue")
    assert not desk.oms.reports.has_unclear() and len(desk.venue.commands) == 2


def test_an_amend_accepted_then_timed_out_is_applied_from_the_venue() -> None:
    desk = Desk()
    order, _ = working(desk)
    desk.venue.lose_answers(1)
    desk.oms.amend(PORTFOLIO, ClientOrderId("a"), price=D("41500.00"), quantity=D("0.2"))
    assert order.price == D("41000.00") and desk.oms.reports.has_unclear()
    assert resolve(desk) == 0
    assert (order.price, order.quantity) == (D("41500.00"), D("0.2"))
    assert not desk.oms.reports.awaiting(order, "AmendOrder")
    assert desk.kinds()[-1] == "OrderAmended"
    assert len(desk.venue.commands) == 2
    assert at_exchange(desk) == [(D("41500.00"), D("0.2"))]


def test_an_amend_refused_then_timed_out_is_sent_again_after_the_backoff() -> None:
    desk = Desk()
    order, edge = working(desk, refuse=1)
    desk.venue.lose_answers(1)
    desk.oms.amend(PORTFOLIO, ClientOrderId("a"), price=D("41500.00"))
    assert resolve(desk) == 0
    assert order.price == D("41000.00") and desk.oms.reports.awaiting(order, "AmendOrder")
    desk.clock.advance_by(SECOND)
    assert order.price == D("41500.00") and order.status is OrderStatus.SUBMITTED
    assert not desk.oms.reports.awaiting(order, "AmendOrder")
    assert len(edge.refused) == 1 and len(desk.venue.commands) == 3
    assert at_exchange(desk) == [(D("41500.00"), D("0.1"))]  # one order, amended once
