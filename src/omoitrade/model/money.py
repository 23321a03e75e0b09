"""Exact decimal arithmetic helpers: checks and quantization to tick and lot.

Money and sizes are ``Decimal``. Floats never enter the domain: they carry
binary rounding (``0.1 + 0.2 != 0.3``) that would leak into P&L.

Every Decimal taken from outside is finite and of bounded magnitude (decimal
exponent within :data:`MAX_EXPONENT` either way, zero allowed): generous for
real markets (token quantities of 1e-18, notionals of 1e20) yet small enough
that exact rational arithmetic on it stays cheap and no later operation meets
a decimal overflow or an untyped ``decimal`` error.
"""

from __future__ import annotations

from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    InvalidOperation,
)
from typing import Any

from omoitrade.core.errors import ValidationError

ZERO = Decimal(0)
MAX_EXPONENT = 40  # |value.adjusted()| <= 40: from 1e-40 up to (just under) 1e41
_OUT_OF_RANGE = f"must be between 1e-{MAX_EXPONENT} and 1e{MAX_EXPONENT} in magnitude"
#: Unlimited precision: sums and products of bounded Decimals come out exact (and set no flags).
EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


def to_decimal(field: str, value: Any) -> Decimal:
    """``value`` as a finite, bounded Decimal; floats and non-numbers are refused with the field.

    Bounded means zero or a magnitude whose decimal exponent (``adjusted()``) is
    within ``[-MAX_EXPONENT, MAX_EXPONENT]``.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValidationError(field, "must be a number, not a boolean", value)
    elif isinstance(value, float):
        raise ValidationError(field, "must be a Decimal, int or numeric string, not float", value)
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise ValidationError(field, "must be a number", value) from None
    else:
        raise ValidationError(field, "must be a number", value)
    if not result.is_finite():
        raise ValidationError(field, "must be finite", value)
    if result and not -MAX_EXPONENT <= result.adjusted() <= MAX_EXPONENT:
        raise ValidationError(field, _OUT_OF_RANGE, value)
    return result


def _comparable(field: str, value: Any) -> Decimal:
    """``value`` ready to compare: a finite, bounded Decimal passes as is; anything else
    goes through :func:`to_decimal`, which converts it or names what is wrong."""
    if (
        type(value) is Decimal
        and value.is_finite()
        and -MAX_EXPONENT <= value.adjusted() <= MAX_EXPONENT
    ):
        return value
    return to_decimal(field, value)


def require_positive(field: str, value: Decimal) -> None:
    if _comparable(field, value) <= 0:
        raise ValidationError(field, "must be greater than 0", value)


def require_non_negative(field: str, value: Decimal) -> None:
    if _comparable(field, value) < 0:
        raise ValidationError(field, "must not be negative", value)


def _step(step: Decimal) -> Decimal:
    checked = _comparable("step", step)
    if checked <= 0:
        raise ValidationError("step", "must be greater than 0", step)
    return checked


def _ratio(value: Decimal, step: Decimal) -> tuple[int, int]:
    """``value / step`` exactly, as an integer numerator and a positive denominator.

    The same exact rational arithmetic as ``Fraction(value) / Fraction(step)``
    without reducing by the gcd, which is most of Fraction's cost; the bounds
    of :func:`to_decimal` keep the integers small.
    """
    value_num, value_den = value.as_integer_ratio()
    step_num, step_den = step.as_integer_ratio()
    return value_num * step_den, value_den * step_num


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """Whether ``value`` is a whole number of ``step`` (exactly); ``step`` must be positive."""
    numerator, denominator = _ratio(_comparable("value", value), _step(step))
    return numerator % denominator == 0


def round_to_step(value: Decimal, step: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """``value`` rounded to a multiple of ``step``, expressed with the step's exponent.

    The quotient ``value / step`` is split exactly into whole steps and a
    remainder, and handed to the decimal module as the whole steps plus a
    stand-in fraction (.25, .5 or .75) on the same side of one half as the
    remainder. Every rounding mode depends only on the sign, the whole part and
    whether the remainder is 0, below, at or above one half, so ``rounding``
    then gives the exact answer, rounding only once.
    """
    value = to_decimal("value", value)
    step = _step(step)
    numerator, denominator = _ratio(value, step)
    whole, rest = divmod(abs(numerator), denominator)
    if not rest:
        tail = ""
    elif 2 * rest < denominator:
        tail = ".25"
    elif 2 * rest == denominator:
        tail = ".5"
    else:
        tail = ".75"
    sign = "-" if value.is_signed() else ""  # -0 stays -0, as in the decimal module
    units = Decimal(f"{sign}{whole}{tail}").to_integral_value(rounding=rounding)
    return EXACT.multiply(units, step)  # exact; units is whole, so the step's exponent


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded toward zero to a multiple of ``step`` (sizes never round up)."""
    return round_to_step(value, step, ROUND_DOWN)
