"""What a parent order has done: progress, schedule adherence and cost.

Slippage is the execution-quality measure (``execution.quality``) of the parent taken
as one order whose fills are all its children's fills, against the arrival price:
positive is a cost, for buys and sells alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Context, Decimal

from omoitrade.execution.algos.children import ChildBook
from omoitrade.execution.algos.parent import AlgoId, AlgoStatus, ParentOrder
from omoitrade.execution.quality import OrderQuality
from omoitrade.model.enums import OrderSide, OrderStatus
from omoitrade.model.identifiers import InstrumentId, PortfolioId
from omoitrade.model.money import EXACT

_DIVIDE = Context(prec=28)
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class AlgoReport:
    """A parent order at one moment.

    ``progress_pct`` is filled / quantity in percent (two decimals, rounded down, so 100
    means done). ``scheduled_quantity`` is what the schedule (TWAP, VWAP) or the
    participation rate (POV) asks to be filled by now, None for an iceberg;
    ``schedule_deviation`` is filled minus scheduled (negative: behind), and
    ``schedule_deviation_pct`` that in percent of the parent. Slippage against the
    arrival price is in basis points and in quote currency (None without an arrival
    price or a fill).
    """

    parent_id: AlgoId
    algorithm: str
    portfolio_id: PortfolioId
    instrument_id: InstrumentId
    side: OrderSide
    status: AlgoStatus
    reason: str | None
    quantity: Decimal
    filled_quantity: Decimal
    leaves_quantity: Decimal
    working_quantity: Decimal
    progress_pct: Decimal
    scheduled_quantity: Decimal | None
    schedule_deviation: Decimal | None
    schedule_deviation_pct: Decimal | None
    average_price: Decimal | None
    arrival_price: Decimal | None
    slippage_bps: Decimal | None
    slippage_cost: Decimal | None
    quote_currency: str
    children: int
    open_children: int
    filled_children: int
    rejected_children: int
    started_ns: int | None
    ended_ns: int | None
    at_ns: int


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    return _DIVIDE.divide(part * _HUNDRED, whole).quantize(_CENT, rounding=ROUND_DOWN)


def build_report(
    *,
    parent: ParentOrder,
    algorithm: str,
    status: AlgoStatus,
    reason: str | None,
    children: ChildBook,
    quality: OrderQuality | None,
    scheduled: Decimal | None,
    quote_currency: str,
    started_ns: int | None,
    ended_ns: int | None,
    at_ns: int,
) -> AlgoReport:
    """The report of a parent from its children and its execution-quality record."""
    filled = children.filled()
    deviation = None if scheduled is None else EXACT.subtract(filled, scheduled)
    return AlgoReport(
        parent_id=parent.id,
        algorithm=algorithm,
        portfolio_id=parent.portfolio_id,
        instrument_id=parent.instrument_id,
        side=parent.side,
        status=status,
        reason=reason,
        quantity=parent.quantity,
        filled_quantity=filled,
        leaves_quantity=EXACT.subtract(parent.quantity, filled),
        working_quantity=children.working_quantity(),
        progress_pct=_percent(filled, parent.quantity),
        scheduled_quantity=scheduled,
        schedule_deviation=deviation,
        schedule_deviation_pct=None if deviation is None else _percent(deviation, parent.quantity),
        average_price=None if quality is None else quality.average_price,
        arrival_price=None if quality is None else quality.arrival_price,
        slippage_bps=None if quality is None else quality.slippage_bps,
        slippage_cost=None if quality is None else quality.slippage_cost,
        quote_currency=quote_currency,
        children=len(children),
        open_children=len(children.open()),
        filled_children=children.count(OrderStatus.FILLED),
        rejected_children=children.count(OrderStatus.REJECTED),
        started_ns=started_ns,
        ended_ns=ended_ns,
        at_ns=at_ns,
    )
