"""Checks fail closed: what cannot be evaluated rejects the order with a reason."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omoitrade.model import LimitType, OrderType
from omoitrade.risk import ReasonCode

D = Decimal


def codes(world, order) -> tuple[ReasonCode, ...]:
    return world.engine.check_order(order).codes


# --- fail closed --------------------------------------------------------------------------------
def test_unknown_portfolio_is_rejected(world) -> None:
    from omoitrade.model import PortfolioId
    from omoitrade.testing.factories import make_order

    order = make_order(PortfolioId.new(), world.btc, price=D("100.00"))

    assert codes(world, order) == (ReasonCode.UNKNOWN_ACCOUNT,)


def test_portfolio_without_loaded_limits_is_rejected(world) -> None:
    from omoitrade.model import PortfolioId
    from omoitrade.testing.factories import make_order

    other = PortfolioId.new()
    world.view.add_portfolio(other, balance=D("1000000"), equity=D("1000"))

    assert codes(world, make_order(other, world.btc, price=D("100.00"))) == (
        ReasonCode.MISSING_LIMIT_DATA,
    )
    world.engine.set_limits(other, [])
    assert world.engine.check_order(make_order(other, world.btc, price=D("100.00"))).approved


def test_limit_order_without_a_reference_price_is_rejected(world) -> None:
    sol = world.btc.__class__.create(
        "SIM",
        "SOL/USD",
        instrument_type=world.btc.instrument_type,
        base_currency="SOL",
        quote_currency="USD",
        tick_size=D("0.01"),
        lot_size=D("0.0001"),
        min_quantity=D("0.0001"),
    )

    assert codes(world, world.order(sol)) == (ReasonCode.NO_REFERENCE_PRICE,)


def test_market_order_without_a_reference_price_is_rejected_even_with_no_checks_on(world) -> None:
    world.configure(price_collar=None, check_buying_power=False, duplicate_window_ns=None)
    world.view.forget(price_of=world.btc.id)
    world.view.forget(price_of=world.eth.id)
    market = world.order(order_type=OrderType.MARKET, price=None)

    assert codes(world, market) == (ReasonCode.NO_REFERENCE_PRICE,)


def test_exposure_needs_the_price_of_every_held_instrument(world) -> None:
    world.limit(LimitType.MAX_GROSS_EXPOSURE, "1000000")
    world.view.set_position(world.portfolio_id, world.eth.id, D("1"))
    world.view.forget(price_of=world.eth.id)

    assert codes(world, world.order(world.btc)) == (ReasonCode.NO_REFERENCE_PRICE,)


def test_unknown_balance_is_rejected(world) -> None:
    world.view.forget(balance_of=world.portfolio_id)

    assert codes(world, world.order()) == (ReasonCode.UNKNOWN_ACCOUNT,)


def test_unknown_equity_with_a_loss_limit_is_rejected(world) -> None:
    world.limit(LimitType.MAX_DRAWDOWN, "1000")
    world.view.forget(equity_of=world.portfolio_id)

    assert codes(world, world.order()) == (ReasonCode.MISSING_LIMIT_DATA,)


def test_a_check_that_raises_rejects(world) -> None:
    def broken(portfolio_id):
        raise RuntimeError("ledger unavailable")

    world.view.available_balance = broken  # type: ignore[method-assign]

    decision = world.engine.check_order(world.order())

    assert decision.codes == (ReasonCode.CHECK_FAILED,)
    assert "ledger unavailable" in (decision.reason or "")


@pytest.mark.parametrize("method", ["has_portfolio", "positions", "working_orders"])
def test_a_failing_view_rejects(world, method: str) -> None:
    def broken(*args):
        raise RuntimeError("ledger unavailable")

    setattr(world.view, method, broken)

    assert world.engine.check_order(world.order()).codes == (ReasonCode.CHECK_FAILED,)
