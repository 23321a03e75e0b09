"""Per-currency balances of a portfolio and the book of one position, built from fills.

Accounting method: **average cost**. A position keeps its signed cost basis (the
sum of ``quantity * price`` of what is still open; negative for a short). Adding to
a position adds to the basis; reducing it takes the closed fraction of the basis
out and realizes ``closed quantity * fill price - removed basis``. The removed
basis is rounded to the basis's own exponent when the fraction does not divide
exactly, and exactly that amount leaves the basis, so realized plus unrealized
P&L always equals the exact cash-flow P&L (nothing is lost to rounding).

A fill larger than the position closes it and opens the opposite side with the
remainder at the fill price (a flip). Commissions are paid from cash in the
instrument's quote currency and are kept per position; realized P&L excludes them.

Two kinds of instrument, by ``instrument.metadata["margin_rate"]``:

* fully funded (rate 1 or absent): a buy pays its notional from cash, a sell
  receives it; the position's market value counts in equity; no margin is used.
* leveraged (0 < rate < 1): no notional changes hands; realized P&L settles to
  cash; the unrealized P&L counts in equity; margin used is
  ``|quantity| * mark * rate``.
"""

from __future__ import annotations

from copy import copy
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide, PositionSide
from omoitrade.model.identifiers import PortfolioId, PositionId, VenueTradeId
from omoitrade.model.instruments import Instrument
from omoitrade.model.money import ZERO, to_decimal
from omoitrade.model.positions import Position
from omoitrade.portfolio.lots import FifoLots

ONE = Decimal(1)
_AVERAGE = Context(prec=28)  # average entry price is for display; the basis stays exact


def margin_rate(instrument: Instrument) -> Decimal:
    """The instrument's margin rate (``metadata["margin_rate"]``, 1 when absent)."""
    raw: Any = instrument.metadata.get("margin_rate")
    if raw is None:
        return ONE
    if isinstance(raw, float):  # metadata is JSON: take the shortest decimal spelling
        raw = repr(raw)
    rate = to_decimal("margin_rate", raw)
    if not ZERO < rate <= ONE:
        raise ValidationError("margin_rate", "must be greater than 0 and at most 1", raw)
    return rate


def _share(basis: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """``basis * part / whole`` rounded (half even) to the exponent of ``basis``."""
    exponent = basis.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    return _AVERAGE.divide(basis * part, whole).quantize(
        Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN
    )


class CurrencyBalance:
    """A portfolio's money in one currency, kept current on every fill and mark.

    ``holdings`` is the non-cash part of equity: the market value of fully funded
    positions plus the unrealized P&L of leveraged ones; equity is cash plus holdings.
    """

    __slots__ = (
        "cash",
        "commission",
        "currency",
        "funded_value",
        "holdings",
        "margin_used",
        "realized_pnl",
        "unrealized_pnl",
    )

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.cash = ZERO
        self.holdings = ZERO
        self.unrealized_pnl = ZERO
        self.realized_pnl = ZERO
        self.commission = ZERO
        self.margin_used = ZERO
        self.funded_value = ZERO  # gross |quantity| * mark of fully funded positions

    @property
    def equity(self) -> Decimal:
        return self.cash + self.holdings


class FillResult:
    """What one fill did to a book: the realized P&L, and the positions it closed and opened."""

    __slots__ = ("changed", "closed", "opened", "realized_pnl")

    def __init__(self) -> None:
        self.realized_pnl = ZERO
        self.closed: Position | None = None
        self.opened: Position | None = None
        self.changed: Position | None = None


class PositionBook:
    """Everything a portfolio holds and has earned in one instrument.

    ``position`` is the current position (or the last one, FLAT, once closed).
    Arithmetic must run in an exact decimal context (the ledger provides it).
    """

    __slots__ = (
        "balance",
        "commission",
        "cost_basis",
        "fifo",
        "instrument",
        "leveraged",
        "margin_rate",
        "portfolio_id",
        "position",
        "requirement",
        "signed_quantity",
        "total_commission",
        "total_realized_pnl",
        "trade_ids",
        "weight",
    )

    def __init__(
        self,
        portfolio_id: PortfolioId,
        instrument: Instrument,
        balance: CurrencyBalance,
        fifo: bool,
    ) -> None:
        self.portfolio_id = portfolio_id
        self.instrument = instrument
        self.balance = balance
        self.margin_rate = margin_rate(instrument)
        self.leveraged = self.margin_rate < ONE
        self.position: Position | None = None
        self.signed_quantity = ZERO
        self.cost_basis = ZERO
        self.weight = ZERO  # |quantity| * margin rate (leveraged) or |quantity| (funded)
        self.requirement = ZERO  # weight * mark: margin used, or gross funded value
        self.commission = ZERO  # of the current position
        self.total_commission = ZERO
        self.total_realized_pnl = ZERO
        self.trade_ids: set[VenueTradeId] = set()
        self.fifo = FifoLots() if fifo else None

    @property
    def is_open(self) -> bool:
        return bool(self.signed_quantity)

    def snapshot(self) -> Position | None:
        """A copy of the current position, safe to keep."""
        return copy(self.position) if self.position is not None else None

    def fill(
        self,
        side: OrderSide,
        quantity: Decimal,
        price: Decimal,
        commission: Decimal,
        mark: Decimal,
        at: datetime,
        new_id: PositionId,
    ) -> FillResult:
        """Apply one fill and revalue the book at ``mark``."""
        result = FillResult()
        delta = quantity if side is OrderSide.BUY else -quantity
        before = self.signed_quantity
        balance = self.balance
        old_unrealized = self.position.unrealized_pnl if self.position is not None else ZERO
        old_cost = self.cost_basis
        if before and (before > 0) != (delta > 0):  # reducing, closing or flipping
            closing = min(quantity, abs(before))
            closed_signed = closing if before > 0 else -closing
            if closing == abs(before):
                removed = self.cost_basis
            else:
                removed = _share(self.cost_basis, closing, abs(before))
            result.realized_pnl = closed_signed * price - removed
            self.cost_basis -= removed
            self.signed_quantity = before - closed_signed
            remainder = quantity - closing
        else:
            remainder = quantity
        if self.fifo is not None:
            self.fifo.apply(delta, price, at)

        position = self.position
        if position is not None and before:
            position.realized_pnl += result.realized_pnl
            if not self.signed_quantity:
                result.closed = position
        if remainder:
            opened_signed = remainder if delta > 0 else -remainder
            self.cost_basis += opened_signed * price
            self.signed_quantity += opened_signed
            if not before or result.closed is not None:
                position = self.position = Position(
                    id=new_id,
                    portfolio_id=self.portfolio_id,
                    instrument_id=self.instrument.id,
                    opened_at=at,
                )
                self.commission = ZERO
                result.opened = position
        assert position is not None
        if result.closed is None and result.opened is None:
            result.changed = position

        # cash: notional for funded instruments, realized P&L for leveraged ones; fees always
        if self.leveraged:
            balance.cash += result.realized_pnl
        else:
            balance.cash -= delta * price
        balance.cash -= commission
        balance.commission += commission
        balance.realized_pnl += result.realized_pnl
        self.commission += commission
        self.total_commission += commission
        self.total_realized_pnl += result.realized_pnl

        self._describe(result.closed, at)
        if position is not result.closed:
            self._describe(position, at)
        # the closed position's unrealized P&L is gone; the open one is valued at the mark.
        # Holdings are unrealized P&L (leveraged) or market value = unrealized + basis (funded).
        unrealized = self.signed_quantity * mark - self.cost_basis
        change = unrealized - old_unrealized
        balance.unrealized_pnl += change
        if not self.leveraged:
            change += self.cost_basis - old_cost
        balance.holdings += change
        self.weight = abs(self.signed_quantity) * (self.margin_rate if self.leveraged else ONE)
        self._settle_requirement(self.weight * mark)
        if self.signed_quantity:
            position.unrealized_pnl = unrealized
            position.current_price = mark
            position.margin_used = self.requirement if self.leveraged else ZERO
        return result

    def revalue(self, price: Decimal, at: datetime) -> None:
        """Mark the open position at ``price`` and move the balance by the change."""
        position = self.position
        assert position is not None
        unrealized = self.signed_quantity * price - self.cost_basis
        change = unrealized - position.unrealized_pnl
        balance = self.balance
        balance.holdings += change
        balance.unrealized_pnl += change
        requirement = self.weight * price
        if self.leveraged:
            balance.margin_used += requirement - self.requirement
            position.margin_used = requirement
        else:
            balance.funded_value += requirement - self.requirement
        self.requirement = requirement
        position.unrealized_pnl = unrealized
        position.current_price = price
        position.updated_at = at

    def _settle_requirement(self, requirement: Decimal) -> None:
        if self.leveraged:
            self.balance.margin_used += requirement - self.requirement
        else:
            self.balance.funded_value += requirement - self.requirement
        self.requirement = requirement

    def _describe(self, position: Position | None, at: datetime) -> None:
        """Write the book's quantity, side and average into ``position``."""
        if position is None:
            return
        quantity = self.signed_quantity if position is self.position else ZERO
        if position is not self.position or not quantity:
            position.side = PositionSide.FLAT
            position.quantity = ZERO
            position.average_entry_price = None
            position.unrealized_pnl = ZERO
            position.margin_used = ZERO
        else:
            position.side = PositionSide.LONG if quantity > 0 else PositionSide.SHORT
            position.quantity = abs(quantity)
            position.average_entry_price = _AVERAGE.divide(abs(self.cost_basis), abs(quantity))
        position.updated_at = at
