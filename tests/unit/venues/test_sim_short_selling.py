"""Margin accounts at the simulated exchange sell short: the base goes negative, the
proceeds are credited, and the proceeds plus the margin are reserved while the short is
open; a spot account (the default) still sells only what it holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from omoitrade.core.clock import SimulatedClock
from omoitrade.core.errors import ValidationError
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
    VenueOrderId,
    VenueTradeId,
)
from omoitrade.model.market_data import Bar
from omoitrade.model.venue import ExecutionReport, SubmitOrder, VenuePosition, VenueReport
from omoitrade.testing.factories import make_instrument
from omoitrade.venues.sim.accounts import SimAccount
from omoitrade.venues.sim.exchange import ExchangeMode, SimExchangeConfig, SimulatedExchange

BTC = make_instrument()
START = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)
ME, MAKER = AccountId("me"), AccountId("maker")
SELL, BUY = OrderSide.SELL, OrderSide.BUY


def venue_in(
    mode: ExchangeMode = ExchangeMode.BOOK, short_margin: D | None = D(1)
) -> tuple[SimulatedExchange, list[VenueReport]]:
    clock = SimulatedClock(int(START.timestamp()) * 1_000_000_000)
    venue = SimulatedExchange(clock, [BTC], SimExchangeConfig(mode=mode, enforce_balances=True))
    venue.open_account(ME, {"USD": D("100000")}, short_margin=short_margin)
    venue.open_account(MAKER, {"BTC": D("10"), "USD": D("1000000")})
    reports: list[VenueReport] = []
    venue.on_report(reports.append)
    return venue, reports


def submit(
    venue: SimulatedExchange,
    cid: str,
    side: OrderSide,
    qty: str,
    price: str | None = None,
    *,
    account: AccountId = ME,
    kind: OrderType | None = None,
    oco_group: str | None = None,
) -> None:
    """A market order without a price, else a limit (or ``kind``: a stop's price is its
    stop price)."""
    kind = kind or (OrderType.MARKET if price is None else OrderType.LIMIT)
    value = None if price is None else D(price)
    prices = {"stop_price": value} if kind is OrderType.STOP else {"price": value}
    venue.submit(
        SubmitOrder(
            account, ClientOrderId(cid), BTC.id, side, kind, D(qty),
            oco_group=oco_group, **prices,  # type: ignore[arg-type]
        )
    )  # fmt: skip


def outcome(reports: list[VenueReport], cid: str) -> list[tuple[ExecType, str | None]]:
    return [
        (r.exec_type, r.reason)
        for r in reports
        if isinstance(r, ExecutionReport) and r.client_order_id == ClientOrderId(cid)
    ]


def balances(venue: SimulatedExchange) -> dict[str, tuple[D, D, D]]:
    return {b.currency: (b.total, b.free, b.locked) for b in asyncio.run(venue.balances(ME))}


def test_a_spot_account_still_cannot_sell_what_it_does_not_hold() -> None:
    venue, reports = venue_in(short_margin=None)
    submit(venue, "bid", BUY, "1", "40000.00", account=MAKER)
    submit(venue, "short", SELL, "1")
    assert outcome(reports, "short") == [(ExecType.REJECTED, "insufficient BTC: needs 1, free 0")]


def test_a_short_sale_credits_the_proceeds_and_reserves_them_with_the_margin() -> None:
    venue, reports = venue_in()
    submit(venue, "bid", BUY, "1", "40000.00", account=MAKER)
    submit(venue, "short", SELL, "1")
    assert [kind for kind, _ in outcome(reports, "short")] == [ExecType.NEW, ExecType.TRADE]
    assert balances(venue) == {
        "BTC": (D("-1"), D("-1"), D("0")),
        "USD": (D("140000.00"), D("60000.00"), D("80000.00")),  # proceeds + 1 x the value
    }
    assert asyncio.run(venue.positions(ME)) == [VenuePosition(BTC.id, D("-1"), D("40000.00"))]


def test_covering_releases_the_reserve_and_books_the_gain() -> None:
    venue, _ = venue_in()
    submit(venue, "bid", BUY, "1", "40000.00", account=MAKER)
    submit(venue, "short", SELL, "1")
    submit(venue, "ask", SELL, "1", "38000.00", account=MAKER)
    submit(venue, "cover", BUY, "1")
    assert balances(venue) == {
        "BTC": (D("0"), D("0"), D("0")),
        "USD": (D("102000.00"), D("102000.00"), D("0.00")),
    }
    assert asyncio.run(venue.positions(ME)) == []


def test_a_short_beyond_the_margin_is_refused_with_the_reason() -> None:
    venue, reports = venue_in()
    submit(venue, "short", SELL, "3", "40000.00")
    assert outcome(reports, "short") == [
        (ExecType.REJECTED, "insufficient USD for the short margin: needs 120000.00, free 100000")
    ]


def test_a_working_short_reserves_its_margin_so_a_second_cannot_overdraw() -> None:
    venue, reports = venue_in(ExchangeMode.BARS)
    submit(venue, "first", SELL, "1.5", "40000.00")
    submit(venue, "second", SELL, "1.5", "40000.00")
    assert outcome(reports, "first") == [(ExecType.NEW, None)]
    assert outcome(reports, "second") == [
        (
            ExecType.REJECTED,
            "insufficient USD for the short margin: needs 60000.000, free 40000.000",
        )
    ]


def test_a_lower_margin_rate_shorts_more_and_a_cover_needs_only_its_cost_less_the_reserve() -> None:
    venue, reports = venue_in(ExchangeMode.BARS, short_margin=D("0.5"))
    submit(venue, "short", SELL, "2", "40000.00")  # needs 0.5 x 80000 = 40000
    venue.process_bar(
        Bar(BarId.new(), BTC.id, START + timedelta(days=1), Timeframe.D1,
            D("40000.00"), D("40000.00"), D("40000.00"), D("40000.00"), D("100"))
    )  # fmt: skip
    assert outcome(reports, "short")[-1][0] is ExecType.TRADE
    assert balances(venue)["USD"] == (D("180000.00"), D("60000.00"), D("120000.00"))
    submit(venue, "cover", BUY, "2", "45000.00")  # costs 90000 > 60000 free, frees 120000
    assert outcome(reports, "cover") == [(ExecType.NEW, None)]
    assert balances(venue)["USD"] == (D("180000.00"), D("60000.00"), D("120000.00"))


def test_a_sell_past_a_long_locks_the_base_held_and_margin_for_the_rest() -> None:
    venue, reports = venue_in()
    submit(venue, "ask", SELL, "1", "40000.00", account=MAKER)
    submit(venue, "long", BUY, "1")
    submit(venue, "flip", SELL, "2", "41000.00")
    assert outcome(reports, "flip") == [(ExecType.NEW, None)]
    assert balances(venue) == {
        "BTC": (D("1"), D("0"), D("1")),
        "USD": (D("60000.00"), D("19000.00"), D("41000.00")),  # 1 x 41000 x 1 BTC short
    }
    submit(venue, "more", SELL, "2", "41000.00")  # all short now: 82000 > 19000
    assert outcome(reports, "more") == [
        (
            ExecType.REJECTED,
            "insufficient USD for the short margin: needs 82000.00, free 19000.000000",
        )
    ]


def test_a_partial_cover_releases_its_share_of_the_reserve() -> None:
    account = SimAccount(AccountId("a"), short_margin=D(1))
    account.deposit("USD", D("100000"))
    assert account.needs(BTC, SELL, D("2"), D("40000.00")) == (("USD", D("80000.00")),)
    account.apply_fill(_fill(SELL, "2", "40000.00"), BTC)
    assert account.free("USD") == D("20000.00")  # 180000 - 2 x 80000
    assert account.needs(BTC, BUY, D("1"), D("41000.00")) == ()  # 41000 < the 80000 freed
    account.apply_fill(_fill(BUY, "1", "41000.00"), BTC)
    assert account.free("USD") == D("59000.00")  # 139000 - 80000
    assert account.needs(BTC, BUY, D("3"), D("41000.00")) == (("USD", D("43000.00")),)


def test_a_margin_rate_must_be_positive() -> None:
    with pytest.raises(ValidationError):
        SimAccount(AccountId("a"), short_margin=D(0))


def _fill(side: OrderSide, qty: str, price: str) -> ExecutionReport:
    return ExecutionReport(
        report_id=1, exec_type=ExecType.TRADE, timestamp=START, account_id=AccountId("a"),
        instrument_id=BTC.id, client_order_id=ClientOrderId("c"),
        venue_order_id=VenueOrderId("SIM-1"), side=side, order_type=OrderType.MARKET,
        time_in_force=TimeInForce.GTC, order_status=OrderStatus.FILLED, quantity=D(qty),
        filled_quantity=D(qty), leaves_quantity=D(0), last_quantity=D(qty),
        last_price=D(price), trade_id=VenueTradeId("SIM-T1"), commission_currency="USD",
    )  # fmt: skip
