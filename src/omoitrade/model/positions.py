"""Positions: what a portfolio holds in one instrument, and what it has earned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import PositionSide
from omoitrade.model.fields import normalize_fields, require_timestamp
from omoitrade.model.identifiers import InstrumentId, PortfolioId, PositionId
from omoitrade.model.money import ZERO, require_non_negative, to_decimal
from omoitrade.model.timestamps import require_utc


@dataclass(slots=True, eq=False)
class Position:
    """A holding: ``quantity`` is always non-negative and ``side`` says its direction.

    A FLAT position has zero quantity; a LONG or SHORT one has more than zero.
    """

    id: PositionId
    portfolio_id: PortfolioId
    instrument_id: InstrumentId
    opened_at: datetime
    side: PositionSide = PositionSide.FLAT
    quantity: Decimal = ZERO
    average_entry_price: Decimal | None = None
    current_price: Decimal | None = None
    unrealized_pnl: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    margin_used: Decimal = ZERO
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        normalize_fields(self)
        require_utc("opened_at", self.opened_at)
        require_utc("updated_at", self.updated_at)
        require_non_negative("quantity", self.quantity)
        require_non_negative("margin_used", self.margin_used)
        if (self.side is PositionSide.FLAT) != (self.quantity == 0):
            raise ValidationError("side", "must be FLAT exactly when quantity is 0", self.side)
        if self.updated_at is None:
            self.updated_at = self.opened_at

    @property
    def signed_quantity(self) -> Decimal:
        """Positive when long, negative when short."""
        return -self.quantity if self.side is PositionSide.SHORT else self.quantity

    def mark(self, price: Decimal, at: datetime) -> Decimal:
        """Revalue at ``price``; returns and stores the unrealized P&L."""
        price = to_decimal("price", price)
        require_timestamp("at", at)
        self.current_price = price
        if self.average_entry_price is None or self.quantity == 0:
            self.unrealized_pnl = ZERO
        else:
            self.unrealized_pnl = (price - self.average_entry_price) * self.signed_quantity
        self.updated_at = at
        return self.unrealized_pnl
