"""Account ledger of the simulated exchange: cash, commission, locks and net positions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from omoitrade.model import (
    AccountId,
    ClientOrderId,
    ExecType,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    VenueOrderId,
    VenueTradeId,
)
from omoitrade.model.venue import Balance, ExecutionReport, VenuePosition
from omoitrade.testing.factories import make_instrument
from omoitrade.venues.sim.accounts import SimAccount

BTC = make_instrument()
AT = datetime(2024, 1, 2, tzinfo=UTC)


def fill(side: OrderSide, qty: str, price: str, commission: str = "0") -> ExecutionReport:
    return ExecutionReport(
        report_id=1,
        exec_type=ExecType.TRADE,
        timestamp=AT,
        account_id=AccountId("a"),
        instrument_id=BTC.id,
        client_order_id=ClientOrderId("c"),
        venue_order_id=VenueOrderId("SIM-1"),
        side=side,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.GTC,
        order_status=OrderStatus.FILLED,
        quantity=D(qty),
        filled_quantity=D(qty),
        leaves_quantity=D(0),
        last_quantity=D(qty),
        last_price=D(price),
        trade_id=VenueTradeId("SIM-T1"),
        commission=D(commission),
        commission_currency="USD",
    )


def test_a_buy_moves_cash_commission_and_opens_a_position() -> None:
    account = SimAccount(AccountId("a"))
    account.deposit("USD", D("100000"))
    account.apply_fill(fill(OrderSide.BUY, "0.5", "42000.00", "21.00"), BTC)
    assert account.balances() == [
        Balance("BTC", D("0.5"), D("0.5"), D("0")),
        Balance("USD", D("78979.00"), D("78979.00"), D("0")),
    ]
    assert account.positions() == [VenuePosition(BTC.id, D("0.5"), D("42000.00"))]


def test_average_price_is_volume_weighted_and_resets_on_flip() -> None:
    account = SimAccount(AccountId("a"))
    account.apply_fill(fill(OrderSide.BUY, "1", "100.00"), BTC)
    account.apply_fill(fill(OrderSide.BUY, "3", "200.00"), BTC)
    assert account.positions() == [VenuePosition(BTC.id, D("4"), D("175"))]
    account.apply_fill(fill(OrderSide.SELL, "1", "300.00"), BTC)  # reducing keeps the average
    assert account.positions() == [VenuePosition(BTC.id, D("3"), D("175"))]
    account.apply_fill(fill(OrderSide.SELL, "5", "250.00"), BTC)  # flips short at the fill price
    assert account.positions() == [VenuePosition(BTC.id, D("-2"), D("250.00"))]
    account.apply_fill(fill(OrderSide.BUY, "2", "240.00"), BTC)
    assert account.positions() == []


def test_locked_funds_reduce_free_but_not_total() -> None:
    account = SimAccount(AccountId("a"))
    account.deposit("USD", D("1000"))
    account.lock("USD", D("400"))
    assert account.free("USD") == D("600")
    account.unlock("USD", D("500"))  # never below zero
    assert account.balances() == [Balance("USD", D("1000"), D("1000"), D("0"))]


def test_relock_is_an_unlock_then_a_lock() -> None:
    moved, stepwise = SimAccount(AccountId("a")), SimAccount(AccountId("b"))
    for account in (moved, stepwise):
        account.deposit("USD", D("1000"))
        account.lock("USD", D("400.00"))
    moved.relock(("USD", D("500")), ("USD", D("150.0")))  # released past zero, then held
    stepwise.unlock("USD", D("500"))
    stepwise.lock("USD", D("150.0"))
    assert repr(moved.balances()) == repr(stepwise.balances())
    moved.relock(None, ("BTC", D("1")))
    moved.relock(("USD", D("150.0")), None)
    assert moved.balances() == [
        Balance("BTC", D("0"), D("-1"), D("1")),
        Balance("USD", D("1000"), D("1000"), D("0")),
    ]


def test_a_sell_books_the_mirror_of_a_buy_to_the_last_digit() -> None:
    account = SimAccount(AccountId("a"))
    account.deposit("USD", D("1E+3"))
    account.apply_fill(fill(OrderSide.SELL, "0.0300", "42000.00", commission="0.000"), BTC)
    account.apply_fill(fill(OrderSide.BUY, "0.0100", "41000.50"), BTC)
    cash = {b.currency: b.total for b in account.balances()}
    # exactly sign * price * quantity and sign * quantity, exponents included
    assert repr(cash) == repr(
        {
            "BTC": D(0) + D(-1) * D("0.0300") + D(1) * D("0.0100"),
            "USD": D("1E+3")
            - D(-1) * D("42000.00") * D("0.0300")
            - D("0.000")
            - D(1) * D("41000.50") * D("0.0100")
            - D(0),
        }
    )
    assert account.positions() == [VenuePosition(BTC.id, D("-0.0200"), D("42000.00"))]
