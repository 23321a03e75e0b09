"""Tradable instruments and their price and size grids."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import InstrumentType
from omoitrade.model.fields import normalize_fields
from omoitrade.model.identifiers import InstrumentId
from omoitrade.model.money import (
    floor_to_step,
    is_multiple,
    require_non_negative,
    require_positive,
    round_to_step,
    to_decimal,
)


@dataclass(frozen=True, slots=True)
class Instrument:
    """Something a venue trades: a symbol with a tick size and a lot size.

    Prices are multiples of ``tick_size``; quantities are multiples of
    ``lot_size`` and at least ``min_quantity``.
    """

    id: InstrumentId
    symbol: str
    exchange: str
    instrument_type: InstrumentType
    base_currency: str
    quote_currency: str
    tick_size: Decimal
    lot_size: Decimal
    min_quantity: Decimal
    is_active: bool = True
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        normalize_fields(self)
        for name in ("symbol", "exchange", "base_currency", "quote_currency"):
            if not getattr(self, name):
                raise ValidationError(name, "must not be empty")
        require_positive("tick_size", self.tick_size)
        require_positive("lot_size", self.lot_size)
        require_non_negative("min_quantity", self.min_quantity)
        if not is_multiple(self.min_quantity, self.lot_size):
            raise ValidationError(
                "min_quantity", f"must be a multiple of the lot size {self.lot_size}"
            )

    @classmethod
    def create(cls, exchange: str, symbol: str, **fields: Any) -> Instrument:
        """An instrument whose id is derived from ``exchange`` and ``symbol``."""
        return cls(id=InstrumentId.of(exchange, symbol), symbol=symbol, exchange=exchange, **fields)

    def round_price(self, value: Decimal) -> Decimal:
        """``value`` rounded to the nearest tick (half to even)."""
        return round_to_step(value, self.tick_size)

    def floor_quantity(self, value: Decimal) -> Decimal:
        """``value`` rounded down to whole lots (an order never grows by rounding)."""
        return floor_to_step(value, self.lot_size)

    def price_rule(self, value: Decimal) -> str | None:
        """The rule a price of ``value`` breaks on this instrument, or None if it is valid."""
        value = to_decimal("price", value)
        if value <= 0:
            return "must be greater than 0"
        if not is_multiple(value, self.tick_size):
            return f"must be a multiple of the tick size {self.tick_size}"
        return None

    def quantity_rules(self, value: Decimal) -> list[str]:
        """Every rule a quantity of ``value`` breaks on this instrument (empty if valid).

        A quantity that is not positive breaks only that rule; otherwise it may be
        off the lot grid and below the minimum at once.
        """
        value = to_decimal("quantity", value)
        if value <= 0:
            return ["must be greater than 0"]
        broken = []
        if not is_multiple(value, self.lot_size):
            broken.append(f"must be a multiple of the lot size {self.lot_size}")
        if value < self.min_quantity:
            broken.append(f"must be at least the minimum quantity {self.min_quantity}")
        return broken

    def quantity_rule(self, value: Decimal) -> str | None:
        """The first rule a quantity of ``value`` breaks on this instrument, or None."""
        broken = self.quantity_rules(value)
        return broken[0] if broken else None

    def is_valid_price(self, value: Decimal) -> bool:
        return self.price_rule(value) is None

    def is_valid_quantity(self, value: Decimal) -> bool:
        return self.quantity_rule(value) is None

    def __str__(self) -> str:
        return f"{self.symbol}@{self.exchange}"
