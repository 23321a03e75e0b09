"""Tests for instruments: construction rules, price and size grids, derived identifiers."""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.core.errors import ValidationError
from omoitrade.model import Instrument, InstrumentId, InstrumentType
from omoitrade.testing.factories import make_instrument

D = Decimal


@pytest.fixture
def btc() -> Instrument:
    """Tick 0.01, lot 0.0001, minimum 0.0001."""
    return make_instrument()


# -- construction -------------------------------------------------------------------------


def test_factory_instrument_is_valid_and_active(btc: Instrument) -> None:
    assert btc.symbol == "BTC/USD"
    assert btc.exchange == "SIM"
    assert btc.instrument_type is InstrumentType.SPOT
    assert (btc.tick_size, btc.lot_size, btc.min_quantity) == (
        D("0.01"),
        D("0.0001"),
        D("0.0001"),
    )
    assert btc.is_active
    assert str(btc) == "BTC/USD@SIM"


def test_create_derives_the_id_from_exchange_and_symbol(btc: Instrument) -> None:
    assert btc.id == InstrumentId.of("SIM", "BTC/USD")
    assert type(btc.id) is InstrumentId


def test_grid_sizes_given_as_text_or_int_become_decimals() -> None:
    instrument = make_instrument(tick_size="0.5", lot_size=1, min_quantity="10")

    assert instrument.tick_size == D("0.5")
    assert type(instrument.tick_size) is Decimal
    assert type(instrument.lot_size) is Decimal
    assert instrument.min_quantity == D("10")


def test_grid_sizes_given_as_floats_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_instrument(tick_size=0.01)

    assert caught.value.field == "tick_size"
    assert caught.value.rule == "must be a Decimal, int or numeric string, not float"


@pytest.mark.parametrize("field", ["tick_size", "lot_size"])
@pytest.mark.parametrize("value", [D("0"), D("-0.01")])
def test_tick_and_lot_size_must_be_positive(field: str, value: Decimal) -> None:
    overrides = {field: value}
    if field == "lot_size":
        overrides["min_quantity"] = D("0")

    with pytest.raises(ValidationError) as caught:
        make_instrument(**overrides)

    assert (caught.value.field, caught.value.rule) == (field, "must be greater than 0")


def test_min_quantity_must_not_be_negative() -> None:
    with pytest.raises(ValidationError) as caught:
        make_instrument(min_quantity=D("-0.0001"))

    assert (caught.value.field, caught.value.rule) == ("min_quantity", "must not be negative")


def test_min_quantity_may_be_zero() -> None:
    assert make_instrument(min_quantity=D("0")).min_quantity == 0


def test_min_quantity_must_be_a_multiple_of_the_lot_size() -> None:
    with pytest.raises(ValidationError) as caught:
        make_instrument(lot_size=D("0.01"), min_quantity=D("0.015"))

    assert caught.value.field == "min_quantity"
    assert caught.value.rule == "must be a multiple of the lot size 0.01"


@pytest.mark.parametrize("field", ["symbol", "exchange", "base_currency", "quote_currency"])
def test_names_must_not_be_empty(field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_instrument(**{field: ""})

    assert (caught.value.field, caught.value.rule) == (field, "must not be empty")


def test_non_string_grid_values_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_instrument(lot_size=None)

    assert (caught.value.field, caught.value.rule) == ("lot_size", "must be a number")


def test_instruments_are_immutable(btc: Instrument) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        btc.tick_size = D("1")  # type: ignore[misc]


def test_instruments_with_the_same_fields_are_equal() -> None:
    assert make_instrument() == make_instrument()
    assert make_instrument() != make_instrument(is_active=False)


# -- InstrumentId.of -----------------------------------------------------------------------


def test_instrument_id_is_deterministic() -> None:
    assert InstrumentId.of("SIM", "BTC/USD") == InstrumentId.of("SIM", "BTC/USD")


def test_instrument_id_ignores_the_case_of_the_venue() -> None:
    assert InstrumentId.of("sim", "BTC/USD") == InstrumentId.of("SIM", "BTC/USD")
    assert InstrumentId.of("Binance", "ETHUSDT") == InstrumentId.of("BINANCE", "ETHUSDT")


def test_instrument_id_respects_the_case_of_the_symbol() -> None:
    assert InstrumentId.of("SIM", "btc/usd") != InstrumentId.of("SIM", "BTC/USD")


def test_instrument_id_differs_by_venue_and_by_symbol() -> None:
    ids = {
        InstrumentId.of("SIM", "BTC/USD"),
        InstrumentId.of("SIM", "ETH/USD"),
        InstrumentId.of("KRAKEN", "BTC/USD"),
    }

    assert len(ids) == 3


def test_instrument_id_is_a_version_5_uuid() -> None:
    value = InstrumentId.of("SIM", "BTC/USD")

    assert value.version == 5
    assert value.variant == uuid.RFC_4122
    assert type(value) is InstrumentId


def test_instrument_id_is_stable_across_releases() -> None:
    # Stored rows and other services key instruments by this value: it must never change.
    assert InstrumentId.of("SIM", "BTC/USD") == uuid.uuid5(
        uuid.UUID("6f6d6f69-7472-6164-6500-696e73747275"), "SIM:BTC/USD"
    )


@settings(max_examples=50, deadline=None)
@given(exchange=st.text(min_size=1, max_size=12), symbol=st.text(min_size=1, max_size=12))
def test_instrument_id_of_is_a_pure_function(exchange: str, symbol: str) -> None:
    assert InstrumentId.of(exchange, symbol) == InstrumentId.of(exchange, symbol)
    assert InstrumentId.of(exchange.lower(), symbol) == InstrumentId.of(exchange.upper(), symbol)


# -- price and size grids ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("42000.004"), "42000.00"),
        (D("42000.006"), "42000.01"),
        (D("42000.005"), "42000.00"),  # half to even
        (D("42000.015"), "42000.02"),
        (D("42000"), "42000.00"),
    ],
)
def test_round_price_goes_to_the_nearest_tick(
    btc: Instrument, value: Decimal, expected: str
) -> None:
    assert str(btc.round_price(value)) == expected


def test_round_price_on_a_quarter_tick() -> None:
    es = make_instrument(symbol="ES", tick_size=D("0.25"), lot_size=D("1"), min_quantity=D("1"))

    assert es.round_price(D("4500.13")) == D("4500.25")
    assert es.round_price(D("4500.12")) == D("4500.00")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("0.12345"), "0.1234"),
        (D("0.99999"), "0.9999"),
        (D("1"), "1.0000"),
        (D("0.00009"), "0.0000"),
    ],
)
def test_floor_quantity_rounds_down_to_whole_lots(
    btc: Instrument, value: Decimal, expected: str
) -> None:
    assert str(btc.floor_quantity(value)) == expected


@pytest.mark.parametrize(
    ("price", "valid"),
    [
        (D("42000.01"), True),
        (D("0.01"), True),
        (D("42000.010000"), True),
        (D("42000.001"), False),
        (D("0"), False),
        (D("-42000.00"), False),
    ],
)
def test_is_valid_price(btc: Instrument, price: Decimal, valid: bool) -> None:
    assert btc.is_valid_price(price) is valid


@pytest.mark.parametrize(
    ("quantity", "valid"),
    [
        (D("0.0001"), True),
        (D("0.5"), True),
        (D("0.00015"), False),
        (D("0"), False),
        (D("-0.5"), False),
    ],
)
def test_is_valid_quantity(btc: Instrument, quantity: Decimal, valid: bool) -> None:
    assert btc.is_valid_quantity(quantity) is valid


def test_is_valid_quantity_honours_the_minimum() -> None:
    instrument = make_instrument(lot_size=D("0.01"), min_quantity=D("0.10"))

    assert not instrument.is_valid_quantity(D("0.09"))
    assert instrument.is_valid_quantity(D("0.10"))


PRICES = st.decimals(min_value=D("0.006"), max_value=D("1000000"), places=6)


@settings(max_examples=200, deadline=None)
@given(price=PRICES)
def test_rounded_prices_are_valid_and_within_half_a_tick(price: Decimal) -> None:
    btc = make_instrument()

    rounded = btc.round_price(price)

    assert btc.is_valid_price(rounded)
    assert abs(Fraction(rounded) - Fraction(price)) <= Fraction(btc.tick_size) / 2


@settings(max_examples=200, deadline=None)
@given(quantity=st.decimals(min_value=D("0.0001"), max_value=D("1000"), places=8))
def test_floored_quantities_are_valid_and_never_larger(quantity: Decimal) -> None:
    btc = make_instrument()

    floored = btc.floor_quantity(quantity)

    assert btc.is_valid_quantity(floored)
    assert floored <= quantity
    assert quantity - floored < btc.lot_size


# -- price_rule and quantity_rule ------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "rule"),
    [
        (D("42000.01"), None),
        (D("42000.010000"), None),
        (D("0"), "must be greater than 0"),
        (D("-42000.00"), "must be greater than 0"),
        (D("42000.001"), "must be a multiple of the tick size 0.01"),
    ],
)
def test_price_rule_names_the_broken_rule(btc: Instrument, price: Decimal, rule: str) -> None:
    assert btc.price_rule(price) == rule
    assert btc.is_valid_price(price) is (rule is None)


@pytest.mark.parametrize(
    ("quantity", "rule"),
    [
        (D("0.0001"), None),
        (D("0.5"), None),
        (D("0"), "must be greater than 0"),
        (D("-0.5"), "must be greater than 0"),
        (D("0.00015"), "must be a multiple of the lot size 0.0001"),
    ],
)
def test_quantity_rule_names_the_broken_rule(btc: Instrument, quantity: Decimal, rule: str) -> None:
    assert btc.quantity_rule(quantity) == rule
    assert btc.is_valid_quantity(quantity) is (rule is None)


def test_quantity_rule_names_the_minimum_quantity() -> None:
    instrument = make_instrument(lot_size=D("0.01"), min_quantity=D("0.10"))

    assert instrument.quantity_rule(D("0.09")) == "must be at least the minimum quantity 0.10"
    assert instrument.quantity_rule(D("0.10")) is None


def test_quantity_rules_lists_every_broken_rule_and_quantity_rule_the_first() -> None:
    instrument = make_instrument(lot_size=D("0.01"), min_quantity=D("0.10"))

    assert instrument.quantity_rules(D("0.005")) == [
        "must be a multiple of the lot size 0.01",
        "must be at least the minimum quantity 0.10",
    ]
    assert instrument.quantity_rule(D("0.005")) == "must be a multiple of the lot size 0.01"
    assert instrument.quantity_rules(D("-1")) == ["must be greater than 0"]
    assert instrument.quantity_rules(D("0.20")) == []


@pytest.mark.parametrize("method", ["price_rule", "quantity_rule", "quantity_rules"])
@pytest.mark.parametrize("value", [0.5, "NaN", "1E+999999999", None])
def test_grid_rules_refuse_values_that_are_not_bounded_decimals(
    btc: Instrument, method: str, value: object
) -> None:
    with pytest.raises(ValidationError) as caught:
        getattr(btc, method)(value)

    assert caught.value.field == ("price" if method == "price_rule" else "quantity")


@settings(max_examples=300, deadline=None)
@given(
    value=st.decimals(min_value=D("-10"), max_value=D("10"), places=6),
    lot=st.sampled_from([D("0.0001"), D("0.25"), D("1"), D("0.03")]),
    minimum_lots=st.integers(min_value=0, max_value=5),
)
def test_validity_wrappers_agree_with_the_rules(
    value: Decimal, lot: Decimal, minimum_lots: int
) -> None:
    instrument = make_instrument(tick_size=lot, lot_size=lot, min_quantity=minimum_lots * lot)
    steps = Fraction(value) / Fraction(lot)

    assert instrument.is_valid_price(value) is (value > 0 and steps.denominator == 1)
    assert instrument.is_valid_quantity(value) is (
        value > 0 and steps.denominator == 1 and value >= minimum_lots * lot
    )
    assert (instrument.price_rule(value) is None) is instrument.is_valid_price(value)
    assert (instrument.quantity_rule(value) is None) is instrument.is_valid_quantity(value)
