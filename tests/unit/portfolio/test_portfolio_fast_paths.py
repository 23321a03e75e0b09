"""The ledger's shortcuts give exactly what the general code gives.

``equity`` and ``margin_available`` skip the per-currency loop while the base
currency is a portfolio's only balance; fills and marks switch the decimal context
without ``localcontext``. Each is compared with the general code after every kind
of change: fills (open, add, reduce, flip, close), marks, deposits, withdrawals,
other currencies and FX rates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Context, Decimal, InvalidOperation, getcontext, localcontext

import pytest

from omoitrade.core.errors import NotFound, ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.model import (
    EventId,
    InstrumentType,
    OrderId,
    OrderSide,
    PortfolioId,
    TradeId,
    VenueTradeId,
)
from omoitrade.model.events import OrderFilled
from omoitrade.model.instruments import Instrument
from omoitrade.portfolio import PortfolioLedger
from omoitrade.testing.factories import make_instrument

AT = datetime(2024, 1, 2, 9, 30, tzinfo=UTC)
BTC = make_instrument()  # fully funded
ES = make_instrument(
    symbol="ES", instrument_type=InstrumentType.FUTURES, base_currency="ES",
    metadata={"margin_rate": "0.1"},
)  # fmt: skip
SAP = make_instrument(
    symbol="SAP", base_currency="SAP", quote_currency="EUR", tick_size=Decimal("0.01")
)
BUY, SELL = OrderSide.BUY, OrderSide.SELL
_trades = iter(range(1, 10**9))


def fill(
    pid: PortfolioId, side: OrderSide, qty: str, price: str, instrument: Instrument
) -> OrderFilled:
    return OrderFilled(
        event_id=EventId.new(),
        occurred_at=AT,
        order_id=OrderId.new(),
        portfolio_id=pid,
        instrument_id=instrument.id,
        side=side,
        trade_id=TradeId.new(),
        exchange_trade_id=VenueTradeId(f"F{next(_trades)}"),
        fill_quantity=Decimal(qty),
        fill_price=Decimal(price),
        commission=Decimal("0.37"),
        filled_quantity=Decimal(qty),
        average_fill_price=Decimal(price),
    )


def general(ledger: PortfolioLedger, pid: PortfolioId) -> tuple[Decimal, Decimal]:
    """Equity and margin available by the per-currency loop (the code before the shortcut)."""
    account = ledger._accounts[pid]
    equity = ledger._total(account, "equity")
    used = ledger._total(account, "margin_used")
    funded = ledger._total(account, "funded_value")
    return equity, equity - used - funded


def assert_same(ledger: PortfolioLedger, pid: PortfolioId) -> None:
    equity, available = general(ledger, pid)
    for got, want in ((ledger.equity(pid), equity), (ledger.margin_available(pid), available)):
        assert got == want
        assert str(got) == str(want)  # the same Decimal, exponent included
    snapshot = ledger.snapshot(pid)
    assert (snapshot.equity, snapshot.margin_available) == (equity, available)


Step = Callable[[PortfolioLedger, PortfolioId], object]
STEPS: list[tuple[str, Step]] = [
    ("open long", lambda led, p: led.apply_fill(fill(p, BUY, "0.5", "42000.10", BTC), BTC)),
    ("mark", lambda led, p: led.mark(BTC.id, Decimal("42100.25"), AT)),
    ("add", lambda led, p: led.apply_fill(fill(p, BUY, "0.25", "41990", BTC), BTC)),
    ("mark quote side", lambda led, p: led.mark(BTC.id, Decimal("4.2E+4"), AT)),
    ("reduce unevenly", lambda led, p: led.apply_fill(fill(p, SELL, "0.3", "42011.11", BTC), BTC)),
    ("deposit", lambda led, p: led.deposit(p, "USD", Decimal("1E+3"))),
    ("withdraw", lambda led, p: led.withdraw(p, "USD", Decimal("123.456"))),
    ("flip", lambda led, p: led.apply_fill(fill(p, SELL, "1.7", "41800.5", BTC), BTC)),
    ("leveraged open", lambda led, p: led.apply_fill(fill(p, SELL, "3", "5000.25", ES), ES)),
    ("leveraged mark", lambda led, p: led.mark(ES.id, Decimal("5010.75"), AT)),
    ("close", lambda led, p: led.apply_fill(fill(p, BUY, "1.25", "41700", BTC), BTC)),
    ("leveraged close", lambda led, p: led.apply_fill(fill(p, BUY, "3", "4990", ES), ES)),
    ("FX rate", lambda led, p: led.set_rate("EUR", "USD", Decimal("1.0825"))),
    ("other currency", lambda led, p: led.deposit(p, "EUR", Decimal("500.00"))),
    ("foreign fill", lambda led, p: led.apply_fill(fill(p, BUY, "3", "50.05", SAP), SAP)),
    ("foreign mark", lambda led, p: led.mark(SAP.id, Decimal("51.15"), AT)),
    ("inverse FX rate", lambda led, p: led.set_rate("USD", "EUR", Decimal("0.93"))),
    ("fill after FX", lambda led, p: led.apply_fill(fill(p, BUY, "0.1", "41000", BTC), BTC)),
]


@pytest.mark.parametrize("cash", ["100000.00", "1E+12", "0"])
def test_equity_and_margin_available_equal_the_general_code_after_every_change(cash: str) -> None:
    ledger = PortfolioLedger(ids=IdGenerator(lambda: 0, seed=3))
    pid = PortfolioId.new()
    ledger.open_portfolio(pid, "USD", Decimal(cash))
    if cash == "0":
        ledger.deposit(pid, "USD", Decimal("2E+5"))
    assert_same(ledger, pid)
    for _name, step in STEPS:
        step(ledger, pid)
        assert_same(ledger, pid)


def test_the_shortcut_is_taken_only_while_the_base_currency_is_the_only_balance() -> None:
    ledger = PortfolioLedger()
    pid = PortfolioId.new()
    ledger.open_portfolio(pid, "USD", Decimal("10"))
    account = ledger._accounts[pid]
    assert account.sole_balance is account.balances["USD"]
    ledger.deposit(pid, "EUR", Decimal("1"))
    assert account.sole_balance is None


def test_a_portfolio_whose_base_balance_is_not_its_first_takes_the_general_path() -> None:
    ledger = PortfolioLedger()
    pid = PortfolioId.new()
    ledger.open_portfolio(pid, "USD")
    account = ledger._accounts[pid]
    account.balances.clear()  # as if made another way: the first balance is not the base
    account.sole_balance = None
    account.balance("EUR").cash = Decimal("5")
    assert account.sole_balance is None
    ledger.set_rate("EUR", "USD", Decimal("2"))
    assert ledger.equity(pid) == Decimal("10")


def test_unknown_portfolios_are_still_not_found() -> None:
    ledger = PortfolioLedger()
    with pytest.raises(NotFound):
        ledger.equity(PortfolioId.new())
    with pytest.raises(NotFound):
        ledger.margin_available(PortfolioId.new())


def test_margin_available_subtracts_in_the_callers_context_as_before() -> None:
    ledger = PortfolioLedger()
    pid = PortfolioId.new()
    ledger.open_portfolio(pid, "USD", Decimal("123456789.123456789"))
    ledger.apply_fill(fill(pid, BUY, "1.5", "1000.123", BTC), BTC)
    with localcontext(Context(prec=6)):
        want = general(ledger, pid)[1]
        got = ledger.margin_available(pid)
    assert str(got) == str(want)


def test_fills_and_marks_compute_exactly_and_restore_the_callers_context() -> None:
    ledger = PortfolioLedger()
    pid = PortfolioId.new()
    ledger.open_portfolio(pid, "USD", Decimal("1E+12"))
    with localcontext(Context(prec=3)) as mine:
        ledger.apply_fill(fill(pid, BUY, "0.123456789", "42000.123456", BTC), BTC)
        assert getcontext() is mine
        ledger.mark(BTC.id, Decimal("42001.987654"), AT)
        assert getcontext() is mine
        with pytest.raises(ValidationError):  # refused before the switch
            ledger.mark(BTC.id, Decimal("-1"), AT)
        assert getcontext() is mine
    book = ledger.book(pid, BTC.id)
    assert book.cost_basis == Decimal("0.123456789") * Decimal("42000.123456")
    assert ledger.unrealized_pnl(pid) == Decimal("0.123456789") * (
        Decimal("42001.987654") - Decimal("42000.123456")
    )


def test_the_callers_context_is_restored_when_a_fill_fails() -> None:
    # The book's own arithmetic fails under the ledger's context (a signalling NaN traps
    # InvalidOperation), not a patched method: the book may be compiled (see
    # docs/performance.md), and a compiled class's methods cannot be replaced.
    ledger = PortfolioLedger()
    pid = PortfolioId.new()
    ledger.open_portfolio(pid, "USD", Decimal("1000"))
    ledger.apply_fill(fill(pid, BUY, "1", "10", BTC), BTC)
    book = ledger.book(pid, BTC.id)
    assert book.position is not None
    book.position.unrealized_pnl = Decimal("sNaN")  # events refuse one; the book holds it
    before = getcontext()
    with pytest.raises(InvalidOperation):  # raised in the book's fill
        ledger.apply_fill(fill(pid, BUY, "1", "10", BTC), BTC)
    assert getcontext() is before
    with pytest.raises(InvalidOperation):  # raised in the book's revalue
        ledger.mark(BTC.id, Decimal("11"), AT)
    assert getcontext() is before


def test_portfolios_asked_for_in_turn_and_by_equal_ids_get_their_own_figures() -> None:
    ledger = PortfolioLedger()
    first, second = PortfolioId.new(), PortfolioId.new()
    ledger.open_portfolio(first, "USD", Decimal("100"))
    ledger.open_portfolio(second, "USD", Decimal("250"))
    ledger.apply_fill(fill(second, BUY, "1", "50", BTC), BTC)
    ledger.mark(BTC.id, Decimal("60"), AT)
    for _ in range(2):
        assert ledger.equity(first) == Decimal("100")
        # 250 - 50 - 0.37 in cash, and the position worth 60 (funded: not available)
        assert ledger.margin_available(second) == Decimal("199.63")
        assert ledger.equity(PortfolioId(str(second))) == Decimal("259.63")  # equal, not same
        assert ledger.margin_available(PortfolioId(int=first.int)) == Decimal("100")
        assert ledger.cash(second) == Decimal("199.63")
    with pytest.raises(NotFound):
        ledger.apply_fill(fill(PortfolioId.new(), BUY, "1", "50", BTC), BTC)
    assert ledger.equity(second) == Decimal("259.63")


def test_marks_and_open_books_are_kept_per_instrument() -> None:
    ledger = PortfolioLedger()
    pid = PortfolioId.new()
    ledger.open_portfolio(pid, "USD", Decimal("1000"))
    assert ledger.last_mark(BTC.id) is None
    assert list(ledger.open_books(BTC.id)) == []
    ledger.apply_fill(fill(pid, BUY, "1", "50", BTC), BTC)  # opens before any mark
    assert ledger.last_mark(BTC.id) is None
    assert [b.portfolio_id for b in ledger.open_books(BTC.id)] == [pid]
    assert ledger.mark(ES.id, Decimal("10"), AT) == 0  # a mark with nothing open is kept
    assert ledger.last_mark(ES.id) == Decimal("10")
    assert ledger.mark(BTC.id, Decimal("55"), AT) == 1
    assert ledger.last_mark(BTC.id) == Decimal("55")
    ledger.apply_fill(fill(pid, SELL, "1", "56", BTC), BTC)  # closes: revalued at the mark
    assert list(ledger.open_books(BTC.id)) == []
    assert ledger.mark(BTC.id, Decimal("57"), AT) == 0
    assert ledger.realized_pnl(pid) == Decimal("6")
