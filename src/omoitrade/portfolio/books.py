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
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.model.enums import OrderSide, PositionSide
from omoitrade.model.identifiers import InstrumentId, PortfolioId, PositionId, VenueTradeId
from omoitrade.model.instruments import Instrument
from omoitrade.model.money import ZERO, to_decimal
from omoitrade.model.positions import Position
from omoitrade.portfolio.lots import FifoLots

ONE = Decimal(1)
_AVERAGE = Context(prec=28)  # average entry price is for display; the basis stays exact
_new = object.__new__
# enum members bound once: reading one off its class costs ten times a module constant
_BUY = OrderSide.BUY
_LONG, _SHORT, _FLAT = PositionSide.LONG, PositionSide.SHORT, PositionSide.FLAT


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
        "_ids",
        "_typed",
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
        ids: IdGenerator | None = None,
    ) -> None:
        self.portfolio_id = portfolio_id
        self._ids = ids  # makes the ids of the positions the book opens
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
        # ids of exactly their kinds: new positions need no normalizing (see _new_position)
        self._typed = type(portfolio_id) is PortfolioId and type(instrument.id) is InstrumentId

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
        new_id: PositionId | None = None,
    ) -> FillResult:
        """Apply one fill and revalue the book at ``mark``.

        ``new_id`` is the id of a position the fill opens (by default one is drawn
        from ``ids``, only when the fill opens one).
        """
        result = FillResult()
        delta = quantity if side is _BUY else -quantity
        signed = before = self.signed_quantity
        cost = old_cost = self.cost_basis
        position = self.position
        old_unrealized = ZERO if position is None else position.unrealized_pnl
        realized = ZERO
        remainder = quantity
        closed = None
        if before:
            if (before > 0) != (delta > 0):  # reducing, closing or flipping
                held = abs(before)
                closing = min(quantity, held)
                closed_signed = closing if before > 0 else -closing
                removed = cost if closing == held else _share(cost, closing, held)
                realized = result.realized_pnl = closed_signed * price - removed
                cost -= removed
                signed = before - closed_signed
                remainder = quantity - closing
            assert position is not None  # a book holding something has its position
            position.realized_pnl += realized
            if not signed:
                closed = result.closed = position
        if self.fifo is not None:
            self.fifo.apply(delta, price, at)
        if remainder:
            opened_signed = remainder if delta > 0 else -remainder
            cost += opened_signed * price
            signed += opened_signed
            if not before or closed is not None:
                position_id = PositionId.new(self._ids) if new_id is None else new_id
                position = self.position = self._new_position(position_id, at)
                self.commission = ZERO
                result.opened = position
        assert position is not None
        if closed is None and result.opened is None:
            result.changed = position
        self.cost_basis = cost
        self.signed_quantity = signed

        # cash: notional for funded instruments, realized P&L for leveraged ones; fees always
        balance = self.balance
        leveraged = self.leveraged
        if leveraged:
            balance.cash += realized
        else:
            balance.cash -= delta * price
        balance.cash -= commission
        balance.commission += commission
        balance.realized_pnl += realized
        self.commission += commission
        self.total_commission += commission
        self.total_realized_pnl += realized

        size = abs(signed)
        if closed is not None:
            _describe_flat(closed, at)
        if position is not closed:
            if signed:
                position.side = _LONG if signed > 0 else _SHORT
                position.quantity = size
                position.average_entry_price = _AVERAGE.divide(abs(cost), size)
                position.updated_at = at
            else:
                _describe_flat(position, at)
        # the closed position's unrealized P&L is gone; the open one is valued at the mark.
        # Holdings are unrealized P&L (leveraged) or market value = unrealized + basis (funded);
        # weight * mark is the margin used (leveraged) or the gross funded value.
        unrealized = signed * mark - cost
        change = unrealized - old_unrealized
        balance.unrealized_pnl += change
        if leveraged:
            balance.holdings += change
            weight = self.weight = size * self.margin_rate
            requirement = weight * mark
            balance.margin_used += requirement - self.requirement
        else:
            balance.holdings += change + (cost - old_cost)
            weight = self.weight = size  # times a margin rate of 1: the same Decimal
            requirement = weight * mark
            balance.funded_value += requirement - self.requirement
        self.requirement = requirement
        if signed:
            position.unrealized_pnl = unrealized
            position.current_price = mark
            position.margin_used = requirement if leveraged else ZERO
        return result

    def _new_position(self, position_id: PositionId, at: datetime) -> Position:
        """A new FLAT position opened at ``at`` (the caller describes it next).

        When the ids have exactly their kinds and ``at`` is in UTC (the usual case),
        the fields are set directly: ``Position.__post_init__`` would change nothing
        and refuse nothing (typed ids, UTC, FLAT with zero quantity), and its checks
        cost about as much as the rest of the fill.
        """
        if not (
            self._typed
            and type(position_id) is PositionId
            and type(at) is datetime
            and at.tzinfo is UTC
        ):
            return Position(
                id=position_id,
                portfolio_id=self.portfolio_id,
                instrument_id=self.instrument.id,
                opened_at=at,
            )
        position: Position = _new(Position)
        position.id = position_id
        position.portfolio_id = self.portfolio_id
        position.instrument_id = self.instrument.id
        position.opened_at = at
        position.side = _FLAT
        position.quantity = ZERO
        position.average_entry_price = None
        position.current_price = None
        position.unrealized_pnl = ZERO
        position.realized_pnl = ZERO
        position.margin_used = ZERO
        position.updated_at = at
        return position

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


def _describe_flat(position: Position, at: datetime) -> None:
    """Mark ``position`` closed (FLAT, nothing held, nothing unrealized) at ``at``."""
    position.side = _FLAT
    position.quantity = ZERO
    position.average_entry_price = None
    position.unrealized_pnl = ZERO
    position.margin_used = ZERO
    position.updated_at = at
