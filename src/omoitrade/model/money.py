"""Exact decimal arithmetic helpers: checks and quantization to tick and lot.

Money and sizes are ``Decimal``. Floats never enter the domain: they carry
binary rounding (``0.1 + 0.2 != 0.3``) that would leak into P&L.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from typing import Any

from omoitrade.core.errors import ValidationError

ZERO = Decimal(0)


def to_decimal(field: str, value: Any) -> Decimal:
    """``value`` as a finite Decimal; floats and non-numbers are refused with the field named."""
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
    return result


def require_positive(field: str, value: Decimal) -> None:
    if value <= 0:
        raise ValidationError(field, "must be greater than 0", value)


def require_non_negative(field: str, value: Decimal) -> None:
    if value < 0:
        raise ValidationError(field, "must not be negative", value)


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """Whether ``value`` is a whole number of ``step`` (exactly).

    Works on the integer coefficients, so it answers (rather than raising
    ``InvalidOperation``) however many steps ``value`` holds.
    """
    if not (value.is_finite() and step.is_finite()) or step == 0:
        return (value % step) == 0  # the decimal module's own answer (or error)
    _, v_digits, v_exp = value.as_tuple()
    _, s_digits, s_exp = step.as_tuple()
    assert isinstance(v_exp, int) and isinstance(s_exp, int)  # finite values have int exponents
    v_coef = int("".join(map(str, v_digits)))
    s_coef = int("".join(map(str, s_digits)))
    if v_coef == 0:
        return True
    if v_exp >= s_exp:  # value / step = v_coef * 10**(v_exp - s_exp) / s_coef
        return v_coef * pow(10, v_exp - s_exp, s_coef) % s_coef == 0
    shift = s_exp - v_exp  # value / step = v_coef / (s_coef * 10**shift)
    return shift <= len(v_digits) and v_coef % (s_coef * 10**shift) == 0


def round_to_step(value: Decimal, step: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """``value`` rounded to a multiple of ``step``, expressed with the step's exponent.

    The quotient is split exactly into whole steps and a remainder, so a value
    with as many digits as the context precision is rounded once, not twice
    (``value / step`` would round first and could make a floor round up).
    """
    if not (value.is_finite() and step.is_finite()):
        return (value / step).quantize(step)  # NaN stays NaN, infinities raise, as before
    step_digits = len(step.as_tuple().digits)
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, len(value.as_tuple().digits), step_digits) + 4
        whole, rest = divmod(value, step)  # whole toward zero; rest exact, with value's sign
        ctx.prec += step_digits + 4  # room for whole + fraction and units * step, exactly
        if rest:
            # Stand-in fraction with the same side of one half as rest / step.
            half = int(abs(rest).compare(abs(step) / 2))
            whole += (Decimal("0.25"), Decimal("0.5"), Decimal("0.75"))[half + 1].copy_sign(value)
        units = whole.to_integral_value(rounding=rounding)
        return (units * step).quantize(step)


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded toward zero to a multiple of ``step`` (sizes never round up)."""
    return round_to_step(value, step, ROUND_DOWN)


def require_unit_interval(field: str, value: float) -> None:
    """A score between 0 and 1 inclusive (signal strength)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValidationError(field, "must be a number between 0 and 1", value)
    try:
        finite = math.isfinite(value)
    except ValueError:  # a signaling NaN cannot even be asked
        finite = False
    if not finite or not 0 <= value <= 1:
        raise ValidationError(field, "must be between 0 and 1", value)
