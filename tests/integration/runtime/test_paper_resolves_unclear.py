"""The running paper session asks the venue about unclear orders on its own timer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from test_paper_session import SECOND, T0, advance, config

from omoitrade.core.clock import SimulatedClock
from omoitrade.execution.order_requests import OrderRequest
from omoitrade.model.enums import DeliveryFailure, OrderSide, OrderStatus, OrderType
from omoitrade.model.identifiers import ClientOrderId
from omoitrade.model.venue import (
    AmendOrder,
    CancelOrder,
    CommandFailed,
    ReportHandler,
    SubmitOrder,
    VenueReport,
)
from omoitrade.runtime import paper_session
from omoitrade.runtime.paper_session import PaperSession
from omoitrade.runtime.paper_venue import PaperVenue
from omoitrade.venues.sim.exchange import SimulatedExchange

Command = SubmitOrder | CancelOrder | AmendOrder


class TimingOutVenue(PaperVenue):
    """The paper venue behind a network edge: the next ``lose`` commands arrive and are
    worked, but their answers are lost and the sender sees a timeout."""

    def __init__(self, exchange: SimulatedExchange, path: Path) -> None:
        self.lose = 0
        self._losing = False
        self._handlers: list[ReportHandler] = []
        super().__init__(exchange, path)
        super().on_report(self._deliver)

    def on_report(self, handler: ReportHandler) -> None:
        self._handlers.append(handler)

    def _deliver(self, report: VenueReport) -> None:
        if not self._losing:
            for handler in self._handlers:
                handler(report)

    def submit(self, command: SubmitOrder) -> None:
        self._maybe_lost(command, super().submit)

    def cancel(self, command: CancelOrder) -> None:
        self._maybe_lost(command, super().cancel)

    def _maybe_lost(self, command: Command, send: Callable[[Command], None]) -> None:
        if not self.lose:
            send(command)
            return
        self.lose -= 1
        self._losing = True
        try:
            send(command)
        finally:
            self._losing = False
        timeout = CommandFailed(
            self.exchange.clock.utc_now(), command, DeliveryFailure.AMBIGUOUS, "timed out"
        )
        self._deliver(timeout)


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PaperSession:
    monkeypatch.setattr(paper_session, "PaperVenue", TimingOutVenue)
    clock = SimulatedClock(T0)
    running = PaperSession(clock, replace(config(tmp_path), documents=()))
    running.start()
    advance(clock, 3)
    return running


def rest_a_buy(session: PaperSession, cid: str) -> OrderRequest:
    """A limit buy well under the market: it rests."""
    (btc,) = [i for i in session.instruments.values() if i.symbol == "BTC/USD"]
    fair = session.market.synthetic.fair_values()[btc.id]
    price = btc.round_price(fair * 9 / 10)
    return OrderRequest(
        session.portfolio.id, btc.id, ClientOrderId(cid), OrderSide.BUY, OrderType.LIMIT,
        btc.min_quantity, price=price,
    )  # fmt: skip


def wait_and_see(session: PaperSession) -> None:
    """Still unclear just before the session's next resolve tick; resolved by it."""
    clock, reports = session.clock, session.node.orders.reports
    assert isinstance(clock, SimulatedClock)
    interval = session.config.resolve_interval_ns
    assert interval == 5 * SECOND  # the default
    clock.advance_by(interval - clock.timestamp_ns() % interval - 1)  # (timers start at T0)
    assert reports.has_unclear()
    clock.advance_by(1)
    assert not reports.has_unclear()


def test_an_order_unclear_after_a_timeout_is_resolved_by_the_session_timer(
    session: PaperSession,
) -> None:
    venue, reports = session.venue, session.node.orders.reports
    assert isinstance(venue, TimingOutVenue)
    venue.lose = 1
    order = session.node.orders.submit(rest_a_buy(session, "unclear-1"))
    assert order.exchange_order_id is None and reports.has_unclear()
    wait_and_see(session)
    assert order.status is OrderStatus.SUBMITTED and order.exchange_order_id is not None
    assert venue.submits_of(order.client_order_id) == 1  # found, never sent twice
    session.stop()


def test_a_cancel_unclear_after_a_timeout_is_resolved_by_the_session_timer(
    session: PaperSession,
) -> None:
    venue, reports = session.venue, session.node.orders.reports
    assert isinstance(venue, TimingOutVenue)
    order = session.node.orders.submit(rest_a_buy(session, "unclear-2"))
    assert order.exchange_order_id is not None
    venue.lose = 1
    session.node.orders.cancel(order.portfolio_id, order.client_order_id, "no longer wanted")
    assert order.is_open and reports.has_unclear()
    wait_and_see(session)
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "no longer wanted")
    assert not reports.has_unclear()
    session.stop()
