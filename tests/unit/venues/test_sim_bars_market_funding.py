"""Bars mode funds a market order at the price it trades at: under the ``close`` fill
model the latest bar's close, as it arrives (the part that keeps working locked at that
close), with the reasons other orders get. Under ``next-open`` and ``ohlc`` it trades at
an open the exchange has not seen as it arrives: it is funded at that open just before it
trades, and cancelled with the reason if the account cannot pay (see
docs/simulated-exchange.md)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal as D

import pytest
from test_sim_short_selling import BTC, BUY, ME, SELL, START, outcome

from omoitrade.core.clock import SimulatedClock
from omoitrade.model import (
    BarId,
    ClientOrderId,
    ExecType,
    OrderSide,
    OrderType,
    Timeframe,
)
from omoitrade.model.market_data import Bar
from omoitrade.model.venue import ExecutionReport, SubmitOrder, VenueReport
from omoitrade.venues.sim.bar_fills import BarFillConfig, FillModel
from omoitrade.venues.sim.exchange import ExchangeMode, SimExchangeConfig, SimulatedExchange


def venue_with(
    model: FillModel = FillModel.CLOSE,
    cap: D | None = None,
    short_margin: D | None = None,
) -> tuple[SimulatedExchange, list[VenueReport]]:
    """A bars-mode exchange with balances enforced, 100000 USD, after one bar closed at
    42050."""
    clock = SimulatedClock(int(START.timestamp()) * 1_000_000_000)
    fills = BarFillConfig(fill_model=model, participation_cap=cap)
    config = SimExchangeConfig(mode=ExchangeMode.BARS, bar_fills=fills, enforce_balances=True)
    venue = SimulatedExchange(clock, [BTC], config)
    venue.open_account(ME, {"USD": D("100000")}, short_margin=short_margin)
    reports: list[VenueReport] = []
    venue.on_report(reports.append)
    venue.process_bar(bar(0, "42000.00", "42050.00"))
    return venue, reports


def bar(day: int, open_: str, close: str) -> Bar:
    o, c = D(open_), D(close)
    return Bar(
        BarId.new(), BTC.id, START + timedelta(days=day), Timeframe.D1,
        o, max(o, c), min(o, c), c, D("100"),
    )  # fmt: skip


def market(venue: SimulatedExchange, cid: str, side: OrderSide, qty: str) -> None:
    venue.submit(SubmitOrder(ME, ClientOrderId(cid), BTC.id, side, OrderType.MARKET, D(qty)))


def balances(venue: SimulatedExchange) -> dict[str, tuple[D, D, D]]:
    return {b.currency: (b.total, b.free, b.locked) for b in asyncio.run(venue.balances(ME))}


def test_close_model_a_market_buy_beyond_the_cash_is_rejected_at_the_latest_close() -> None:
    venue, reports = venue_with()
    market(venue, "too-big", BUY, "3")  # 3 x 42050 > 100000
    assert outcome(reports, "too-big") == [
        (ExecType.REJECTED, "insufficient USD: needs 126150.00, free 100000")
    ]
    assert balances(venue) == {"USD": (D("100000"), D("100000"), D("0"))}


def test_close_model_an_affordable_market_buy_fills_at_the_close_as_before() -> None:
    venue, reports = venue_with()
    market(venue, "buy", BUY, "2")
    assert [kind for kind, _ in outcome(reports, "buy")] == [ExecType.NEW, ExecType.TRADE]
    fill = reports[-1]
    assert isinstance(fill, ExecutionReport) and fill.last_price == D("42050.00")
    assert balances(venue) == {
        "BTC": (D("2"), D("2"), D("0")),
        "USD": (D("15900.00"), D("15900.00"), D("0")),
    }


def test_close_model_a_market_short_beyond_the_margin_is_rejected() -> None:
    venue, reports = venue_with(short_margin=D(1))
    market(venue, "short", SELL, "3")
    assert outcome(reports, "short") == [
        (ExecType.REJECTED, "insufficient USD for the short margin: needs 126150.00, free 100000")
    ]


def test_close_model_the_rest_of_a_capped_market_buy_stays_locked_at_the_close() -> None:
    venue, reports = venue_with(cap=D("0.01"))  # 1 BTC of a bar's 100
    market(venue, "buy", BUY, "2")  # 1 at once, 1 at the next close
    assert [kind for kind, _ in outcome(reports, "buy")] == [ExecType.NEW, ExecType.TRADE]
    assert balances(venue)["USD"] == (D("57950.00"), D("15900.00"), D("42050.00"))
    market(venue, "more", BUY, "0.5")  # 21025 > the 15900 left free
    assert outcome(reports, "more") == [
        (ExecType.REJECTED, "insufficient USD: needs 21025.000, free 15900.000000")
    ]
    venue.process_bar(bar(1, "42050.00", "42100.00"))
    assert outcome(reports, "buy")[-1][0] is ExecType.TRADE
    assert balances(venue)["USD"] == (D("15850.00"), D("15850.00"), D("0"))


@pytest.mark.parametrize("model", [FillModel.NEXT_OPEN, FillModel.OHLC])
def test_next_open_a_market_buy_is_funded_at_the_open_it_trades_at(model: FillModel) -> None:
    """The latest close is no price for it (an order sized at the coming open would be
    refused after every gap down): it locks nothing as it comes, and is funded at the open
    before it trades, on the cash the bar's earlier fills left; one the account cannot pay
    is cancelled with the reason."""
    venue, reports = venue_with(model)
    market(venue, "fits", BUY, "2.5")  # 2.5 x 42050 > 100000, but the open gaps down
    market(venue, "too-big", BUY, "0.5")  # 19500 > the 2500 the first leaves
    assert outcome(reports, "fits") == [(ExecType.NEW, None)]
    assert balances(venue)["USD"] == (D("100000"), D("100000"), D("0"))  # nothing locked
    venue.process_bar(bar(1, "39000.00", "39500.00"))
    fill = [r for r in reports if isinstance(r, ExecutionReport) and r.client_order_id == "fits"]
    assert fill[-1].exec_type is ExecType.TRADE and fill[-1].last_price == D("39000.00")
    assert outcome(reports, "too-big")[-1] == (
        ExecType.CANCELLED,
        "insufficient USD: needs 19500.000, free 2500.000",
    )
    assert balances(venue)["USD"] == (D("2500.000"), D("2500.000"), D("0"))


def test_next_open_a_market_short_is_funded_at_the_open_for_its_margin() -> None:
    venue, reports = venue_with(FillModel.NEXT_OPEN, short_margin=D(1))
    market(venue, "short", SELL, "3")  # margin 3 x open > 100000
    venue.process_bar(bar(1, "42000.00", "42100.00"))
    assert outcome(reports, "short")[-1] == (
        ExecType.CANCELLED,
        "insufficient USD for the short margin: needs 126000.00, free 100000",
    )
    assert balances(venue)["USD"] == (D("100000"), D("100000"), D("0"))


def test_next_open_a_market_sell_of_what_the_account_holds_is_not_refused() -> None:
    venue, reports = venue_with(FillModel.NEXT_OPEN)
    market(venue, "buy", BUY, "2")
    venue.process_bar(bar(1, "42000.00", "42100.00"))
    market(venue, "sell", SELL, "2")  # its base is locked as it comes
    venue.process_bar(bar(2, "43000.00", "43100.00"))
    assert outcome(reports, "sell")[-1][0] is ExecType.TRADE
    assert balances(venue)["USD"][0] == D("102000.00")
