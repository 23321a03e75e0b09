"""FIFO lots: a reporting view of a position that realizes P&L first-in, first-out.

The ledger's own accounting is by average cost (see :mod:`omoitrade.portfolio.books`);
FIFO lots are kept alongside it on request, for reports and tax views. Both methods
agree on the total P&L (realized plus unrealized) at every mark, exactly; they differ
only in how much of it counts as realized.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext

from omoitrade.model.money import EXACT, ZERO


@dataclass(frozen=True, slots=True)
class Lot:
    """An open lot: ``quantity`` is signed (negative for a short lot) at its fill price."""

    quantity: Decimal
    price: Decimal
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class FifoLotReport:
    """Open lots (oldest first) and the P&L realized by matching closes first-in, first-out."""

    lots: tuple[Lot, ...]
    realized_pnl: Decimal

    @property
    def quantity(self) -> Decimal:
        return sum((lot.quantity for lot in self.lots), ZERO)

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """What the open lots would realize at ``mark``."""
        return sum((EXACT.multiply(lot.quantity, mark - lot.price) for lot in self.lots), ZERO)


class FifoLots:
    """Open lots of one position in one instrument, closed oldest first."""

    __slots__ = ("_lots", "realized_pnl")

    def __init__(self) -> None:
        self._lots: deque[Lot] = deque()
        self.realized_pnl = ZERO

    def apply(self, signed_quantity: Decimal, price: Decimal, at: datetime) -> Decimal:
        """Apply a fill (positive buys, negative sells); returns the P&L it realized."""
        with localcontext(EXACT):
            return self._apply(signed_quantity, price, at)

    def _apply(self, signed_quantity: Decimal, price: Decimal, at: datetime) -> Decimal:
        lots = self._lots
        remaining = signed_quantity
        realized = ZERO
        while remaining and lots and (lots[0].quantity > 0) != (remaining > 0):
            oldest = lots[0]
            closed = min(abs(remaining), abs(oldest.quantity))
            closed_signed = closed if oldest.quantity > 0 else -closed
            realized += closed_signed * (price - oldest.price)
            remaining += closed_signed
            left = oldest.quantity - closed_signed
            if left:
                lots[0] = Lot(left, oldest.price, oldest.opened_at)
            else:
                lots.popleft()
        if remaining:
            lots.append(Lot(remaining, price, at))
        self.realized_pnl += realized
        return realized

    def report(self) -> FifoLotReport:
        return FifoLotReport(tuple(self._lots), self.realized_pnl)
