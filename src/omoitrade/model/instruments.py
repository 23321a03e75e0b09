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

    def is_valid_price(self, value: Decimal) -> bool:
        return value > 0 and is_multiple(value, self.tick_size)

    def is_valid_quantity(self, value: Decimal) -> bool:
        return value > 0 and value >= self.min_quantity and is_multiple(value, self.lot_size)

    def __str__(self) -> str:
        return f"{self.symbol}@{self.exchange}"
