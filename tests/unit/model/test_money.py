"""Tests for the exact decimal helpers: conversion, checks and rounding to a step."""

from __future__ import annotations

import math
from decimal import (
    ROUND_05UP,
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
)
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.core.errors import ValidationError
from omoitrade.model.money import (
    MAX_EXPONENT,
    ZERO,
    floor_to_step,
    is_multiple,
    require_non_negative,
    require_positive,
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
        (D("3"), D("3E-40")),
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


def exact_decimals(min_exponent: int = -10, max_exponent: int = 10) -> st.SearchStrategy[Decimal]:
    """Decimals with up to 31 digits and a random exponent, built exactly from text.

    With the default exponents every value is within the bound of ``to_decimal``
    (decimal exponent from -40 to 40).
    """
    return st.builds(
        lambda coefficient, exponent: D(f"{coefficient}E{exponent}"),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.integers(min_value=min_exponent, max_value=max_exponent),
    )


STEPS = st.builds(
    lambda coefficient, exponent: D(f"{coefficient}E{exponent}"),
    st.sampled_from([1, 2, 3, 5, 25, 125, 7]),
    st.integers(min_value=-8, max_value=2),
)


@settings(max_examples=300, deadline=None)
@given(value=exact_decimals(), step=STEPS)
def test_floor_to_step_is_the_largest_multiple_toward_zero(value: Decimal, step: Decimal) -> None:
    units = Fraction(value) / Fraction(step)  # up to 1e48 steps: no context limit any more
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
    rounded = round_to_step(value, step)

    assert is_multiple(rounded, step)
    assert abs(Fraction(value) - Fraction(rounded)) <= Fraction(step) / 2
    assert Fraction(rounded) == round(units) * Fraction(step)  # round() is half to even


@settings(max_examples=300, deadline=None)
@given(value=exact_decimals(min_exponent=-40), step=STEPS)
def test_is_multiple_is_exact_across_the_bounded_range(value: Decimal, step: Decimal) -> None:
    assert is_multiple(value, step) == (Fraction(value) % Fraction(step) == 0)


# -- bounded magnitude ---------------------------------------------------------------------------

OUT_OF_RANGE = "must be between 1e-40 and 1e40 in magnitude"


@pytest.mark.parametrize(
    "value",
    ["1E+999999999", "-1E+999999999", "1E-999999999", D("1E+41"), D("-1E-41"), 10**41, "1E+41"],
)
def test_to_decimal_refuses_values_beyond_the_magnitude_bound(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        to_decimal("quantity", value)

    assert (caught.value.field, caught.value.rule) == ("quantity", OUT_OF_RANGE)
    assert caught.value.value == value


@pytest.mark.parametrize(
    "value",
    [D("1E-40"), D("-1E-40"), D("9.999999E+40"), D("1E+40"), 10**40, "1E-18", "1E+20"],
)
def test_to_decimal_accepts_values_at_the_magnitude_bound(value: object) -> None:
    assert to_decimal("quantity", value) == D(value)


@pytest.mark.parametrize("value", [D("0E-999999"), D("-0E+999999"), "0E-100", 0])
def test_to_decimal_accepts_zero_with_any_exponent(value: object) -> None:
    assert to_decimal("quantity", value) == 0


def test_the_bound_is_forty_decimal_orders_of_magnitude() -> None:
    assert MAX_EXPONENT == 40
    assert D("1E+40").adjusted() == 40
    assert D("1E-40").adjusted() == -40


def test_arithmetic_on_bounded_values_raises_no_untyped_decimal_error() -> None:
    # The old failure: "1E+999999999" passed, and arithmetic on it then raised
    # decimal.Overflow or InvalidOperation instead of a ValidationError.
    with pytest.raises(ValidationError):
        to_decimal("price", "1E+999999999")
    big, small = to_decimal("notional", "9E+40"), to_decimal("quantity", "1E-40")

    assert round_to_step(big, D("0.01")) == big
    assert floor_to_step(small, D("1E-40")) == small
    assert is_multiple(big, small)


@pytest.mark.parametrize(
    "check", [require_positive, require_non_negative], ids=["positive", "non_negative"]
)
@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (D("1E+41"), OUT_OF_RANGE),
        (D("1E-999999"), OUT_OF_RANGE),
        (D("NaN"), "must be finite"),
        (D("sNaN"), "must be finite"),
        (D("Infinity"), "must be finite"),
        (0.5, "must be a Decimal, int or numeric string, not float"),
    ],
)
def test_require_checks_refuse_unbounded_and_non_finite_values(
    check: object, value: object, rule: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        check("size", value)  # type: ignore[operator]

    assert (caught.value.field, caught.value.rule) == ("size", rule)


@pytest.mark.parametrize("helper", [is_multiple, round_to_step, floor_to_step])
@pytest.mark.parametrize(
    ("value", "step", "field", "rule"),
    [
        (D("1E+999999999"), D("0.01"), "value", OUT_OF_RANGE),
        (D("3"), D("3E-50"), "step", OUT_OF_RANGE),
        (D("NaN"), D("0.01"), "value", "must be finite"),
        (D("-Infinity"), D("0.01"), "value", "must be finite"),
        (D("1"), D("sNaN"), "step", "must be finite"),
        (D("1"), D("Infinity"), "step", "must be finite"),
        (D("1"), D("0"), "step", "must be greater than 0"),
        (D("1"), D("-0.01"), "step", "must be greater than 0"),
        (0.3, D("0.1"), "value", "must be a Decimal, int or numeric string, not float"),
    ],
)
def test_step_helpers_refuse_unbounded_non_finite_and_non_positive_inputs(
    helper: object, value: Decimal, step: Decimal, field: str, rule: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        helper(value, step)  # type: ignore[operator]

    assert (caught.value.field, caught.value.rule) == (field, rule)


# -- round_to_step with every rounding mode ----------------------------------------------------


def reference_units(units: Fraction, rounding: str) -> int:
    """``units`` rounded to an integer as the decimal module's ``rounding`` mode says."""
    toward_zero = math.trunc(units)
    away = toward_zero + (1 if units > 0 else -1)
    rest = abs(units - toward_zero)
    half = Fraction(1, 2)
    if rest == 0:
        return toward_zero
    if rounding == ROUND_DOWN:
        return toward_zero
    if rounding == ROUND_UP:
        return away
    if rounding == ROUND_CEILING:
        return math.ceil(units)
    if rounding == ROUND_FLOOR:
        return math.floor(units)
    if rounding == ROUND_05UP:
        return away if abs(toward_zero) % 10 in (0, 5) else toward_zero
    if rest != half:
        return toward_zero if rest < half else away
    if rounding == ROUND_HALF_UP:
        return away
    if rounding == ROUND_HALF_DOWN:
        return toward_zero
    assert rounding == ROUND_HALF_EVEN
    return toward_zero if toward_zero % 2 == 0 else away


ROUNDINGS = [
    ROUND_DOWN,
    ROUND_UP,
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_05UP,
]


@settings(max_examples=400, deadline=None)
@given(
    value=st.one_of(
        exact_decimals(),
        # exact halves, quarters and near-halves of a step, where the modes differ
        st.builds(
            lambda units, tail, step: D(units) * step + D(tail) * step,
            st.integers(min_value=-(10**6), max_value=10**6),
            st.sampled_from(["0", "0.5", "0.25", "0.75", "0.4999999999", "0.5000000001"]),
            STEPS,
        ),
    ),
    step=STEPS,
    rounding=st.sampled_from(ROUNDINGS),
)
def test_round_to_step_matches_exact_rounding_in_every_mode(
    value: Decimal, step: Decimal, rounding: str
) -> None:
    result = round_to_step(value, step, rounding)

    units = reference_units(Fraction(value) / Fraction(step), rounding)
    assert Fraction(result) == units * Fraction(step)
    assert result.as_tuple().exponent == step.as_tuple().exponent


@pytest.mark.parametrize(
    ("value", "rounding", "expected"),
    [
        (D("0.125"), ROUND_HALF_DOWN, "0.12"),
        (D("-0.125"), ROUND_HALF_UP, "-0.13"),
        (D("-0.121"), ROUND_FLOOR, "-0.13"),
        (D("-0.129"), ROUND_CEILING, "-0.12"),
        (D("0.121"), ROUND_UP, "0.13"),
        (D("0.101"), ROUND_05UP, "0.11"),  # truncated 0.10 ends in 0: away from zero
        (D("0.111"), ROUND_05UP, "0.11"),
        (D("-0.001"), ROUND_HALF_EVEN, "-0.00"),  # the sign of zero is kept
    ],
)
def test_round_to_step_examples_of_other_modes(
    value: Decimal, rounding: str, expected: str
) -> None:
    assert str(round_to_step(value, D("0.01"), rounding)) == expected


def test_round_to_step_of_more_steps_than_the_context_precision_is_exact() -> None:
    value = D("123456789012345678901234567890123.456")  # 36 digits, 3.4e34 steps of 0.0036

    expected = round(Fraction(value) / Fraction("0.0036")) * Fraction("0.0036")

    assert Fraction(round_to_step(value, D("0.0036"))) == expected
    assert is_multiple(round_to_step(value, D("0.0036")), D("0.0036"))
