"""OCO groups reserve once at the simulated exchange: the largest of their members' needs,
in book mode and bars mode alike; orders outside a group still reserve each their own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from omoitrade.core.clock import SimulatedClock
from omoitrade.model import (
    AccountId,
    BarId,
    ClientOrderId,
    ExecType,
    OrderSide,
    OrderType,
    Timeframe,
)
from omoitrade.model.market_data import Bar
from omoitrade.model.venue import AmendOrder, ExecutionReport, SubmitOrder, VenueReport
from omoitrade.testing.factories import make_instrument
from omoitrade.venues.sim.exchange import ExchangeMode, SimExchangeConfig, SimulatedExchange

BTC = make_instrument()
START = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)
ME, TAKER = AccountId("me"), AccountId("taker")
MODES = [ExchangeMode.BOOK, ExchangeMode.BARS]


def venue_in(mode: ExchangeMode) -> tuple[SimulatedExchange, list[VenueReport]]:
    clock = SimulatedClock(int(START.timestamp()) * 1_000_000_000)
    config = SimExchangeConfig(mode=mode, enforce_balances=True)
    venue = SimulatedExchange(clock, [BTC], config)
    venue.open_account(ME, {"BTC": D("1"), "USD": D("1000")})
    venue.open_account(TAKER, {"USD": D("100000")})
    reports: list[VenueReport] = []
    venue.on_report(reports.append)
    return venue, reports


def order(
    cid: str,
    kind: OrderType,
    qty: str,
    price: str,
    *,
    side: OrderSide = OrderSide.SELL,
    **extra: object,
) -> SubmitOrder:
    prices = {"stop_price": D(price)} if kind is OrderType.STOP else {"price": D(price)}
    return SubmitOrder(ME, ClientOrderId(cid), BTC.id, side, kind, D(qty), **prices, **extra)  # type: ignore[arg-type]


def bracket(qty: str = "1", group: str | None = "g") -> list[SubmitOrder]:
    """A stop loss under and a take profit over a long of ``qty``."""
    return [
        order("stop", OrderType.STOP, qty, "39000.00", oco_group=group),
        order("target", OrderType.LIMIT, qty, "45000.00", oco_group=group),
    ]


def outcome(reports: list[VenueReport], cid: str) -> list[tuple[ExecType, str | None]]:
    return [
        (r.exec_type, r.reason)
        for r in reports
        if isinstance(r, ExecutionReport) and r.client_order_id == ClientOrderId(cid)
    ]


def balance(venue: SimulatedExchange, currency: str) -> tuple[D, D, D]:
    [b] = [b for b in asyncio.run(venue.balances(ME)) if b.currency == currency]
    return b.total, b.free, b.locked


@pytest.mark.parametrize("mode", MODES)
def test_a_stop_loss_and_take_profit_pair_for_the_whole_position_is_accepted(
    mode: ExchangeMode,
) -> None:
    venue, reports = venue_in(mode)
    for command in bracket():
        venue.submit(command)
    assert outcome(reports, "stop") == [(ExecType.NEW, None)]
    assert outcome(reports, "target") == [(ExecType.NEW, None)]
    assert balance(venue, "BTC") == (D("1"), D("0"), D("1"))  # reserved once, not twice


@pytest.mark.parametrize("mode", MODES)
def test_two_sells_of_the_whole_position_outside_a_group_cannot_both_be_accepted(
    mode: ExchangeMode,
) -> None:
    venue, reports = venue_in(mode)
    for command in bracket(group=None):
        venue.submit(command)
    assert outcome(reports, "stop") == [(ExecType.NEW, None)]
    assert outcome(reports, "target") == [(ExecType.REJECTED, "insufficient BTC: needs 1, free 0")]


@pytest.mark.parametrize("mode", MODES)
def test_a_member_beyond_what_the_account_holds_is_still_refused(mode: ExchangeMode) -> None:
    venue, reports = venue_in(mode)
    venue.submit(order("stop", OrderType.STOP, "1", "39000.00", oco_group="g"))
    venue.submit(order("target", OrderType.LIMIT, "1.5", "45000.00", oco_group="g"))
    assert outcome(reports, "target") == [
        (ExecType.REJECTED, "insufficient BTC: needs 1.5, free 1")
    ]
    venue.submit(order("other", OrderType.LIMIT, "0.1", "46000.00", oco_group="h"))
    assert outcome(reports, "other") == [(ExecType.REJECTED, "insufficient BTC: needs 0.1, free 0")]


def test_book_mode_the_target_fills_the_stop_is_cancelled_and_the_balance_is_right() -> None:
    venue, reports = venue_in(ExchangeMode.BOOK)
    for command in bracket():
        venue.submit(command)
    venue.submit(
        SubmitOrder(
            TAKER, ClientOrderId("lift"), BTC.id, OrderSide.BUY, OrderType.LIMIT, D("1"),
            price=D("45000.00"),
        )
    )  # fmt: skip
    assert outcome(reports, "target")[-1][0] is ExecType.TRADE
    assert outcome(reports, "stop")[-1] == (ExecType.CANCELLED, "OCO sibling target filled")
    assert balance(venue, "BTC") == (D("0"), D("0"), D("0"))
    assert balance(venue, "USD") == (D("46000.00"), D("46000.00"), D("0"))


def test_book_mode_a_partial_fill_leaves_the_rest_of_the_leg_reserved() -> None:
    venue, reports = venue_in(ExchangeMode.BOOK)
    for command in bracket():
        venue.submit(command)
    venue.submit(
        SubmitOrder(
            TAKER, ClientOrderId("lift"), BTC.id, OrderSide.BUY, OrderType.LIMIT, D("0.4"),
            price=D("45000.00"),
        )
    )  # fmt: skip
    assert outcome(reports, "stop")[-1] == (ExecType.CANCELLED, "OCO sibling target filled")
    assert balance(venue, "BTC") == (D("0.6"), D("0.0"), D("0.6"))


def bar(day: int, o: str, h: str, lo: str, c: str) -> Bar:
    return Bar(
        BarId.new(), BTC.id, START + timedelta(days=day), Timeframe.D1,
        D(o), D(h), D(lo), D(c), D("100"),
    )  # fmt: skip


def test_bars_mode_the_stop_fills_the_target_is_cancelled_and_the_balance_is_right() -> None:
    venue, reports = venue_in(ExchangeMode.BARS)
    venue.process_bar(bar(0, "40000.00", "41000.00", "39500.00", "40000.00"))
    for command in bracket():
        venue.submit(command)
    venue.process_bar(bar(1, "38000.00", "38500.00", "37000.00", "38000.00"))  # opens under
    assert outcome(reports, "stop")[-1][0] is ExecType.TRADE
    assert outcome(reports, "target")[-1] == (ExecType.CANCELLED, "OCO sibling stop filled")
    assert balance(venue, "BTC") == (D("0"), D("0"), D("0"))
    assert balance(venue, "USD") == (D("39000.00"), D("39000.00"), D("0"))


def test_an_amended_member_moves_the_group_reservation() -> None:
    venue, _ = venue_in(ExchangeMode.BOOK)
    venue.submit(
        order("buy-stop", OrderType.STOP, "0.02", "45000.00", side=OrderSide.BUY, oco_group="g")
    )
    venue.submit(
        order("buy-limit", OrderType.LIMIT, "0.01", "30000.00", side=OrderSide.BUY, oco_group="g")
    )
    assert balance(venue, "USD")[2] == D("900.00")  # the larger of 900 and 300
    venue.amend(AmendOrder(ME, ClientOrderId("buy-stop"), BTC.id, stop_price=D("20000.00")))
    assert balance(venue, "USD")[2] == D("400.00")  # now the stop's 400 (buy limit is 300)
