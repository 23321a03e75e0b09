"""Tests for the exact decimal helpers: conversion, checks and rounding to a step."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.core.errors import ValidationError
from omoitrade.model.money import (
    ZERO,
    floor_to_step,
    is_multiple,
    require_non_negative,
    require_positive,
    require_unit_interval,
    round_to_step,
    to_decimal,
)

D = Decimal


# -- to_decimal ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.1, 1.0, float("nan")])
def test_to_decimal_refuses_floats(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        to_decimal("price", value)

    assert caught.value.field == "price"
    assert caught.value.rule == "must be a Decimal, int or numeric string, not float"
    assert str(caught.value) == "price: must be a Decimal, int or numeric string, not float"


@pytest.mark.parametrize("value", [True, False])
def test_to_decimal_refuses_booleans(value: bool) -> None:
    with pytest.raises(ValidationError) as caught:
        to_decimal("price", value)

    assert str(caught.value) == "price: must be a number, not a boolean"


@pytest.mark.parametrize(
    "value", ["NaN", "sNaN", "Infinity", "-Infinity", "inf", D("NaN"), D("-Infinity")]
)
def test_to_decimal_refuses_nan_and_infinity(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        to_decimal("price", value)

    assert (caught.value.field, caught.value.rule) == ("price", "must be finite")


@pytest.mark.parametrize("value", ["", "abc", "1,5", "0x10", None, [1], b"1", 1j])
def test_to_decimal_refuses_what_is_not_a_number(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        to_decimal("quantity", value)

    assert (caught.value.field, caught.value.rule) == ("quantity", "must be a number")
    assert caught.value.value == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.10", "0.10"),
        ("1E+2", "1E+2"),
        ("-3", "-3"),
        (" 7.5 ", "7.5"),
        (42, "42"),
        (-0, "0"),
        (10**30, "1000000000000000000000000000000"),
    ],
)
def test_to_decimal_accepts_strings_and_ints_exactly(value: object, expected: str) -> None:
    result = to_decimal("x", value)

    assert type(result) is Decimal
    assert str(result) == expected


def test_to_decimal_returns_a_decimal_unchanged() -> None:
    value = D("0.100")

    assert to_decimal("x", value) is value


# -- checks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [D("0"), D("-0.01"), D("-0")])
def test_require_positive_refuses_zero_and_below(value: Decimal) -> None:
    with pytest.raises(ValidationError) as caught:
        require_positive("size", value)

    assert str(caught.value) == "size: must be greater than 0"


def test_require_positive_accepts_the_smallest_positive_value() -> None:
    require_positive("size", D("1E-30"))


def test_require_non_negative_accepts_zero_and_refuses_below() -> None:
    require_non_negative("volume", ZERO)
    require_non_negative("volume", D("-0"))
    with pytest.raises(ValidationError) as caught:
        require_non_negative("volume", D("-1E-30"))

    assert str(caught.value) == "volume: must not be negative"


@pytest.mark.parametrize("value", [0, 1, 0.0, 1.0, 0.5, D("0.75"), D("1.000")])
def test_unit_interval_accepts_zero_to_one(value: object) -> None:
    require_unit_interval("strength", value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [-0.01, 1.0000001, 2, D("-1E-30"), float("nan"), float("inf")])
def test_unit_interval_refuses_values_outside_zero_to_one(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        require_unit_interval("strength", value)  # type: ignore[arg-type]

    assert str(caught.value) == "strength: must be between 0 and 1"


@pytest.mark.parametrize("value", [True, "0.5", None])
def test_unit_interval_refuses_non_numbers(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        require_unit_interval("strength", value)  # type: ignore[arg-type]

    assert str(caught.value) == "strength: must be a number between 0 and 1"


# -- is_multiple -------------------------------------------------------------------------------


def test_decimal_sums_are_exact_where_floats_are_not() -> None:
    assert 0.1 + 0.2 != 0.3
    assert D("0.1") + D("0.2") == D("0.3")
    assert is_multiple(D("0.1") + D("0.2"), D("0.1"))


@pytest.mark.parametrize(
    ("value", "step"),
    [
        (D("0.3"), D("0.1")),
        (D("0.30000"), D("0.1")),
        (D("1E+2"), D("0.25")),
        (D("0"), D("0.01")),
        (D("-0"), D("7")),
        (D("-4.5"), D("1.5")),
        (D("42000.00"), D("0.01")),
        (D("0.0001"), D("0.0001")),
        (D("1E+40"), D("0.0001")),
        (D("3E+40"), D("0.0003")),
        (D("3"), D("3E-50")),
    ],
)
def test_is_multiple_true(value: Decimal, step: Decimal) -> None:
    assert is_multiple(value, step)


@pytest.mark.parametrize(
    ("value", "step"),
    [
        (D("0.31"), D("0.1")),
        (D("0.00015"), D("0.0001")),
        (D("1"), D("0.3")),
        (D("1E+40"), D("0.0003")),
        (D("1E-40"), D("0.01")),
        (D("42000.005"), D("0.01")),
        (D("-0.5"), D("0.2")),
    ],
)
def test_is_multiple_false(value: Decimal, step: Decimal) -> None:
    assert not is_multiple(value, step)


# -- round_to_step and floor_to_step ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [
        (D("0.125"), D("0.01"), "0.12"),  # half to even, down
        (D("0.135"), D("0.01"), "0.14"),  # half to even, up
        (D("0.1") + D("0.2"), D("0.1"), "0.3"),
        (D("42000"), D("0.01"), "42000.00"),  # expressed with the step's exponent
        (D("1E+2"), D("0.25"), "100.00"),
        (D("100.13"), D("0.25"), "100.25"),
        (D("100.12"), D("0.25"), "100.00"),
        (D("100.125"), D("0.25"), "100.00"),  # exactly half a step: to the even count
        (D("100.375"), D("0.25"), "100.50"),
        (D("-0.125"), D("0.01"), "-0.12"),
        (D("-2.5"), D("1"), "-2"),
        (D("1234"), D("1E+1"), "1.23E+3"),
    ],
)
def test_round_to_step(value: Decimal, step: Decimal, expected: str) -> None:
    assert str(round_to_step(value, step)) == expected


def test_round_to_step_with_another_rounding_mode() -> None:
    assert round_to_step(D("0.125"), D("0.01"), ROUND_HALF_UP) == D("0.13")
    assert round_to_step(D("0.121"), D("0.01"), ROUND_CEILING) == D("0.13")


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [
        (D("0.99999"), D("0.0001"), "0.9999"),
        (D("1.55"), D("0.1"), "1.5"),
        (D("-1.55"), D("0.1"), "-1.5"),  # toward zero, never away from it
        (D("0.00009"), D("0.0001"), "0.0000"),
        (D("7"), D("0.25"), "7.00"),
        (D("7.49"), D("0.25"), "7.25"),
    ],
)
def test_floor_to_step_rounds_toward_zero(value: Decimal, step: Decimal, expected: str) -> None:
    assert str(floor_to_step(value, step)) == expected


def test_floor_of_a_full_precision_value_never_rounds_up() -> None:
    # 28 significant digits, as a division in the default context produces; value / 0.25
    # needs 29 digits, so dividing first would round to 40 and the floor would become 10.00.
    value = D("9.999999999999999999999999999")

    assert floor_to_step(value, D("0.25")) == D("9.75")
    assert floor_to_step(D(100000) / D("42000.37"), D("0.25")) == D("2.25")


def test_round_of_a_value_just_below_half_a_step_rounds_down() -> None:
    value = D("0.1249999999999999999999999999999")  # 31 digits, a hair under 0.125

    assert round_to_step(value, D("0.25")) == D("0.00")
    assert round_to_step(value, D("0.01")) == D("0.12")


def exact_decimals(max_exponent: int = 10) -> st.SearchStrategy[Decimal]:
    """Decimals with up to 30 digits and a random exponent, built exactly from text."""
    return st.builds(
        lambda coefficient, exponent: D(f"{coefficient}E{exponent}"),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.integers(min_value=-max_exponent, max_value=max_exponent),
    )


STEPS = st.builds(
    lambda coefficient, exponent: D(f"{coefficient}E{exponent}"),
    st.sampled_from([1, 2, 3, 5, 25, 125, 7]),
    st.integers(min_value=-8, max_value=2),
)


@settings(max_examples=300, deadline=None)
@given(value=exact_decimals(), step=STEPS)
def test_floor_to_step_is_the_largest_multiple_toward_zero(value: Decimal, step: Decimal) -> None:
    units = Fraction(value) / Fraction(step)
    if abs(units) >= 10**28:
        return  # more whole steps than the context can count
    floored = floor_to_step(value, step)

    assert is_multiple(floored, step)
    assert floored.as_tuple().exponent == step.as_tuple().exponent
    assert abs(Fraction(floored)) <= abs(Fraction(value))
    assert abs(Fraction(value) - Fraction(floored)) < Fraction(step)
    assert Fraction(floored) == int(units) * Fraction(step)


@settings(max_examples=300, deadline=None)
@given(value=exact_decimals(), step=STEPS)
def test_round_to_step_is_the_nearest_multiple(value: Decimal, step: Decimal) -> None:
    units = Fraction(value) / Fraction(step)
    if abs(units) >= 10**28:
        return
    rounded = round_to_step(value, step)

    assert is_multiple(rounded, step)
    assert abs(Fraction(value) - Fraction(rounded)) <= Fraction(step) / 2
    assert Fraction(rounded) == round(units) * Fraction(step)  # round() is half to even


@settings(max_examples=300, deadline=None)
@given(value=exact_decimals(max_exponent=60), step=STEPS)
def test_is_multiple_is_exact_at_any_scale(value: Decimal, step: Decimal) -> None:
    assert is_multiple(value, step) == (Fraction(value) % Fraction(step) == 0)
