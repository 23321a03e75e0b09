"""The simulated exchange as a venue: reports, market data, latency, accounts, modes."""

from __future__ import annotations

import asyncio
from dataclasses import fields, replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal as D

import pytest

from omoitrade.core.clock import SimulatedClock
from omoitrade.core.errors import Conflict, NotFound
from omoitrade.model import (
    AccountId,
    BarId,
    ClientOrderId,
    ExecType,
    OrderSide,
    OrderStatus,
    OrderType,
    Timeframe,
    TimeInForce,
)
from omoitrade.model.market_data import Bar, BookLevel, OrderBook, Quote, TradeTick
from omoitrade.model.venue import (
    CancelOrder,
    CommandRejected,
    ExecutionReport,
    SubmitOrder,
    VenueAdapter,
)
from omoitrade.testing.factories import make_instrument
from omoitrade.venues.sim.exchange import ExchangeMode, SimExchangeConfig, SimulatedExchange
from omoitrade.venues.sim.latency import LatencyModel

BTC = make_instrument()
START = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)
START_NS = int(START.timestamp()) * 1_000_000_000
ME, MAKER = AccountId("me"), AccountId("maker")


class Recorder:
    def __init__(self, exchange: SimulatedExchange) -> None:
        self.reports: list[ExecutionReport | CommandRejected] = []
        self.data: list[object] = []
        exchange.on_report(self.reports.append)
        exchange.on_market_data(self.data.append)

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        return [item for item in self.data if isinstance(item, kind)]


def exchange(clock: SimulatedClock, **config: object) -> SimulatedExchange:
    venue = SimulatedExchange(clock, [BTC], SimExchangeConfig(**config))  # type: ignore[arg-type]
    venue.open_account(ME, {"USD": D("100000")})
    venue.open_account(MAKER, {"BTC": D("10")})
    return venue


def limit(account: AccountId, cid: str, side: OrderSide, qty: str, price: str) -> SubmitOrder:
    return SubmitOrder(
        account, ClientOrderId(cid), BTC.id, side, OrderType.LIMIT, D(qty), price=D(price)
    )


def market(cid: str, side: OrderSide, qty: str, **extra: object) -> SubmitOrder:
    return SubmitOrder(ME, ClientOrderId(cid), BTC.id, side, OrderType.MARKET, D(qty), **extra)  # type: ignore[arg-type]


def test_the_simulated_exchange_is_a_venue_adapter() -> None:
    assert isinstance(exchange(SimulatedClock(START_NS)), VenueAdapter)


def test_a_fill_reaches_the_client_and_moves_the_account() -> None:
    clock = SimulatedClock(START_NS)
    venue = exchange(clock, taker_fee=D("0.001"))
    seen = Recorder(venue)
    venue.submit(limit(MAKER, "ask-1", OrderSide.SELL, "1", "42000.00"))
    venue.submit(market("buy-1", OrderSide.BUY, "0.5"))
    mine = [r for r in seen.reports if r.account_id == ME]
    assert [r.exec_type for r in mine] == [ExecType.NEW, ExecType.TRADE]  # type: ignore[union-attr]
    fill = mine[1]
    assert isinstance(fill, ExecutionReport)
    assert (fill.last_price, fill.last_quantity, fill.order_status) == (
        D("42000.00"),
        D("0.5"),
        OrderStatus.FILLED,
    )
    balances = {b.currency: b.total for b in asyncio.run(venue.balances(ME))}
    assert balances == {"BTC": D("0.5"), "USD": D("100000") - D("21000.000") - D("21.0000")}
    [position] = asyncio.run(venue.positions(ME))
    assert (position.quantity, position.average_price) == (D("0.5"), D("42000.00"))
    assert asyncio.run(venue.fills_since(ME, START)) == [fill]


def test_trades_and_top_of_book_changes_are_published() -> None:
    clock = SimulatedClock(START_NS)
    venue = exchange(clock)
    seen = Recorder(venue)
    venue.submit(limit(MAKER, "bid", OrderSide.BUY, "1", "41990.00"))
    venue.submit(limit(MAKER, "ask", OrderSide.SELL, "1", "42010.00"))
    venue.submit(market("sell-1", OrderSide.SELL, "0.25"))
    [tick] = seen.of(TradeTick)
    assert (tick.price, tick.size, tick.aggressor_side) == (
        D("41990.00"),
        D("0.25"),
        OrderSide.SELL,
    )
    last_quote = seen.of(Quote)[-1]
    assert (last_quote.bid_price, last_quote.bid_size, last_quote.ask_price) == (
        D("41990.00"),
        D("0.75"),
        D("42010.00"),
    )
    clock.advance_by(1_000_000_000)  # the book snapshot timer
    [book] = seen.of(OrderBook)
    assert [(level.price, level.size) for level in book.bids] == [(D("41990.00"), D("0.75"))]


def test_latency_delays_acknowledgements_fills_and_data_through_the_clock() -> None:
    clock = SimulatedClock(START_NS)
    latency = LatencyModel(order_ack_ns=5_000_000, fill_ns=2_000_000, market_data_ns=1_000_000)
    venue = exchange(clock, latency=latency)
    seen = Recorder(venue)
    venue.submit(limit(MAKER, "ask", OrderSide.SELL, "1", "42000.00"))
    venue.submit(market("buy", OrderSide.BUY, "0.1"))
    assert seen.reports == [] and seen.data == []
    clock.advance_by(5_000_000)  # both commands reach the engine and fill at once
    trades = [r for r in seen.reports if getattr(r, "exec_type", None) is ExecType.TRADE]
    assert trades == []  # fill reports travel 2 ms more
    clock.advance_by(2_000_000)
    trades = [r for r in seen.reports if getattr(r, "exec_type", None) is ExecType.TRADE]
    assert sorted(r.account_id for r in trades) == [MAKER, ME]
    assert trades[0].timestamp == START + timedelta(milliseconds=5)  # when it filled
    assert seen.of(TradeTick)  # market data arrived 1 ms after the fill


def test_unpayable_orders_are_rejected_when_balances_are_enforced() -> None:
    clock = SimulatedClock(START_NS)
    venue = exchange(clock, enforce_balances=True)
    seen = Recorder(venue)
    venue.submit(limit(ME, "too-big", OrderSide.BUY, "3", "42000.00"))
    [rejected] = seen.reports
    assert isinstance(rejected, ExecutionReport)
    assert rejected.exec_type is ExecType.REJECTED
    assert rejected.reason == "insufficient USD: needs 126000.00, free 100000"


def test_a_refused_duplicate_id_leaves_the_working_order_and_its_funds_alone() -> None:
    clock = SimulatedClock(START_NS)
    venue = exchange(clock)
    venue.submit(limit(ME, "bid", OrderSide.BUY, "1", "40000.00"))
    venue.submit(limit(ME, "bid", OrderSide.BUY, "1", "39000.00"))  # same id: refused
    [usd] = [b for b in asyncio.run(venue.balances(ME)) if b.currency == "USD"]
    assert (usd.locked, usd.free) == (D("40000.00"), D("60000.00"))
    status = asyncio.run(venue.order_status(ME, ClientOrderId("bid")))
    assert status is not None and status.order_status is OrderStatus.SUBMITTED
    assert status.price == D("40000.00")


def test_working_orders_lock_funds_until_they_end() -> None:
    clock = SimulatedClock(START_NS)
    venue = exchange(clock)
    venue.submit(limit(ME, "bid", OrderSide.BUY, "1", "40000.00"))
    [usd] = [b for b in asyncio.run(venue.balances(ME)) if b.currency == "USD"]
    assert (usd.locked, usd.free) == (D("40000.00"), D("60000.00"))
    venue.cancel(CancelOrder(ME, ClientOrderId("bid"), BTC.id))
    [usd] = [b for b in asyncio.run(venue.balances(ME)) if b.currency == "USD"]
    assert usd.locked == 0


def test_day_orders_expire_at_the_session_close() -> None:
    clock = SimulatedClock(START_NS)
    venue = exchange(clock, session_close=time(21, 0))
    seen = Recorder(venue)
    day = limit(ME, "day", OrderSide.BUY, "1", "40000.00")
    venue.submit(replace(day, time_in_force=TimeInForce.DAY))
    clock.advance_to(START_NS + 12 * 3_600 * 1_000_000_000)  # past 21:00
    expired = seen.reports[-1]
    assert isinstance(expired, ExecutionReport)
    assert expired.exec_type is ExecType.EXPIRED
    assert expired.timestamp == datetime(2024, 1, 2, 21, 0, tzinfo=UTC)


def test_cancel_of_an_unknown_order_is_a_command_rejection() -> None:
    clock = SimulatedClock(START_NS)
    venue = exchange(clock)
    seen = Recorder(venue)
    venue.cancel(CancelOrder(ME, ClientOrderId("ghost"), BTC.id))
    [refused] = seen.reports
    assert isinstance(refused, CommandRejected) and refused.command == "CANCEL"


def test_bars_mode_fills_on_bars_and_publishes_them() -> None:
    clock = SimulatedClock(START_NS)
    venue = exchange(clock, mode=ExchangeMode.BARS)
    seen = Recorder(venue)
    venue.submit(market("buy", OrderSide.BUY, "0.5"))
    bar = Bar(
        id=BarId.new(),
        instrument_id=BTC.id,
        timestamp=START,
        timeframe=Timeframe.D1,
        open=D("42000.00"),
        high=D("42100.00"),
        low=D("41900.00"),
        close=D("42050.00"),
        volume=D("100"),
    )
    venue.process_bar(bar)
    fill = seen.reports[-1]
    assert isinstance(fill, ExecutionReport) and fill.last_price == D("42000.00")
    assert seen.of(Bar) == [bar]
    with pytest.raises(NotFound):
        venue.engine(BTC.id)  # no book in bars mode


def test_an_account_opens_once() -> None:
    venue = exchange(SimulatedClock(START_NS))
    with pytest.raises(Conflict, match="account me is already open at SIM"):
        venue.open_account(ME, {})


def test_reports_carry_their_own_enum_types() -> None:
    """ExecType and OrderStatus are both text enums; a mix-up would still compare equal."""
    clock = SimulatedClock(START_NS)
    venue = exchange(clock)
    seen = Recorder(venue)
    venue.submit(limit(MAKER, "ask", OrderSide.SELL, "1", "42000.00"))
    venue.submit(limit(ME, "bid", OrderSide.BUY, "1", "41000.00"))
    venue.submit(market("buy", OrderSide.BUY, "0.5"))
    venue.cancel(CancelOrder(ME, ClientOrderId("bid"), BTC.id))
    reports = [r for r in seen.reports if isinstance(r, ExecutionReport)]
    assert {r.exec_type for r in reports} >= {ExecType.NEW, ExecType.TRADE, ExecType.CANCELLED}
    for report in reports:
        assert type(report.exec_type) is ExecType
        assert type(report.order_status) is OrderStatus


def test_order_status_answers_a_targeted_query_for_working_finished_and_unknown_orders() -> None:
    clock = SimulatedClock(START_NS)
    venue = exchange(clock)
    venue.submit(limit(MAKER, "ask-1", OrderSide.SELL, "1", "42000.00"))
    venue.submit(limit(ME, "bid-1", OrderSide.BUY, "0.5", "41000.00"))
    venue.submit(market("buy-1", OrderSide.BUY, "0.5"))

    working = asyncio.run(venue.order_status(ME, ClientOrderId("bid-1")))
    filled = asyncio.run(venue.order_status(ME, ClientOrderId("buy-1")))
    unknown = asyncio.run(venue.order_status(ME, ClientOrderId("never-sent")))

    assert working is not None and working.exec_type is ExecType.STATUS
    assert (working.order_status, working.leaves_quantity) == (OrderStatus.SUBMITTED, D("0.5"))
    assert filled is not None and filled.order_status is OrderStatus.FILLED
    assert filled.filled_quantity == D("0.5") and filled.trade_id is None
    assert unknown is None


def test_published_trades_and_quotes_equal_validated_ones() -> None:
    clock = SimulatedClock(START_NS)
    venue = exchange(clock)
    seen = Recorder(venue)
    venue.submit(limit(MAKER, "bid", OrderSide.BUY, "1", "41990.00"))
    venue.submit(limit(MAKER, "ask", OrderSide.SELL, "1", "42010.00"))
    clock.advance_by(1_000)
    venue.submit(market("buy-1", OrderSide.BUY, "0.25"))
    [fill] = [
        r
        for r in seen.reports
        if isinstance(r, ExecutionReport) and r.account_id == ME and r.exec_type is ExecType.TRADE
    ]
    assert fill.trade_id is not None
    items = seen.of(TradeTick) + seen.of(Quote)
    assert len(items) == 3
    for item in items:  # built without re-running the checks, yet exactly what they give
        rebuilt = type(item)(*(getattr(item, f.name) for f in fields(item)))
        assert rebuilt == item and repr(rebuilt) == repr(item)
    [tick] = seen.of(TradeTick)
    assert tick == TradeTick(
        BTC.id, fill.timestamp, D("42010.00"), D("0.25"), fill.trade_id, OrderSide.BUY
    )
    assert seen.of(Quote)[-1].timestamp == fill.timestamp  # one clock reading per command


def test_the_top_is_followed_while_nobody_listens() -> None:
    clock = SimulatedClock(START_NS)
    venue = exchange(clock)
    venue.submit(limit(MAKER, "bid", OrderSide.BUY, "1", "41990.00"))
    venue.submit(limit(MAKER, "ask", OrderSide.SELL, "1", "42010.00"))
    seen = Recorder(venue)  # from here on
    venue.submit(limit(MAKER, "deep", OrderSide.SELL, "1", "42020.00"))  # the top holds
    assert seen.data == []
    venue.submit(market("buy-1", OrderSide.BUY, "0.25"))
    assert [type(item) for item in seen.data] == [TradeTick, Quote]
    assert seen.of(Quote)[0].ask_size == D("0.75")


def test_market_data_falls_back_to_validation_when_its_fields_are_not_as_expected() -> None:
    from omoitrade.venues.sim.exchange import _slot_setters

    assert _slot_setters(TradeTick, ("instrument_id", "timestamp")) is None  # fields differ
    assert _slot_setters(SimExchangeConfig, ("venue",)) is None
    setters = _slot_setters(BookLevel, ("price", "size", "order_count"))
    assert setters is not None and len(setters) == 3
