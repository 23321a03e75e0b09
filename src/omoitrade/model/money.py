"""Exact decimal arithmetic helpers: checks and quantization to tick and lot.

Money and sizes are ``Decimal``. Floats never enter the domain: they carry
binary rounding (``0.1 + 0.2 != 0.3``) that would leak into P&L.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from omoitrade.core.errors import ValidationError

ZERO = Decimal(0)


def to_decimal(field: str, value: Any) -> Decimal:
    """``value`` as a finite Decimal; floats and non-numbers are refused with the field named."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool | float):
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
    return result


def require_positive(field: str, value: Decimal) -> None:
    if value <= 0:
        raise ValidationError(field, "must be greater than 0", value)


def require_non_negative(field: str, value: Decimal) -> None:
    if value < 0:
        raise ValidationError(field, "must not be negative", value)


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """Whether ``value`` is a whole number of ``step`` (exactly)."""
    return (value % step) == 0


def round_to_step(value: Decimal, step: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """``value`` rounded to a multiple of ``step``, expressed with the step's exponent."""
    units = (value / step).to_integral_value(rounding=rounding)
    return (units * step).quantize(step)


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded toward zero to a multiple of ``step`` (sizes never round up)."""
    return round_to_step(value, step, ROUND_DOWN)


def require_unit_interval(field: str, value: float) -> None:
    """A score between 0 and 1 inclusive (signal strength)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValidationError(field, "must be a number between 0 and 1", value)
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise ValidationError(field, "must be between 0 and 1", value)
