"""Working buys that cover one short share its reserve: together they never count more of
it as released than the short holds. Each buy is funded on the short left after the buys
already working (an OCO group's members count once, as one buy), and the locks follow
every fill, partial fill and cancel."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal as D

import pytest
from test_sim_short_selling import BTC, BUY, MAKER, ME, SELL, START, outcome, submit

from omoitrade.core.clock import SimulatedClock
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
from omoitrade.model.venue import AmendOrder, CancelOrder, ExecutionReport, VenueReport
from omoitrade.venues.sim.accounts import SimAccount
from omoitrade.venues.sim.exchange import ExchangeMode, SimExchangeConfig, SimulatedExchange


def short_venue(
    cash: str, short: str = "1", mode: ExchangeMode = ExchangeMode.BOOK
) -> tuple[SimulatedExchange, list[VenueReport]]:
    """A margin account (``short_margin`` 1) with ``cash`` USD that has sold ``short`` BTC
    short at 40000: its reserve is 2 x 40000 per BTC."""
    clock = SimulatedClock(int(START.timestamp()) * 1_000_000_000)
    venue = SimulatedExchange(clock, [BTC], SimExchangeConfig(mode=mode, enforce_balances=True))
    venue.open_account(ME, {"USD": D(cash)}, short_margin=D(1))
    venue.open_account(MAKER, {"BTC": D("10"), "USD": D("1000000")})
    reports: list[VenueReport] = []
    venue.on_report(reports.append)
    if mode is ExchangeMode.BOOK:
        submit(venue, "bid", BUY, short, "40000.00", account=MAKER)
        submit(venue, "short", SELL, short)
    else:
        submit(venue, "short", SELL, short, "40000.00")
        venue.process_bar(bar(0, "40000.00"))
    assert outcome(reports, "short")[-1][0] is ExecType.TRADE
    reports.clear()
    return venue, reports


def cancel(venue: SimulatedExchange, cid: str) -> None:
    venue.cancel(CancelOrder(ME, ClientOrderId(cid), BTC.id))


def bar(day: int, price: str) -> Bar:
    p = D(price)
    return Bar(BarId.new(), BTC.id, START + timedelta(days=day), Timeframe.D1, p, p, p, p, D("100"))


def usd(venue: SimulatedExchange) -> tuple[D, D, D]:
    """(total, free, locked) of the account's USD; locked counts the short reserve."""
    [b] = [b for b in asyncio.run(venue.balances(ME)) if b.currency == "USD"]
    return b.total, b.free, b.locked


@pytest.mark.parametrize("mode", [ExchangeMode.BOOK, ExchangeMode.BARS])
def test_a_second_cover_of_the_same_short_is_not_funded_by_the_same_release(
    mode: ExchangeMode,
) -> None:
    venue, reports = short_venue("40000", mode=mode)  # cash 80000, all of it reserved
    assert usd(venue) == (D("80000.00"), D("0.00"), D("80000.00"))
    submit(venue, "cover-1", BUY, "1", "39000.00")  # 39000 less the 80000 it releases
    submit(venue, "cover-2", BUY, "1", "39000.00")  # the short is covered already: full cost
    assert outcome(reports, "cover-1") == [(ExecType.NEW, None)]
    assert outcome(reports, "cover-2") == [
        (ExecType.REJECTED, "insufficient USD: needs 39000.00, free 0.000000")
    ]
    assert usd(venue) == (D("80000.00"), D("0.00"), D("80000.00"))


def test_covers_of_a_short_split_its_reserve_in_the_order_they_came() -> None:
    venue, reports = short_venue("80000", short="2")  # cash 160000, all reserved
    submit(venue, "cover-1", BUY, "1", "39000.00")  # releases 80000 of the 160000
    submit(venue, "cover-2", BUY, "1", "39000.00")  # the other 80000
    submit(venue, "cover-3", BUY, "0.5", "39000.00")  # nothing left to release
    assert outcome(reports, "cover-2") == [(ExecType.NEW, None)]
    assert outcome(reports, "cover-3") == [
        (ExecType.REJECTED, "insufficient USD: needs 19500.000, free 0.000000")
    ]
    submit(venue, "ask", SELL, "2", "39000.00", account=MAKER)
    assert outcome(reports, "cover-2")[-1][0] is ExecType.TRADE
    assert usd(venue) == (D("82000.00"), D("82000.00"), D("0.00"))


def test_a_cover_behind_another_locks_what_the_release_left_does_not_pay() -> None:
    venue, reports = short_venue("50000")  # cash 90000, reserve 80000, free 10000
    submit(venue, "cover-1", BUY, "0.5", "45000.00")  # 22500 < the 40000 it releases
    submit(venue, "cover-2", BUY, "1", "45000.00")  # 45000 less the other 40000: 5000
    assert outcome(reports, "cover-2") == [(ExecType.NEW, None)]
    assert usd(venue) == (D("90000.00"), D("5000.00"), D("85000.00"))
    submit(venue, "cover-3", BUY, "0.2", "45000.00")
    assert outcome(reports, "cover-3") == [
        (ExecType.REJECTED, "insufficient USD: needs 9000.000, free 5000.000000")
    ]
    cancel(venue, "cover-1")  # cover-2 now releases the whole reserve: it needs nothing
    assert usd(venue) == (D("90000.00"), D("10000.00"), D("80000.00"))
    cancel(venue, "cover-2")
    assert usd(venue) == (D("90000.00"), D("10000.00"), D("80000.00"))  # as after the short


def test_partial_fills_of_working_covers_keep_the_locks_exact() -> None:
    venue, reports = short_venue("50000")  # cash 90000, reserve 80000, free 10000
    submit(venue, "cover-1", BUY, "0.5", "45000.00")
    submit(venue, "cover-2", BUY, "1", "45000.00")
    submit(venue, "ask-1", SELL, "0.3", "45000.00", account=MAKER)  # cover-1: 0.3 of 0.5
    # cash 90000 - 13500; the 0.7 short reserves 56000; cover-1's 0.2 is paid by its
    # release, cover-2 still needs 45000 less the 40000 of the 0.5 short behind cover-1
    assert usd(venue) == (D("76500.00"), D("15500.00"), D("61000.00"))
    submit(venue, "ask-2", SELL, "0.7", "45000.00", account=MAKER)  # cover-1 done, cover-2 half
    assert [kind for kind, _ in outcome(reports, "cover-2")] == [ExecType.NEW, ExecType.TRADE]
    # flat: no reserve; cover-2's last 0.5 needs its full 22500
    assert usd(venue) == (D("45000.00"), D("22500.00"), D("22500.00"))
    cancel(venue, "cover-2")
    assert usd(venue) == (D("45000.00"), D("45000.00"), D("0.00"))


def test_an_oco_bracket_over_a_short_counts_its_release_once_for_the_orders_behind() -> None:
    venue, reports = short_venue("40000")  # cash 80000, all reserved
    submit(venue, "stop-loss", BUY, "1", "44000.00", kind=OrderType.STOP, oco_group="g")
    submit(venue, "take-profit", BUY, "1", "36000.00", oco_group="g")
    assert outcome(reports, "stop-loss") == [(ExecType.NEW, None)]
    assert outcome(reports, "take-profit") == [(ExecType.NEW, None)]  # one of them fills
    submit(venue, "another", BUY, "1", "35000.00")  # the bracket covers the whole short
    assert outcome(reports, "another") == [
        (ExecType.REJECTED, "insufficient USD: needs 35000.00, free 0.000000")
    ]
    submit(venue, "ask", SELL, "1", "36000.00", account=MAKER)
    cancelled = (ExecType.CANCELLED, "OCO sibling take-profit filled")
    assert outcome(reports, "stop-loss")[-1] == cancelled
    assert usd(venue) == (D("44000.00"), D("44000.00"), D("0.00"))


def test_a_bigger_group_member_moves_the_release_left_for_the_covers_behind() -> None:
    venue, reports = short_venue("90000", short="2")  # cash 170000, reserve 160000, free 10000
    submit(venue, "stop-loss", BUY, "1", "44000.00", kind=OrderType.STOP, oco_group="g")
    submit(venue, "cover", BUY, "1", "41000.00")  # releases the other 80000
    assert usd(venue)[1] == D("10000.00")
    # a member for the whole short would leave the cover nothing to release: 41000 more
    submit(venue, "take-profit", BUY, "2", "36000.00", oco_group="g")
    assert outcome(reports, "take-profit") == [
        (
            ExecType.REJECTED,
            "insufficient USD: needs 41000.00 (the working buys of the short would release"
            " less), free 10000.000000",
        )
    ]
    submit(venue, "take-profit", BUY, "1", "36000.00", oco_group="g")
    assert outcome(reports, "take-profit")[-1] == (ExecType.NEW, None)
    assert usd(venue)[1] == D("10000.00")


def test_an_amended_cover_moves_the_locks_of_the_covers_behind() -> None:
    venue, _ = short_venue("50000")  # cash 90000, reserve 80000, free 10000
    submit(venue, "cover-1", BUY, "0.5", "45000.00")
    submit(venue, "cover-2", BUY, "1", "45000.00")  # 45000 less 40000
    assert usd(venue)[1] == D("5000.00")
    venue.amend(AmendOrder(ME, ClientOrderId("cover-1"), BTC.id, quantity=D("0.25")))
    assert usd(venue)[1] == D("10000.00")  # cover-2 now releases 60000 of it: no lock
    venue.amend(AmendOrder(ME, ClientOrderId("cover-1"), BTC.id, quantity=D("0.55")))
    assert usd(venue)[1] == D("1000.00")  # cover-2 releases 36000 of it: 9000 locked


def test_a_fill_adding_to_the_short_moves_what_the_working_covers_release() -> None:
    venue, reports = short_venue("60000", mode=ExchangeMode.BARS)  # reserve 80000, free 20000
    submit(venue, "stop-loss", BUY, "1", "79000.00", kind=OrderType.STOP)  # releases 80000
    assert usd(venue) == (D("100000.00"), D("20000.00"), D("80000.00"))
    submit(venue, "more", SELL, "0.5", "35000.00")  # its margin: 17500
    venue.process_bar(bar(1, "35000.00"))
    assert outcome(reports, "more")[-1][0] is ExecType.TRADE
    # short 1.5 at 38333.33...: reserve 115000; the stop covers its first 1 and releases
    # 115000 less the 38333.333334 of the 0.5 left: 2333.333334 of its 79000 to lock
    assert usd(venue) == (D("117500.00"), D("166.666666"), D("117333.333334"))
    cancel(venue, "stop-loss")
    assert usd(venue) == (D("117500.00"), D("2500.00"), D("115000.00"))


def test_an_account_funds_a_buy_on_the_short_left_after_the_buys_ahead() -> None:
    account = SimAccount(AccountId("a"), short_margin=D(1))
    account.deposit("USD", D("100000"))
    account.apply_fill(_fill(SELL, "2", "40000.00"), BTC)  # reserves 160000
    assert account.needs(BTC, BUY, D("1"), D("45000.00")) == ()  # releases 80000
    assert account.needs(BTC, BUY, D("1"), D("45000.00"), ahead=D("1")) == ()  # the other 80000
    assert account.needs(BTC, BUY, D("1"), D("45000.00"), ahead=D("1.5")) == (
        ("USD", D("5000.00")),  # 45000 less the 40000 of the 0.5 short left
    )
    assert account.needs(BTC, BUY, D("1"), D("45000.00"), ahead=D("2")) == (("USD", D("45000.00")),)


def _fill(side: OrderSide, qty: str, price: str) -> ExecutionReport:
    return ExecutionReport(
        report_id=1, exec_type=ExecType.TRADE, timestamp=START, account_id=AccountId("a"),
        instrument_id=BTC.id, client_order_id=ClientOrderId("c"),
        venue_order_id=VenueOrderId("SIM-1"), side=side, order_type=OrderType.MARKET,
        time_in_force=TimeInForce.GTC, order_status=OrderStatus.FILLED, quantity=D(qty),
        filled_quantity=D(qty), leaves_quantity=D(0), last_quantity=D(qty),
        last_price=D(price), trade_id=VenueTradeId("SIM-T1"), commission_currency="USD",
    )  # fmt: skip


def test_buys_working_when_a_short_opens_share_its_reserve_and_lock_again_when_it_ends() -> None:
    clock = SimulatedClock(int(START.timestamp()) * 1_000_000_000)
    config = SimExchangeConfig(mode=ExchangeMode.BARS, enforce_balances=True)
    venue = SimulatedExchange(clock, [BTC], config)
    venue.open_account(ME, {"USD": D("100000")}, short_margin=D(1))
    reports: list[VenueReport] = []
    venue.on_report(reports.append)
    submit(venue, "bid", BUY, "1", "30000.00")  # no short: it locks its cost
    assert usd(venue) == (D("100000"), D("70000"), D("30000"))
    submit(venue, "short", SELL, "1", "40000.00")
    venue.process_bar(bar(1, "40000.00"))  # the short opens: reserve 80000, cash 140000
    assert outcome(reports, "short")[-1][0] is ExecType.TRADE
    assert usd(venue) == (D("140000"), D("60000"), D("80000"))  # the bid releases it all
    submit(venue, "cover", BUY, "1")  # a market buy: fills at the next open
    venue.process_bar(bar(2, "40000.00"))  # the short ends
    assert outcome(reports, "cover")[-1][0] is ExecType.TRADE
    assert usd(venue) == (D("100000"), D("70000"), D("30000"))  # the bid locks its cost again
    cancel(venue, "bid")
    assert usd(venue) == (D("100000"), D("100000"), D("0"))
