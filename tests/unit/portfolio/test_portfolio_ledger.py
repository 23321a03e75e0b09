"""Portfolio ledger scenarios: long, short, flips, partial closes, fees, FX and margin."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from omoitrade.core.errors import Conflict, NotFound, ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.model import (
    EventId,
    InstrumentType,
    OrderId,
    OrderSide,
    PortfolioId,
    PositionSide,
    Quote,
    StrategyId,
    TradeId,
    VenueTradeId,
)
from omoitrade.model.events import OrderFilled, PositionChanged, PositionClosed, PositionOpened
from omoitrade.model.instruments import Instrument
from omoitrade.model.positions import Position
from omoitrade.portfolio import MissingFxRate, PortfolioLedger, RealizedPnl
from omoitrade.testing.factories import make_instrument

AT = datetime(2024, 1, 2, 9, 30, tzinfo=UTC)
BTC = make_instrument()  # BTC/USD spot, fully funded
ES = make_instrument(  # a future with 10% margin
    symbol="ES", instrument_type=InstrumentType.FUTURES, base_currency="ES",
    metadata={"margin_rate": "0.1"},
)  # fmt: skip
SAP = make_instrument(symbol="SAP", base_currency="SAP", quote_currency="EUR", tick_size=D("0.01"))
_trades = iter(range(1, 10**9))


def fill(
    portfolio: PortfolioId,
    side: OrderSide,
    qty: str,
    price: str,
    commission: str = "0",
    instrument: Instrument = BTC,
    trade: str | None = None,
    at: datetime = AT,
) -> OrderFilled:
    return OrderFilled(
        event_id=EventId.new(),
        occurred_at=at,
        order_id=OrderId.new(),
        portfolio_id=portfolio,
        instrument_id=instrument.id,
        side=side,
        trade_id=TradeId.new(),
        exchange_trade_id=VenueTradeId(trade or f"T{next(_trades)}"),
        fill_quantity=D(qty),
        fill_price=D(price),
        commission=D(commission),
        filled_quantity=D(qty),
        average_fill_price=D(price),
    )


@pytest.fixture
def ledger() -> PortfolioLedger:
    return PortfolioLedger(ids=IdGenerator(lambda: 0, seed=1), fifo_lots=True)


@pytest.fixture
def pid(ledger: PortfolioLedger) -> PortfolioId:
    portfolio = PortfolioId.new()
    ledger.open_portfolio(portfolio, "USD", D("100000.00"))
    return portfolio


BUY, SELL = OrderSide.BUY, OrderSide.SELL


def test_a_new_portfolio_holds_only_its_cash(ledger: PortfolioLedger, pid: PortfolioId) -> None:
    snap = ledger.snapshot(pid)
    assert (snap.cash, snap.equity, snap.margin_used, snap.margin_available) == (
        D("100000.00"),
        D("100000.00"),
        0,
        D("100000.00"),
    )
    assert ledger.positions(pid) == []
    assert ledger.position(pid, BTC.id) is None


def test_a_long_position_opens_adds_and_marks(ledger: PortfolioLedger, pid: PortfolioId) -> None:
    [opened] = ledger.apply_fill(fill(pid, BUY, "1", "40000.00"), BTC)
    assert isinstance(opened, PositionOpened)
    assert (opened.side, opened.quantity, opened.average_entry_price) == (
        PositionSide.LONG,
        D("1"),
        D("40000.00"),
    )
    [changed] = ledger.apply_fill(fill(pid, BUY, "1", "42000.00"), BTC)
    assert type(changed) is PositionChanged and changed.position_id == opened.position_id
    assert changed.average_entry_price == D("41000")
    assert ledger.cash(pid) == D("18000.00")
    assert ledger.mark(BTC.id, D("43000.00"), AT) == 1
    position = ledger.position(pid, BTC.id)
    assert position is not None
    assert (position.unrealized_pnl, position.current_price) == (D("4000.00"), D("43000.00"))
    assert ledger.unrealized_pnl(pid) == D("4000.00")
    assert ledger.equity(pid) == D("104000.00")
    assert ledger.margin_used(pid) == 0
    assert ledger.margin_available(pid) == ledger.cash(pid)  # funded: only cash is free


def test_a_short_gains_when_the_price_falls(ledger: PortfolioLedger, pid: PortfolioId) -> None:
    [opened] = ledger.apply_fill(fill(pid, SELL, "2", "100.00"), BTC)
    assert (opened.side, opened.quantity) == (PositionSide.SHORT, D("2"))
    assert ledger.cash(pid) == D("100200.00")  # short-sale proceeds
    ledger.mark(BTC.id, D("90.00"), AT)
    assert ledger.unrealized_pnl(pid) == D("20.00")
    assert ledger.equity(pid) == D("100020.00")
    assert ledger.margin_available(pid) == D("100020.00") - D("180.00")  # proceeds tied up
    [closed] = ledger.apply_fill(fill(pid, BUY, "2", "95.00"), BTC)
    assert isinstance(closed, PositionClosed)
    assert (closed.side, closed.quantity, closed.realized_pnl) == (PositionSide.FLAT, 0, D("10"))
    assert ledger.realized_pnl(pid) == D("10.00")
    assert ledger.unrealized_pnl(pid) == 0
    assert ledger.equity(pid) == ledger.cash(pid) == D("100010.00")
    assert ledger.positions(pid) == []


def test_a_partial_close_realizes_by_average_cost(
    ledger: PortfolioLedger, pid: PortfolioId
) -> None:
    ledger.apply_fill(fill(pid, BUY, "1", "100.00"), BTC)
    ledger.apply_fill(fill(pid, BUY, "2", "103.00"), BTC)  # average 102
    [changed] = ledger.apply_fill(fill(pid, SELL, "1.5", "110.00"), BTC)
    assert type(changed) is PositionChanged
    assert changed.realized_pnl == D("12.00")  # 1.5 * (110 - 102)
    assert (changed.quantity, changed.average_entry_price) == (D("1.5"), D("102"))
    assert ledger.book(pid, BTC.id).cost_basis == D("153.00")
    fifo = ledger.fifo_report(pid, BTC.id)
    assert fifo.realized_pnl == D("13.50")  # 1 * 10 + 0.5 * 7, first in first out
    assert [(lot.quantity, lot.price) for lot in fifo.lots] == [(D("1.5"), D("103.00"))]


def test_an_uneven_share_of_the_basis_keeps_total_pnl_exact(
    ledger: PortfolioLedger, pid: PortfolioId
) -> None:
    ledger.apply_fill(fill(pid, BUY, "3", "100.00"), BTC)
    ledger.apply_fill(fill(pid, BUY, "3", "100.01"), BTC)  # average 100.005 on 6
    ledger.apply_fill(fill(pid, SELL, "1", "101.00"), BTC)  # removes 600.03 / 6 -> 100.01
    ledger.mark(BTC.id, D("99.00"), AT)
    pnl = ledger.realized_pnl(pid) + ledger.unrealized_pnl(pid)
    assert pnl == ledger.equity(pid) - D("100000.00")
    assert pnl == 101 + 5 * D("99") - D("600.03")


def test_a_sell_larger_than_the_long_flips_to_short(
    ledger: PortfolioLedger, pid: PortfolioId
) -> None:
    [opened] = ledger.apply_fill(fill(pid, BUY, "1", "100.00"), BTC)
    closed, reopened = ledger.apply_fill(fill(pid, SELL, "3", "110.00", "0.30"), BTC)
    assert isinstance(closed, PositionClosed) and isinstance(reopened, PositionOpened)
    assert closed.position_id == opened.position_id != reopened.position_id
    assert (closed.quantity, closed.realized_pnl) == (0, D("10.00"))
    assert (reopened.side, reopened.quantity, reopened.average_entry_price) == (
        PositionSide.SHORT,
        D("2"),
        D("110.00"),
    )
    assert reopened.realized_pnl == 0
    assert ledger.cash(pid) == D("100000.00") - 100 + 330 - D("0.30")
    assert ledger.unrealized_pnl(pid) == 0  # the short is marked at the fill price
    position = ledger.position(pid, BTC.id)
    assert position is not None and position.signed_quantity == D("-2")
    assert ledger.book(pid, BTC.id).commission == D("0.30")


def test_commissions_reduce_cash_and_are_kept_per_position(
    ledger: PortfolioLedger, pid: PortfolioId
) -> None:
    ledger.apply_fill(fill(pid, BUY, "1", "100.00", "0.50"), BTC)
    ledger.apply_fill(fill(pid, SELL, "1", "100.00", "0.25"), BTC)
    assert ledger.cash(pid) == D("99999.25")
    assert ledger.commission(pid) == D("0.75")
    assert ledger.realized_pnl(pid) == 0  # realized P&L is before fees
    book = ledger.book(pid, BTC.id)
    assert (book.commission, book.total_commission) == (D("0.75"), D("0.75"))
    ledger.apply_fill(fill(pid, BUY, "1", "100.00", "0.10"), BTC)
    assert (book.commission, book.total_commission) == (D("0.10"), D("0.85"))


def test_a_duplicate_fill_changes_nothing(ledger: PortfolioLedger, pid: PortfolioId) -> None:
    first = fill(pid, BUY, "1", "100.00", "0.10", trade="SIM-T7")
    assert ledger.apply_fill(first, BTC)
    before = (ledger.snapshot(pid), ledger.position(pid, BTC.id), len(ledger.pnl_records(pid)))
    again = fill(pid, BUY, "1", "100.00", "0.10", trade="SIM-T7")  # redelivered, new event id
    assert ledger.apply_fill(again, BTC) == []
    assert ledger.apply_fill(first, BTC) == []
    after = (ledger.snapshot(pid), ledger.position(pid, BTC.id), len(ledger.pnl_records(pid)))
    assert before[0] == after[0] and before[2] == after[2] == 1
    assert before[1] is not None and after[1] is not None
    assert before[1].quantity == after[1].quantity == 1
    # the same venue trade id in another instrument is another trade
    assert ledger.apply_fill(fill(pid, BUY, "1", "10.00", instrument=ES, trade="SIM-T7"), ES)


def test_marks_revalue_only_the_marked_instrument(
    ledger: PortfolioLedger, pid: PortfolioId
) -> None:
    ledger.apply_fill(fill(pid, BUY, "1", "100.00"), BTC)
    ledger.apply_fill(fill(pid, BUY, "1", "50.00", instrument=ES), ES)
    assert ledger.mark(ES.id, D("55.00"), AT) == 1
    btc = ledger.position(pid, BTC.id)
    es = ledger.position(pid, ES.id)
    assert btc is not None and es is not None
    assert (btc.current_price, es.current_price) == (D("100.00"), D("55.00"))
    quote = Quote(BTC.id, AT, D("101.00"), D("102.00"), D("1"), D("1"))
    assert ledger.mark_quote(quote) == 1
    btc = ledger.position(pid, BTC.id)
    assert btc is not None and btc.current_price == D("101.50")
    assert ledger.unrealized_pnl(pid) == D("1.50") + D("5.00")
    assert ledger.mark(SAP.id, D("1"), AT) == 0  # nobody holds it


def test_a_fill_revalues_at_the_latest_mark(ledger: PortfolioLedger, pid: PortfolioId) -> None:
    ledger.mark(BTC.id, D("105.00"), AT)
    ledger.apply_fill(fill(pid, BUY, "1", "100.00"), BTC)
    assert ledger.unrealized_pnl(pid) == D("5.00")


def test_positions_of_many_portfolios_are_kept_apart(ledger: PortfolioLedger) -> None:
    a, b = PortfolioId.new(), PortfolioId.new()
    ledger.open_portfolio(a, "USD", D("1000"))
    ledger.open_portfolio(b, "USD", D("1000"))
    ledger.apply_fill(fill(a, BUY, "1", "100.00", trade="X"), BTC)
    ledger.apply_fill(fill(b, SELL, "2", "100.00", trade="X"), BTC)
    ledger.mark(BTC.id, D("110.00"), AT)
    assert (ledger.unrealized_pnl(a), ledger.unrealized_pnl(b)) == (D("10.00"), D("-20.00"))
    assert [p.side for p in ledger.positions(b)] == [PositionSide.SHORT]


def test_margin_is_used_by_leveraged_instruments_only(
    ledger: PortfolioLedger, pid: PortfolioId
) -> None:
    ledger.apply_fill(fill(pid, BUY, "10", "5000.00", "2.00", instrument=ES), ES)
    assert ledger.cash(pid) == D("99998.00")  # no notional moves, only the fee
    assert ledger.margin_used(pid) == D("5000.00")  # 10 * 5000 * 0.1
    ledger.mark(ES.id, D("4900.00"), AT)
    assert ledger.margin_used(pid) == D("4900.00")
    assert ledger.equity(pid) == D("99998.00") - 1000
    assert ledger.margin_available(pid) == D("98998.00") - D("4900.00")
    position = ledger.position(pid, ES.id)
    assert position is not None and position.margin_used == D("4900.00")
    ledger.apply_fill(fill(pid, SELL, "4", "4950.00", instrument=ES), ES)
    assert ledger.cash(pid) == D("99998.00") - 200  # realized loss 4 * -50 settles to cash
    assert ledger.margin_used(pid) == D("2940.00")  # 6 * 4900 * 0.1
    ledger.apply_fill(fill(pid, SELL, "6", "4950.00", instrument=ES), ES)
    assert ledger.margin_used(pid) == 0
    assert ledger.equity(pid) == ledger.cash(pid) == D("99998.00") - 500


def test_a_bad_margin_rate_is_refused(ledger: PortfolioLedger, pid: PortfolioId) -> None:
    bad = make_instrument(symbol="BAD", metadata={"margin_rate": "1.5"})
    with pytest.raises(ValidationError, match="margin_rate"):
        ledger.apply_fill(fill(pid, BUY, "1", "1.00", instrument=bad), bad)
    floaty = make_instrument(symbol="FL", metadata={"margin_rate": 0.05})
    ledger.apply_fill(fill(pid, BUY, "2", "100.00", instrument=floaty), floaty)
    assert ledger.margin_used(pid) == D("10.00")


def test_equity_converts_other_currencies_at_the_latest_rate(
    ledger: PortfolioLedger, pid: PortfolioId
) -> None:
    ledger.deposit(pid, "EUR", D("1000.00"))
    ledger.apply_fill(fill(pid, BUY, "10", "50.00", "1.00", instrument=SAP), SAP)
    assert ledger.cash_balances(pid) == {"USD": D("100000.00"), "EUR": D("499.00")}
    with pytest.raises(MissingFxRate) as missing:
        ledger.equity(pid)
    assert (missing.value.from_currency, missing.value.to_currency) == ("EUR", "USD")
    assert missing.value.code == "missing-fx-rate"
    ledger.set_rate("EUR", "USD", D("1.10"))
    ledger.mark(SAP.id, D("52.00"), AT)
    assert ledger.equity(pid) == D("100000.00") + D("1019.00") * D("1.10")
    assert ledger.unrealized_pnl(pid) == D("22.000")
    ledger.set_rate("USD", "EUR", D("0.8"))  # the newest rate wins, in either direction
    assert ledger.equity(pid) == D("100000.00") + D("1019.00") / D("0.8")


def test_the_rate_table_never_guesses() -> None:
    ledger = PortfolioLedger()
    ledger.set_rate("EUR", "USD", D("1.1"))
    ledger.set_rate("USD", "JPY", D("150"))
    assert ledger.convert(D("2"), "EUR", "USD") == D("2.2")
    assert ledger.convert(D("300"), "JPY", "USD") == D("2")
    with pytest.raises(MissingFxRate):
        ledger.convert(D("1"), "EUR", "JPY")  # no triangulation
    with pytest.raises(ValidationError):
        ledger.set_rate("EUR", "USD", D("0"))


def test_deposits_and_withdrawals(ledger: PortfolioLedger, pid: PortfolioId) -> None:
    assert ledger.deposit(pid, "USD", D("50")) == D("100050.00")
    assert ledger.withdraw(pid, "USD", D("100050.00")) == 0
    with pytest.raises(Conflict):
        ledger.withdraw(pid, "USD", D("0.01"))
    with pytest.raises(ValidationError):
        ledger.deposit(pid, "USD", D("-1"))


def test_bad_requests_are_refused(ledger: PortfolioLedger, pid: PortfolioId) -> None:
    with pytest.raises(Conflict):
        ledger.open_portfolio(pid, "USD")
    with pytest.raises(NotFound):
        ledger.equity(PortfolioId.new())
    with pytest.raises(NotFound):
        ledger.apply_fill(fill(PortfolioId.new(), BUY, "1", "1.00"), BTC)
    with pytest.raises(ValidationError):
        ledger.apply_fill(fill(pid, BUY, "1", "1.00"), ES)  # not the fill's instrument
    with pytest.raises(ValidationError):
        ledger.mark(BTC.id, D("-1"), AT)
    with pytest.raises(NotFound):
        ledger.book(pid, BTC.id)
    with pytest.raises(ValidationError):
        ledger.apply_fill(fill(pid, BUY, "0", "1.00"), BTC)


def test_fifo_lots_are_kept_only_on_request(pid: PortfolioId) -> None:
    ledger = PortfolioLedger()
    ledger.open_portfolio(pid, "USD")
    ledger.apply_fill(fill(pid, BUY, "1", "1.00"), BTC)
    with pytest.raises(Conflict, match="fifo_lots"):
        ledger.fifo_report(pid, BTC.id)


def test_realized_pnl_is_recorded_per_fill_with_its_strategy(
    ledger: PortfolioLedger, pid: PortfolioId
) -> None:
    strategy = StrategyId.new()
    ledger.apply_fill(fill(pid, BUY, "1", "100.00", "0.10"), BTC, strategy)
    later = AT + timedelta(days=1)
    ledger.apply_fill(fill(pid, SELL, "1", "104.00", "0.10", at=later), BTC, strategy)
    first, second = ledger.pnl_records(pid)
    assert (first.strategy_id, first.realized_pnl, first.commission) == (strategy, 0, D("0.10"))
    assert (second.realized_pnl, second.net_pnl, second.occurred_at) == (
        D("4.00"),
        D("3.90"),
        later,
    )
    assert second.currency == "USD"


def test_ids_are_reproducible_with_a_seeded_generator(pid: PortfolioId) -> None:
    def run() -> list[str]:
        ledger = PortfolioLedger(ids=IdGenerator(lambda: 0, seed=9))
        ledger.open_portfolio(pid, "USD")
        events = ledger.apply_fill(fill(pid, BUY, "1", "1.00", trade="A"), BTC)
        return [str(e.event_id) for e in events] + [str(e.position_id) for e in events]

    assert run() == run()


# --- the fast paths build exactly what the checked constructors build --------------------------


def _checked(event: PositionChanged) -> PositionChanged:
    """The same event made by its own constructor, with every normalization and check."""
    return type(event)(**{f.name: getattr(event, f.name) for f in fields(event)})


@pytest.mark.parametrize("instrument", [BTC, ES, SAP])
def test_position_events_equal_the_checked_constructors(
    ledger: PortfolioLedger, pid: PortfolioId, instrument: Instrument
) -> None:
    made = []
    for side, qty, price in [(BUY, "1", "100.00"), (BUY, "2", "103.00"), (SELL, "1.5", "110.00"),
                             (SELL, "3", "108.00"), (BUY, "1.5", "99.50")]:  # fmt: skip
        made += ledger.apply_fill(fill(pid, side, qty, price, "0.10", instrument), instrument)
    assert [type(e) for e in made] == [
        PositionOpened, PositionChanged, PositionChanged,
        PositionClosed, PositionOpened, PositionClosed,
    ]  # fmt: skip
    for event in made:
        assert event == _checked(event)
        assert [type(getattr(event, f.name)) for f in fields(event)] == [
            type(getattr(_checked(event), f.name)) for f in fields(event)
        ]


def test_a_new_position_equals_the_checked_constructors(
    ledger: PortfolioLedger, pid: PortfolioId
) -> None:
    ledger.apply_fill(fill(pid, BUY, "1", "100.00"), BTC)
    made = ledger.book(pid, BTC.id).position
    assert made is not None
    checked = Position(**{f.name: getattr(made, f.name) for f in fields(made)})
    assert {f.name: getattr(made, f.name) for f in fields(made)} == {
        f.name: getattr(checked, f.name) for f in fields(checked)
    }


def test_an_event_the_checks_refuse_is_still_refused(
    ledger: PortfolioLedger, pid: PortfolioId
) -> None:
    ledger.apply_fill(fill(pid, BUY, "1E-30", "1E-20"), BTC)
    with pytest.raises(ValidationError, match="realized_pnl"):  # 1E-50: below the bound
        ledger.apply_fill(fill(pid, SELL, "1E-30", "2E-20"), BTC)


def test_every_fill_draws_one_position_id_from_a_seeded_generator(pid: PortfolioId) -> None:
    ledger = PortfolioLedger(ids=IdGenerator(lambda: 0, seed=9))
    ledger.open_portfolio(pid, "USD", D("1000.00"))
    same = IdGenerator(lambda: 0, seed=9)
    [opened] = ledger.apply_fill(fill(pid, BUY, "1", "1.00"), BTC)
    assert (opened.position_id.int, opened.event_id.int) == (same.next_int(), same.next_int())
    [changed] = ledger.apply_fill(fill(pid, BUY, "1", "1.00"), BTC)  # opens nothing
    same.next_int()  # the position id it draws all the same
    assert changed.event_id.int == same.next_int()
    closed, flipped = ledger.apply_fill(fill(pid, SELL, "3", "1.00"), BTC)
    assert flipped.position_id.int == same.next_int()
    assert (closed.event_id.int, flipped.event_id.int) == (same.next_int(), same.next_int())


def test_realized_pnl_records_are_kept_in_order_between_reads(
    ledger: PortfolioLedger, pid: PortfolioId
) -> None:
    ledger.apply_fill(fill(pid, BUY, "2", "100.00", "0.10"), BTC)
    [first] = ledger.pnl_records(pid)
    ledger.apply_fill(fill(pid, SELL, "1", "101.00", "0.20"), BTC)
    ledger.apply_fill(fill(pid, SELL, "1", "99.00", "0.30"), BTC)
    records = ledger.pnl_records(pid)
    assert records[0] is first
    assert [(r.realized_pnl, r.commission) for r in records] == [
        (0, D("0.10")),
        (D("1.00"), D("0.20")),
        (D("-1.00"), D("0.30")),
    ]
    assert all(type(r) is RealizedPnl and r.portfolio_id == pid for r in records)


def test_marks_check_their_price_and_time(ledger: PortfolioLedger, pid: PortfolioId) -> None:
    ledger.apply_fill(fill(pid, BUY, "1", "100.00"), BTC)
    for price, at in [(D("NaN"), AT), (D("0"), AT), (D("1E+50"), AT), (1.5, AT),
                      (D("101"), AT.replace(tzinfo=None)), (D("101"), None)]:  # fmt: skip
        with pytest.raises(ValidationError):
            ledger.mark(BTC.id, price, at)  # type: ignore[arg-type]
    assert ledger.mark(BTC.id, 101, AT) == 1  # type: ignore[arg-type]  # an int converts
    assert ledger.last_mark(BTC.id) == D("101")
