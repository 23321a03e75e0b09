"""A parent's schedule: the fraction of it that should be done by each moment.

The horizon ``[start, end]`` is cut into equal buckets, each with a weight (the
weights sum to one); within a bucket the fraction grows linearly. One bucket is TWAP's
straight line; a volume profile's buckets are VWAP's curve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Context, Decimal
from fractions import Fraction

from omoitrade.core.errors import ValidationError
from omoitrade.model.money import EXACT, to_decimal

_DIVIDE = Context(prec=28)


def normalized(weights: Sequence[Decimal], field: str = "weights") -> tuple[Decimal, ...]:
    """``weights`` scaled to sum to one (28 digits); refuses negatives and an all-zero set."""
    checked = [to_decimal(field, w) for w in weights]
    if not checked:
        raise ValidationError(field, "must not be empty")
    if any(w < 0 for w in checked):
        raise ValidationError(field, "must not be negative", weights)
    total = sum(checked, Decimal(0))
    if total <= 0:
        raise ValidationError(field, "must not all be zero", weights)
    return tuple(_DIVIDE.divide(w, total) for w in checked)


@dataclass(frozen=True, slots=True)
class Schedule:
    """Cumulative target fractions over ``[start_ns, end_ns]``; see the module docstring.

    Fractions are exact (``Fraction``), so a parent cut into equal parts gets equal parts.
    """

    start_ns: int
    end_ns: int
    weights: tuple[Decimal, ...] = (Decimal(1),)

    def __post_init__(self) -> None:
        if self.end_ns <= self.start_ns:
            raise ValidationError("end_ns", "must be after start_ns", self.end_ns)
        normalized(self.weights)  # checks them

    def fraction_at(self, at_ns: int) -> Fraction:
        """The share of the parent that should be done at ``at_ns`` (0 before, 1 at the end)."""
        if at_ns <= self.start_ns:
            return Fraction(0)
        if at_ns >= self.end_ns:
            return Fraction(1)
        weights = [Fraction(w) for w in self.weights]
        position = Fraction(at_ns - self.start_ns, self.end_ns - self.start_ns) * len(weights)
        index = int(position)
        done = sum(weights[:index], Fraction(0)) + weights[index] * (position - index)
        return done / sum(weights, Fraction(0))


def share_of(quantity: Decimal, fraction: Fraction, lot: Decimal) -> Decimal:
    """``fraction`` of ``quantity`` rounded down to whole lots (exactly ``quantity`` at 1)."""
    if fraction >= 1:
        return quantity
    lots = math.floor(Fraction(quantity) * fraction / Fraction(lot))
    return EXACT.multiply(Decimal(lots), lot)
