"""An amend that would make a working order lock more than the account holds for it and
has free is refused by the simulated exchange, with the reason, and changes nothing."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from test_sim_cover_reservation import bar, usd
from test_sim_short_selling import BTC, BUY, ME, SELL, START, submit

from omoitrade.core.clock import SimulatedClock
from omoitrade.model import ClientOrderId, ExecType, OrderStatus, OrderType
from omoitrade.model.venue import AmendOrder, CommandRejected, ExecutionReport, VenueReport
from omoitrade.venues.sim.exchange import ExchangeMode, SimExchangeConfig, SimulatedExchange


def spot_venue(mode: ExchangeMode) -> tuple[SimulatedExchange, list[VenueReport]]:
    clock = SimulatedClock(int(START.timestamp()) * 1_000_000_000)
    venue = SimulatedExchange(clock, [BTC], SimExchangeConfig(mode=mode, enforce_balances=True))
    venue.open_account(ME, {"USD": D("100000"), "BTC": D("1")})
    reports: list[VenueReport] = []
    venue.on_report(reports.append)
    if mode is ExchangeMode.BARS:
        venue.process_bar(bar(0, "45000.00"))
    return venue, reports


def amend(venue: SimulatedExchange, cid: str, **change: object) -> None:
    venue.amend(AmendOrder(ME, ClientOrderId(cid), BTC.id, **change))  # type: ignore[arg-type]


def refusals(reports: list[VenueReport]) -> list[tuple[str, OrderStatus | None]]:
    return [(r.reason, r.order_status) for r in reports if isinstance(r, CommandRejected)]


@pytest.mark.parametrize("mode", [ExchangeMode.BOOK, ExchangeMode.BARS])
def test_an_amend_beyond_the_free_cash_is_refused_and_changes_nothing(mode: ExchangeMode) -> None:
    venue, reports = spot_venue(mode)
    submit(venue, "bid", BUY, "1", "40000.00")
    assert usd(venue)[1:] == (D("60000"), D("40000"))
    amend(venue, "bid", quantity=D("3"))  # 120000: its 40000 and the 60000 free are not enough
    assert refusals(reports) == [
        ("insufficient USD: needs 120000.00, free 100000.00", OrderStatus.SUBMITTED)
    ]
    assert usd(venue)[1:] == (D("60000"), D("40000"))
    amend(venue, "bid", quantity=D("2"))
    assert usd(venue)[1:] == (D("20000"), D("80000"))
    amend(venue, "bid", price=D("51000.00"))  # 2 at 51000: 102000
    assert refusals(reports)[-1][0] == "insufficient USD: needs 102000.00, free 100000.00"
    amend(venue, "bid", price=D("44000.00"))
    assert usd(venue)[1:] == (D("12000"), D("88000"))
    replaced = [
        r for r in reports if isinstance(r, ExecutionReport) and r.exec_type is ExecType.REPLACED
    ]
    assert len(replaced) == 2 and len(refusals(reports)) == 2


def test_a_sell_amended_beyond_the_base_held_is_refused() -> None:
    venue, reports = spot_venue(ExchangeMode.BOOK)
    submit(venue, "ask", SELL, "0.5", "50000.00")
    amend(venue, "ask", quantity=D("1.5"))
    assert refusals(reports) == [("insufficient BTC: needs 1.5, free 1.0", OrderStatus.SUBMITTED)]
    amend(venue, "ask", quantity=D("1"))
    assert refusals(reports) == [("insufficient BTC: needs 1.5, free 1.0", OrderStatus.SUBMITTED)]


def test_an_oco_member_amended_counts_the_group_once() -> None:
    venue, reports = spot_venue(ExchangeMode.BOOK)
    submit(venue, "low", BUY, "2", "30000.00", oco_group="g")  # 60000
    submit(venue, "high", BUY, "1", "45000.00", oco_group="g")  # 45000: the group holds 60000
    assert usd(venue)[1:] == (D("40000"), D("60000"))
    amend(venue, "high", quantity=D("2"))  # 90000: the group would hold 90000, 30000 more
    assert usd(venue)[1:] == (D("10000"), D("90000"))
    amend(venue, "low", quantity=D("3.5"))  # 105000 > 90000 held + 10000 free
    assert refusals(reports) == [
        ("insufficient USD: needs 105000.000, free 100000.00", OrderStatus.SUBMITTED)
    ]
    assert usd(venue)[1:] == (D("10000"), D("90000"))


def test_a_stop_amended_is_funded_at_its_new_stop_price() -> None:
    venue, reports = spot_venue(ExchangeMode.BARS)
    submit(venue, "stop", BUY, "2", "46000.00", kind=OrderType.STOP)
    assert usd(venue)[1:] == (D("8000"), D("92000"))
    amend(venue, "stop", stop_price=D("51000.00"))
    assert refusals(reports) == [
        ("insufficient USD: needs 102000.00, free 100000.00", OrderStatus.SUBMITTED)
    ]
