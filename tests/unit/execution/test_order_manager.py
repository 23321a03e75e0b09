"""The order manager against the simulated exchange: idempotent, durable, exact."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal as D
from typing import Any

import pytest

from omoitrade.core.bus import MessageBus
from omoitrade.core.circuit_breaker import BreakerState
from omoitrade.core.clock import SimulatedClock
from omoitrade.core.errors import Conflict, NotFound
from omoitrade.execution.journal import InMemoryOrderJournal
from omoitrade.execution.order_manager import OrderManager
from omoitrade.execution.order_requests import (
    CIRCUIT_TOPIC,
    AmendRefused,
    OrderManagerConfig,
    OrderRequest,
    PreTradeRejection,
    VenueCircuitChanged,
)
from omoitrade.execution.retry import RetryPolicy
from omoitrade.model import Order
from omoitrade.model.enums import (
    DeliveryFailure,
    ExecType,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from omoitrade.model.events import (
    DomainEvent,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from omoitrade.model.identifiers import AccountId, ClientOrderId, PortfolioId
from omoitrade.model.venue import SubmitOrder
from omoitrade.testing.factories import T0, make_instrument
from omoitrade.testing.venues import FakeFlakyVenue
from omoitrade.venues.sim.exchange import SimExchangeConfig, SimulatedExchange

BTC = make_instrument()
PORTFOLIO = PortfolioId.new()
ME, MAKER = AccountId("desk-1"), AccountId("maker")
START_NS = int(T0.timestamp() * 1e9)


class ExchangeWithSubmit:
    """The exchange as the venue sees it, with ``submit`` replaced (the exchange may be
    compiled, see docs/performance.md: a method cannot be replaced on it)."""

    def __init__(self, exchange: SimulatedExchange, submit: Callable[[SubmitOrder], object]):
        self._exchange = exchange
        self.submit = submit

    def __getattr__(self, name: str) -> object:
        return getattr(self._exchange, name)


class Desk:
    """An order manager, its journal and bus, and a flaky simulated exchange with a maker."""

    def __init__(
        self,
        check: object = None,
        journal: InMemoryOrderJournal | None = None,
        config: OrderManagerConfig | None = None,
    ) -> None:
        self.clock = SimulatedClock(START_NS)
        self.exchange = SimulatedExchange(self.clock, [BTC], SimExchangeConfig())
        self.exchange.open_account(ME, {"USD": D("1000000")})
        self.exchange.open_account(MAKER, {"BTC": D("100")})
        self.venue = FakeFlakyVenue(self.exchange)
        self.bus = MessageBus()
        self.events: list[DomainEvent] = []
        self.bus.subscribe("events.order.*", self.events.append)
        self.journal = journal or InMemoryOrderJournal()
        self.config = config or OrderManagerConfig(
            not_found_grace_ns=1_000_000_000,
            retry=RetryPolicy(max_attempts=4, base_delay_ns=50_000_000),
        )
        self.oms = self.manager(check)

    def manager(self, check: object = None) -> OrderManager:
        return OrderManager(
            clock=self.clock,
            bus=self.bus,
            journal=self.journal,
            venues={"SIM": self.venue},
            instruments={BTC.id: BTC},
            accounts={PORTFOLIO: ME},
            pre_trade_check=check,  # type: ignore[arg-type]
            config=self.config,
        )

    def maker_sells(self, cid: str, qty: str, price: str) -> None:
        self.exchange.submit(
            SubmitOrder(MAKER, ClientOrderId(cid), BTC.id, OrderSide.SELL, OrderType.LIMIT,
                        D(qty), price=D(price))
        )  # fmt: skip

    def buy(self, cid: str, qty: str, price: str | None = None, **extra: object) -> Order:
        kind = OrderType.MARKET if price is None else OrderType.LIMIT
        request = OrderRequest(
            PORTFOLIO, BTC.id, ClientOrderId(cid), OrderSide.BUY, kind, D(qty),
            price=None if price is None else D(price), **extra,  # type: ignore[arg-type]
        )  # fmt: skip
        return self.oms.submit(request)

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


def test_a_filled_market_order_is_journaled_with_its_trade_and_events() -> None:
    desk = Desk()
    desk.maker_sells("ask-1", "1", "42000.00")
    order = desk.buy("b1", "0.5")
    assert order.status is OrderStatus.FILLED
    assert (order.filled_quantity, order.average_fill_price) == (D("0.5"), D("42000.00"))
    assert desk.kinds() == ["OrderSubmitted", "OrderAccepted", "OrderFilled"]
    [trade] = desk.journal.trades_of(order.id)
    assert (trade.quantity, trade.execution_price, trade.exchange_trade_id) == (
        D("0.5"), D("42000.00"), "SIM-BTC/USD-T1",
    )  # fmt: skip
    assert [type(e) for e in desk.journal.events] == [OrderSubmitted, OrderAccepted, OrderFilled]
    fill = desk.events[-1]
    assert isinstance(fill, OrderFilled)
    assert (fill.portfolio_id, fill.instrument_id, fill.side) == (PORTFOLIO, BTC.id, OrderSide.BUY)


def test_the_order_is_in_the_journal_before_the_venue_hears_of_it() -> None:
    desk = Desk()
    seen: list[Order | None] = []

    def on_submit(command: SubmitOrder) -> None:
        seen.append(desk.journal.order_by_client_id(PORTFOLIO, command.client_order_id))

    original = desk.exchange.submit
    desk.venue.exchange = ExchangeWithSubmit(  # type: ignore[assignment]
        desk.exchange, lambda c: (on_submit(c), original(c))
    )
    desk.buy("b1", "0.1", "41000.00")
    assert seen and seen[0] is not None and seen[0].status is OrderStatus.SUBMITTED


def test_a_second_submit_with_the_same_client_id_returns_the_first_and_sends_nothing() -> None:
    desk = Desk()
    first = desk.buy("b1", "0.1", "41000.00")
    again = desk.buy("b1", "0.1", "41000.00")
    assert again is first
    assert len(desk.venue.commands) == 1
    with pytest.raises(Conflict):
        desk.buy("b1", "0.2", "41000.00")
    assert len(desk.venue.commands) == 1


def test_an_invalid_order_is_stored_rejected_with_its_reason_and_never_sent() -> None:
    desk = Desk()
    order = desk.buy("b1", "0.1", "41000.005")  # off the 0.01 tick
    assert order.status is OrderStatus.REJECTED
    assert order.reject_reason is not None and "price" in order.reject_reason
    assert desk.journal.order_by_client_id(PORTFOLIO, ClientOrderId("b1")) is order
    assert desk.venue.commands == []
    assert desk.kinds() == ["OrderSubmitted", "OrderRejected"]


def test_a_pre_trade_rejection_is_stored_with_its_code() -> None:
    desk = Desk(check=lambda order, before: PreTradeRejection("risk.order_size", "too big"))
    order = desk.buy("b1", "0.1", "41000.00")
    assert order.status is OrderStatus.REJECTED
    assert order.reject_reason == "risk.order_size: too big"
    assert desk.venue.commands == []


def test_unknown_instrument_or_portfolio_is_a_clear_error() -> None:
    desk = Desk()
    request = OrderRequest(PortfolioId.new(), BTC.id, ClientOrderId("x"), OrderSide.BUY,
                           OrderType.MARKET, D("1"))  # fmt: skip
    with pytest.raises(NotFound):
        desk.oms.submit(request)


def test_cancel_amend_and_cancel_all() -> None:
    desk = Desk()
    a = desk.buy("a", "0.1", "41000.00")
    b = desk.buy("b", "0.1", "40000.00")
    desk.oms.amend(PORTFOLIO, ClientOrderId("a"), price=D("41500.00"), quantity=D("0.2"))
    assert (a.price, a.quantity, a.status) == (D("41500.00"), D("0.2"), OrderStatus.SUBMITTED)
    desk.oms.cancel(PORTFOLIO, ClientOrderId("a"))
    assert a.status is OrderStatus.CANCELLED
    cancelled = desk.oms.cancel_all(PORTFOLIO)
    assert cancelled == [b] and b.status is OrderStatus.CANCELLED
    assert desk.oms.open_orders() == []
    with pytest.raises(Conflict):
        desk.oms.cancel(PORTFOLIO, ClientOrderId("a"))
    with pytest.raises(NotFound):
        desk.oms.cancel(PORTFOLIO, ClientOrderId("nope"))


def test_an_amend_that_breaks_a_rule_is_refused_and_sends_nothing() -> None:
    desk = Desk()
    desk.buy("a", "0.1", "41000.00")
    with pytest.raises(AmendRefused):
        desk.oms.amend(PORTFOLIO, ClientOrderId("a"), price=D("41000.001"))
    assert len(desk.venue.commands) == 1


def test_a_partial_fill_then_the_rest() -> None:
    desk = Desk()
    desk.maker_sells("ask-1", "0.3", "42000.00")
    order = desk.buy("b1", "0.5", "42000.00")
    assert (order.status, order.filled_quantity) == (OrderStatus.PARTIAL, D("0.3"))
    desk.maker_sells("ask-2", "0.2", "42000.00")
    assert (order.status, order.filled_quantity) == (OrderStatus.FILLED, D("0.5"))
    assert desk.kinds()[-2:] == ["OrderPartiallyFilled", "OrderFilled"]


def test_a_duplicate_or_replayed_fill_applies_once() -> None:
    desk = Desk()
    desk.maker_sells("ask-1", "1", "42000.00")
    reports: list[object] = []
    desk.exchange.on_report(reports.append)
    order = desk.buy("b1", "0.5", "42000.00")
    trade = next(r for r in reports if getattr(r, "exec_type", None) is ExecType.TRADE
                 and r.account_id == ME)  # type: ignore[attr-defined]  # fmt: skip
    desk.oms.reports.on_report(trade)  # type: ignore[arg-type]
    desk.oms.reports.on_report(trade)  # type: ignore[arg-type]
    assert order.filled_quantity == D("0.5")
    assert len(desk.journal.trades_of(order.id)) == 1


def test_a_stale_status_never_undoes_a_newer_fill() -> None:
    desk = Desk()
    reports: list[object] = []
    desk.exchange.on_report(reports.append)
    order = desk.buy("b1", "0.5", "42000.00")
    new = next(r for r in reports if getattr(r, "exec_type", None) is ExecType.NEW)
    desk.maker_sells("ask-1", "0.5", "42000.00")
    assert order.status is OrderStatus.FILLED
    stale = new._replace(exec_type=ExecType.STATUS)  # type: ignore[attr-defined]
    desk.oms.reports.on_report(stale)
    assert (order.status, order.filled_quantity) == (OrderStatus.FILLED, D("0.5"))


def test_a_transient_failure_is_retried_with_backoff_and_never_doubles_the_order() -> None:
    desk = Desk()
    desk.venue.fail_next(2)
    order = desk.buy("b1", "0.1", "41000.00")
    assert order.exchange_order_id is None and order.status is OrderStatus.SUBMITTED
    desk.clock.advance_by(10_000_000_000)
    assert order.exchange_order_id is not None
    assert len(desk.venue.commands) == 1  # the two failed sends never arrived
    assert len(asyncio.run(desk.exchange.open_orders(ME))) == 1


def test_a_venue_that_stays_unreachable_leaves_the_order_rejected_with_the_reason() -> None:
    desk = Desk()
    desk.venue.fail_next(10)
    order = desk.buy("b1", "0.1", "41000.00")
    desk.clock.advance_by(60_000_000_000)
    assert order.status is OrderStatus.REJECTED
    assert order.reject_reason == "not delivered to the venue: unreachable"


def test_a_permanent_failure_rejects_at_once() -> None:
    desk = Desk()
    desk.venue.fail_next(1, DeliveryFailure.PERMANENT)
    order = desk.buy("b1", "0.1", "41000.00")
    assert order.status is OrderStatus.REJECTED


def test_a_timeout_after_the_venue_accepted_is_resolved_by_asking_not_by_resending() -> None:
    desk = Desk()
    desk.maker_sells("ask-1", "1", "42000.00")
    desk.venue.lose_answers(1)
    order = desk.buy("b1", "0.4", "42000.00")
    assert order.status is OrderStatus.SUBMITTED and order.filled_quantity == 0  # unclear
    assert desk.oms.reports.unclear_orders() == [order]
    still = asyncio.run(desk.oms.reports.resolve_in_flight())
    assert still == 0
    assert (order.status, order.filled_quantity) == (OrderStatus.FILLED, D("0.4"))
    assert len(desk.venue.commands) == 1  # found at the venue: never sent again
    assert len(desk.journal.trades_of(order.id)) == 1


def test_an_unclear_order_the_venue_never_got_is_resent_only_after_the_grace_window() -> None:
    desk = Desk()
    desk.venue.fail_next(1, DeliveryFailure.AMBIGUOUS)  # timed out, and in fact lost
    original, calls = desk.exchange.submit, []

    def lost_in_transit_once(command: SubmitOrder) -> None:
        calls.append(command)
        if len(calls) > 1:
            original(command)

    desk.venue.exchange = ExchangeWithSubmit(desk.exchange, lost_in_transit_once)  # type: ignore[assignment]
    order = desk.buy("b1", "0.1", "41000.00")
    assert asyncio.run(desk.oms.reports.resolve_in_flight()) == 1  # not found, within grace
    assert order.exchange_order_id is None
    desk.clock.advance_by(2_000_000_000)
    asyncio.run(desk.oms.reports.resolve_in_flight())
    assert order.exchange_order_id is not None
    assert len(asyncio.run(desk.exchange.open_orders(ME))) == 1


def test_a_restarted_manager_knows_its_open_orders_and_stays_idempotent() -> None:
    desk = Desk()
    first = desk.buy("b1", "0.1", "41000.00")
    restarted = desk.manager()
    again = restarted.submit(
        OrderRequest(PORTFOLIO, BTC.id, ClientOrderId("b1"), OrderSide.BUY, OrderType.LIMIT,
                     D("0.1"), price=D("41000.00"))
    )  # fmt: skip
    assert again.id == first.id
    assert [o.id for o in restarted.open_orders()] == [first.id]
    assert len(desk.venue.commands) == 1


def test_day_orders_expire_as_cancelled_with_the_reason() -> None:
    desk = Desk()
    order = desk.buy("d1", "0.1", "41000.00", time_in_force=TimeInForce.DAY)
    desk.clock.advance_by(86_400_000_000_000)
    assert order.status is OrderStatus.CANCELLED
    assert isinstance(desk.events[-1], OrderCancelled)
    assert not isinstance(desk.events[-1], OrderRejected)


def test_a_failing_venue_opens_its_circuit_and_new_orders_are_refused_with_the_reason() -> None:
    desk = Desk()
    changes: list[VenueCircuitChanged] = []
    desk.bus.subscribe(CIRCUIT_TOPIC, changes.append)
    desk.venue.fail_next(100)
    for n in range(5):  # five consecutive failed sends open the circuit (default config)
        desk.buy(f"b{n}", "0.1", "41000.00")
    refused = desk.buy("late", "0.1", "41000.00")
    assert refused.status is OrderStatus.REJECTED
    assert refused.reject_reason == "venue SIM is not answering (circuit open)"
    assert [(c.venue, c.new) for c in changes] == [("SIM", BreakerState.OPEN)]


def test_execution_quality_measures_slippage_against_the_arrival_mid() -> None:
    desk = Desk()
    desk.maker_sells("ask-1", "1", "42010.00")
    order = desk.oms.submit(
        OrderRequest(
            PORTFOLIO,
            BTC.id,
            ClientOrderId("b1"),
            OrderSide.BUY,
            OrderType.MARKET,
            D("0.5"),
            arrival_price=D("42000.00"),
        )
    )
    quality = desk.oms.quality.order_report(order.id)
    assert quality.slippage_bps is not None and quality.slippage_cost is not None
    assert quality.slippage_bps.quantize(D("0.0001")) == D("2.3810")  # 10 / 42000, in bps
    assert quality.slippage_cost == D("5")  # 0.5 x 10.00 paid above the arrival mid
    assert quality.ack_latency_us is not None and quality.last_fill_latency_us is not None


class CountingJournal(InMemoryOrderJournal):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, *args: Any) -> None:
        self.writes += 1
        super().write(*args)


def test_group_commit_writes_a_fill_with_the_next_order_or_by_the_deadline() -> None:
    journal = CountingJournal()
    desk = Desk(journal=journal, config=OrderManagerConfig(group_commit_ns=2_000_000))
    desk.maker_sells("ask-1", "1", "42000.00")
    first = desk.buy("b1", "0.1")
    assert first.status is OrderStatus.FILLED and journal.writes == 1  # the fill waits
    assert desk.kinds() == ["OrderSubmitted"]  # events wait for their commit
    desk.buy("b2", "0.1")
    assert journal.writes == 2  # b2's insert carried b1's fill
    assert desk.kinds()[:4] == ["OrderSubmitted", "OrderAccepted", "OrderFilled", "OrderSubmitted"]
    desk.clock.advance_by(2_000_000)
    assert journal.writes == 3  # b2's fill, at the deadline
    assert desk.kinds()[-1] == "OrderFilled"
    assert len(journal.trades_of(first.id)) == 1


def test_a_finished_order_only_the_journal_remembers_is_still_idempotent() -> None:
    desk = Desk()
    desk.maker_sells("ask-1", "1", "42000.00")
    first = desk.buy("b1", "0.5")
    assert first.status is OrderStatus.FILLED
    restarted = desk.manager()  # loads open orders only: b1 is in the journal alone
    request = OrderRequest(
        PORTFOLIO, BTC.id, ClientOrderId("b1"), OrderSide.BUY, OrderType.MARKET, D("0.5")
    )
    writes = len(desk.journal.events)
    assert restarted.submit(request).id == first.id
    assert restarted.submit_many([request])[0].id == first.id
    with pytest.raises(Conflict):
        restarted.submit(replace(request, quantity=D("0.4")))
    assert len(desk.venue.commands) == 1
    assert len(desk.journal.events) == writes


def test_the_submit_command_is_what_its_constructor_makes_of_the_order() -> None:
    desk = Desk()
    order = desk.buy("cmd", "0.1", "41000.00")

    (command,) = desk.venue.commands

    assert type(command) is SubmitOrder
    assert command == SubmitOrder(
        account_id=ME,
        client_order_id=order.client_order_id,
        instrument_id=order.instrument_id,
        side=order.side,
        order_type=order.order_type,
        quantity=order.quantity,
        time_in_force=order.time_in_force,
        price=order.price,
        stop_price=order.stop_price,
    )
    assert (command.post_only, command.oco_group) == (False, None)  # the defaults
