"""Tests for order validation against an instrument: check_order and order_violations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.model import (
    Instrument,
    InstrumentId,
    Order,
    OrderInvalid,
    OrderType,
    PortfolioId,
    check_order,
    order_violations,
)
from omoitrade.testing.factories import make_instrument, make_order

D = Decimal


@pytest.fixture
def instrument() -> Instrument:
    """BTC/USD@SIM: tick 0.01, lot 0.0001, minimum 0.0001."""
    return make_instrument()


def order_for(instrument: Instrument, **overrides: Any) -> Order:
    return make_order(PortfolioId.new(), instrument, **overrides)


def broken_rules(order: Order, instrument: Instrument) -> list[tuple[str, str]]:
    return [(v.field, v.rule) for v in order_violations(order, instrument)]


def assert_only_violation(order: Order, instrument: Instrument, field: str, rule: str) -> None:
    """``order`` breaks exactly one rule, and check_order raises it."""
    assert broken_rules(order, instrument) == [(field, rule)]
    with pytest.raises(OrderInvalid) as caught:
        check_order(order, instrument)
    assert (caught.value.field, caught.value.rule) == (field, rule)
    assert str(caught.value) == f"{field}: {rule}"


# -- valid orders ---------------------------------------------------------------------------

VALID = [
    pytest.param({"order_type": OrderType.MARKET, "price": None}, id="market"),
    pytest.param({"order_type": OrderType.LIMIT, "price": D("42000.00")}, id="limit"),
    pytest.param(
        {"order_type": OrderType.STOP, "price": None, "stop_price": D("41000.50")}, id="stop"
    ),
    pytest.param(
        {"order_type": OrderType.STOP_LIMIT, "price": D("40999.99"), "stop_price": D("41000")},
        id="stop-limit",
    ),
]


@pytest.mark.parametrize("fields", VALID)
def test_a_valid_order_of_each_type_passes(instrument: Instrument, fields: dict) -> None:
    order = order_for(instrument, **fields)

    assert order_violations(order, instrument) == []
    check_order(order, instrument)  # does not raise


def test_the_smallest_valid_quantity_passes(instrument: Instrument) -> None:
    assert order_violations(order_for(instrument, quantity=D("0.0001")), instrument) == []


def test_equal_values_with_other_exponents_pass(instrument: Instrument) -> None:
    order = order_for(instrument, quantity=D("0.50000000"), price=D("4.2E+4"))

    assert order_violations(order, instrument) == []


# -- one test per rule ------------------------------------------------------------------------


def test_instrument_must_match(instrument: Instrument) -> None:
    order = order_for(instrument, instrument_id=InstrumentId.of("SIM", "ETH/USD"))

    assert_only_violation(
        order, instrument, "instrument_id", "does not match the instrument BTC/USD@SIM"
    )


def test_instrument_must_be_active() -> None:
    inactive = make_instrument(is_active=False)

    assert_only_violation(
        order_for(inactive), inactive, "instrument_id", "instrument BTC/USD@SIM is not active"
    )


@pytest.mark.parametrize("quantity", [D("0"), D("-0.5"), D("-0")])
def test_quantity_must_be_greater_than_zero(instrument: Instrument, quantity: Decimal) -> None:
    order = order_for(instrument, quantity=quantity)

    assert_only_violation(order, instrument, "quantity", "must be greater than 0")


@pytest.mark.parametrize("quantity", [D("0.00015"), D("1.00001"), D("0.5000001")])
def test_quantity_must_be_a_multiple_of_the_lot_size(
    instrument: Instrument, quantity: Decimal
) -> None:
    order = order_for(instrument, quantity=quantity)

    assert_only_violation(
        order, instrument, "quantity", "must be a multiple of the lot size 0.0001"
    )


def test_quantity_must_be_at_least_the_minimum_quantity() -> None:
    instrument = make_instrument(lot_size=D("0.01"), min_quantity=D("0.10"))
    order = order_for(instrument, quantity=D("0.09"))

    assert_only_violation(
        order, instrument, "quantity", "must be at least the minimum quantity 0.10"
    )


def test_quantity_off_the_lot_and_below_the_minimum_breaks_both_rules() -> None:
    instrument = make_instrument(lot_size=D("0.01"), min_quantity=D("0.10"))
    order = order_for(instrument, quantity=D("0.005"))

    assert broken_rules(order, instrument) == [
        ("quantity", "must be a multiple of the lot size 0.01"),
        ("quantity", "must be at least the minimum quantity 0.10"),
    ]


def test_a_lot_size_that_is_not_a_power_of_ten_is_honoured() -> None:
    instrument = make_instrument(lot_size=D("0.25"), min_quantity=D("0.25"))

    assert broken_rules(order_for(instrument, quantity=D("1.75")), instrument) == []
    assert broken_rules(order_for(instrument, quantity=D("1.8")), instrument) == [
        ("quantity", "must be a multiple of the lot size 0.25")
    ]


def test_an_absurdly_large_quantity_is_judged_not_crashed_on() -> None:
    instrument = make_instrument(lot_size=D("0.0003"), min_quantity=D("0.0003"))

    assert broken_rules(order_for(instrument, quantity=D("1E+40")), instrument) == [
        ("quantity", "must be a multiple of the lot size 0.0003")
    ]
    assert (
        broken_rules(
            order_for(instrument, quantity=D("3E+40"), price=None, order_type=OrderType.MARKET),
            instrument,
        )
        == []
    )


def test_limit_order_needs_a_price(instrument: Instrument) -> None:
    order = order_for(instrument, order_type=OrderType.LIMIT, price=None)

    assert_only_violation(order, instrument, "price", "is required for a LIMIT order")


def test_stop_order_needs_a_stop_price(instrument: Instrument) -> None:
    order = order_for(instrument, order_type=OrderType.STOP, price=None, stop_price=None)

    assert_only_violation(order, instrument, "stop_price", "is required for a STOP order")


def test_stop_order_must_not_have_a_limit_price(instrument: Instrument) -> None:
    order = order_for(instrument, order_type=OrderType.STOP, stop_price=D("41000.00"))

    assert_only_violation(order, instrument, "price", "must be empty for a STOP order")


def test_stop_limit_order_needs_both_prices(instrument: Instrument) -> None:
    neither = order_for(instrument, order_type=OrderType.STOP_LIMIT, price=None)

    assert broken_rules(neither, instrument) == [
        ("price", "is required for a STOP_LIMIT order"),
        ("stop_price", "is required for a STOP_LIMIT order"),
    ]
    assert_only_violation(
        order_for(instrument, order_type=OrderType.STOP_LIMIT),
        instrument,
        "stop_price",
        "is required for a STOP_LIMIT order",
    )
    assert_only_violation(
        order_for(instrument, order_type=OrderType.STOP_LIMIT, price=None, stop_price=D("1.00")),
        instrument,
        "price",
        "is required for a STOP_LIMIT order",
    )


def test_market_order_must_have_no_price(instrument: Instrument) -> None:
    order = order_for(instrument, order_type=OrderType.MARKET, price=D("42000.00"))

    assert_only_violation(order, instrument, "price", "must be empty for a MARKET order")


def test_market_order_must_have_no_stop_price(instrument: Instrument) -> None:
    order = order_for(instrument, order_type=OrderType.MARKET, price=None, stop_price=D("42000.00"))

    assert_only_violation(order, instrument, "stop_price", "must be empty for a MARKET order")


def test_limit_order_must_have_no_stop_price(instrument: Instrument) -> None:
    order = order_for(instrument, stop_price=D("41000.00"))

    assert_only_violation(order, instrument, "stop_price", "must be empty for a LIMIT order")


@pytest.mark.parametrize("price", [D("0"), D("-42000.00")])
def test_price_must_be_greater_than_zero(instrument: Instrument, price: Decimal) -> None:
    order = order_for(instrument, price=price)

    assert_only_violation(order, instrument, "price", "must be greater than 0")


@pytest.mark.parametrize("stop_price", [D("0.00"), D("-1")])
def test_stop_price_must_be_greater_than_zero(instrument: Instrument, stop_price: Decimal) -> None:
    order = order_for(instrument, order_type=OrderType.STOP, price=None, stop_price=stop_price)

    assert_only_violation(order, instrument, "stop_price", "must be greater than 0")


@pytest.mark.parametrize("price", [D("42000.005"), D("0.001"), D("42000.0001")])
def test_price_must_be_a_multiple_of_the_tick_size(instrument: Instrument, price: Decimal) -> None:
    order = order_for(instrument, price=price)

    assert_only_violation(order, instrument, "price", "must be a multiple of the tick size 0.01")


def test_stop_price_must_be_a_multiple_of_the_tick_size(instrument: Instrument) -> None:
    order = order_for(instrument, order_type=OrderType.STOP, price=None, stop_price=D("41000.125"))

    assert_only_violation(
        order, instrument, "stop_price", "must be a multiple of the tick size 0.01"
    )


def test_a_tick_size_that_is_not_a_power_of_ten_is_honoured() -> None:
    instrument = make_instrument(tick_size=D("0.25"))

    assert broken_rules(order_for(instrument, price=D("4200.75")), instrument) == []
    assert broken_rules(order_for(instrument, price=D("4200.10")), instrument) == [
        ("price", "must be a multiple of the tick size 0.25")
    ]


# -- several rules at once ------------------------------------------------------------------


def test_order_violations_returns_every_broken_rule_in_order(instrument: Instrument) -> None:
    order = order_for(
        instrument,
        instrument_id=InstrumentId.of("SIM", "ETH/USD"),
        quantity=D("0.00015"),
        price=D("42000.001"),
        stop_price=D("41000.00"),
    )

    violations = order_violations(order, instrument)

    assert [(v.field, v.rule) for v in violations] == [
        ("instrument_id", "does not match the instrument BTC/USD@SIM"),
        ("quantity", "must be a multiple of the lot size 0.0001"),
        ("price", "must be a multiple of the tick size 0.01"),
        ("stop_price", "must be empty for a LIMIT order"),
    ]
    assert [v.value for v in violations] == [
        order.instrument_id,
        D("0.00015"),
        D("42000.001"),
        D("41000.00"),
    ]
    assert all(isinstance(v, OrderInvalid) for v in violations)


def test_check_order_raises_the_first_violation(instrument: Instrument) -> None:
    order = order_for(instrument, quantity=D("0"), price=None)

    with pytest.raises(OrderInvalid) as caught:
        check_order(order, instrument)

    assert (caught.value.field, caught.value.rule) == ("quantity", "must be greater than 0")


def test_a_mismatched_instrument_is_reported_before_activity(instrument: Instrument) -> None:
    inactive_other = make_instrument(symbol="ETH/USD", is_active=False)

    assert broken_rules(order_for(instrument), inactive_other) == [
        ("instrument_id", "does not match the instrument ETH/USD@SIM")
    ]


def test_order_invalid_is_a_validation_error_with_its_own_code(instrument: Instrument) -> None:
    order = order_for(instrument, price=None)

    with pytest.raises(ValidationError) as caught:
        check_order(order, instrument)

    assert isinstance(caught.value, OrderInvalid)
    assert caught.value.code == "order-invalid"
    assert caught.value.to_dict() == {
        "code": "order-invalid",
        "message": "price: is required for a LIMIT order",
        "field": "price",
        "rule": "is required for a LIMIT order",
    }


def test_validation_does_not_change_the_order(instrument: Instrument) -> None:
    order = order_for(instrument, quantity=D("0.00015"))
    before = (order.status, order.quantity, order.price, order.updated_at)

    order_violations(order, instrument)

    assert (order.status, order.quantity, order.price, order.updated_at) == before


# -- the instrument's grid rules are the order's rules ------------------------------------------


@pytest.mark.parametrize(
    "quantity", [D("0.5"), D("0"), D("-1"), D("0.00015"), D("0.05"), D("0.005"), D("0.10")]
)
@pytest.mark.parametrize("price", [D("42000.00"), D("0"), D("-1"), D("42000.001"), D("0.25")])
def test_order_violations_report_exactly_the_instrument_rules(
    quantity: Decimal, price: Decimal
) -> None:
    instrument = make_instrument(lot_size=D("0.01"), min_quantity=D("0.10"), tick_size=D("0.25"))
    order = order_for(instrument, quantity=quantity, price=price)

    expected = [("quantity", rule) for rule in instrument.quantity_rules(quantity)]
    price_rule = instrument.price_rule(price)
    expected += [] if price_rule is None else [("price", price_rule)]

    assert broken_rules(order, instrument) == expected
