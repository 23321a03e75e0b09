"""Foreign-exchange rates for valuing portfolios in their base currency.

A rate is quoted as in the FX market: ``set_rate("EUR", "USD", 1.08)`` means one
EUR is worth 1.08 USD. Converting along a known rate multiplies (exact); the
reverse direction divides, rounded to :data:`INVERSE_PRECISION` significant digits.
No rate is ever guessed: a conversion between currencies with no stored rate
either way raises :class:`MissingFxRate` (no triangulation through a third one).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Context, Decimal

from omoitrade.core.errors import OmoiError, ValidationError
from omoitrade.model.money import EXACT, require_positive, to_decimal
from omoitrade.model.timestamps import require_utc

INVERSE_PRECISION = 28
_INVERSE = Context(prec=INVERSE_PRECISION)


class MissingFxRate(OmoiError):
    """No rate is known to convert between two currencies."""

    code = "missing-fx-rate"

    def __init__(self, from_currency: str, to_currency: str) -> None:
        super().__init__(
            f"no FX rate between {from_currency} and {to_currency}: "
            f"set_rate({from_currency!r}, {to_currency!r}, rate) first"
        )
        self.from_currency = from_currency
        self.to_currency = to_currency


class FxRates:
    """The latest rate per currency pair, with the time it was set."""

    __slots__ = ("_rates",)

    def __init__(self) -> None:
        self._rates: dict[tuple[str, str], tuple[Decimal, datetime | None]] = {}

    def set_rate(self, base: str, quote: str, rate: Decimal, at: datetime | None = None) -> None:
        """Record that one ``base`` is worth ``rate`` ``quote`` (replacing the older rate)."""
        rate = to_decimal("rate", rate)
        require_positive("rate", rate)
        require_utc("at", at)
        if base == quote:
            raise ValidationError("quote", "must differ from the base currency", quote)
        self._rates[(base, quote)] = (rate, at)
        self._rates.pop((quote, base), None)  # the newest quote wins in both directions

    def rate(self, from_currency: str, to_currency: str) -> Decimal:
        """Units of ``to_currency`` per unit of ``from_currency``."""
        if from_currency == to_currency:
            return Decimal(1)
        known = self._rates.get((from_currency, to_currency))
        if known is not None:
            return known[0]
        inverse = self._rates.get((to_currency, from_currency))
        if inverse is not None:
            return _INVERSE.divide(1, inverse[0])
        raise MissingFxRate(from_currency, to_currency)

    def convert(self, amount: Decimal, from_currency: str, to_currency: str) -> Decimal:
        """``amount`` of ``from_currency`` expressed in ``to_currency``."""
        if from_currency == to_currency:
            return amount
        known = self._rates.get((from_currency, to_currency))
        if known is not None:
            return EXACT.multiply(amount, known[0])
        inverse = self._rates.get((to_currency, from_currency))
        if inverse is not None:
            return _INVERSE.divide(amount, inverse[0])
        raise MissingFxRate(from_currency, to_currency)

    def has_rate(self, from_currency: str, to_currency: str) -> bool:
        return (
            from_currency == to_currency
            or (from_currency, to_currency) in self._rates
            or (to_currency, from_currency) in self._rates
        )
