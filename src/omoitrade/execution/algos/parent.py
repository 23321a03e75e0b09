"""The parent order of an execution algorithm: what to do, and its lifecycle.

A parent owns child orders whose client order ids are derived from its id and a
sequence number (``<parent id>:<n>``), so a restarted algorithm finds the children it
already sent instead of sending them again. Its status moves only through
:data:`ALGO_LIFECYCLE`:

    PENDING -> WORKING -> COMPLETED
    PENDING | WORKING -> STOPPING -> CANCELLED | FAILED | EXPIRED (or COMPLETED)

STOPPING lasts while the cancels of its working children are in flight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from omoitrade.core.errors import ValidationError
from omoitrade.core.fsm import TransitionTable
from omoitrade.core.ids import StrIdentifier
from omoitrade.model.enums import OrderSide
from omoitrade.model.identifiers import (
    ClientOrderId,
    InstrumentId,
    PortfolioId,
    SignalId,
    StrategyId,
    child_order_id,
    parent_order_of,
)
from omoitrade.model.instruments import Instrument
from omoitrade.model.money import require_positive, to_decimal


class AlgoId(StrIdentifier):
    """The id of a parent order; short enough to prefix its children's client order ids."""

    __slots__ = ()
    max_length: ClassVar[int] = 48
    pattern: ClassVar[re.Pattern[str]] = re.compile(r"[A-Za-z0-9._\-]+")
    rule: ClassVar[str] = "letters, digits and . _ -"


def child_client_order_id(parent_id: AlgoId, sequence: int) -> ClientOrderId:
    """The client order id of child number ``sequence`` (from 1) of ``parent_id``."""
    return child_order_id(str(parent_id), sequence)


def parent_of(client_order_id: str) -> AlgoId | None:
    """The parent id a child's client order id names, or None for any other order."""
    head = parent_order_of(client_order_id)
    if head is None:
        return None
    try:
        return AlgoId(head)
    except ValidationError:
        return None


class AlgoStatus(StrEnum):
    PENDING = "PENDING"  # accepted, waiting for its start time
    WORKING = "WORKING"
    STOPPING = "STOPPING"  # cancels of its working children are in flight
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"  # its end time came with quantity left


class AlgoTrigger(StrEnum):
    START = "START"
    COMPLETE = "COMPLETE"
    STOP = "STOP"
    CANCEL = "CANCEL"
    FAIL = "FAIL"
    EXPIRE = "EXPIRE"


_A, _T = AlgoStatus, AlgoTrigger
ALGO_LIFECYCLE: TransitionTable[AlgoStatus, AlgoTrigger] = TransitionTable(
    "AlgoOrder",
    {
        (_A.PENDING, _T.START): _A.WORKING,
        (_A.PENDING, _T.STOP): _A.STOPPING,
        (_A.WORKING, _T.COMPLETE): _A.COMPLETED,
        (_A.WORKING, _T.STOP): _A.STOPPING,
        (_A.STOPPING, _T.COMPLETE): _A.COMPLETED,
        (_A.STOPPING, _T.CANCEL): _A.CANCELLED,
        (_A.STOPPING, _T.FAIL): _A.FAILED,
        (_A.STOPPING, _T.EXPIRE): _A.EXPIRED,
    },
    initial=_A.PENDING,
    states=AlgoStatus,
)


@dataclass(frozen=True, slots=True)
class ParentOrder:
    """What the algorithm must do: ``quantity`` of an instrument, between start and end.

    ``start_ns`` None starts at once; ``end_ns`` is required by the scheduled algorithms
    (TWAP, VWAP) and optional for the others. ``limit_price`` caps every child (no buy
    above it, no sell below it). ``arrival_price`` is the benchmark of the slippage
    report: by default the mid when the algorithm starts (pass the original one when
    recreating a parent after a restart).
    """

    id: AlgoId
    portfolio_id: PortfolioId
    instrument_id: InstrumentId
    side: OrderSide
    quantity: Decimal
    start_ns: int | None = None
    end_ns: int | None = None
    limit_price: Decimal | None = None
    arrival_price: Decimal | None = None
    strategy_id: StrategyId | None = None
    signal_id: SignalId | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", AlgoId(self.id))
        if not isinstance(self.side, OrderSide):
            raise ValidationError("side", "must be an OrderSide", self.side)
        quantity = to_decimal("quantity", self.quantity)
        require_positive("quantity", quantity)
        object.__setattr__(self, "quantity", quantity)
        for name in ("limit_price", "arrival_price"):
            value = getattr(self, name)
            if value is not None:
                value = to_decimal(name, value)
                require_positive(name, value)
                object.__setattr__(self, name, value)
        for name in ("start_ns", "end_ns"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise ValidationError(name, "must be an int (ns since the epoch)", value)
        if self.start_ns is not None and self.end_ns is not None and self.end_ns <= self.start_ns:
            raise ValidationError("end_ns", "must be after start_ns", self.end_ns)

    def check_against(self, instrument: Instrument) -> None:
        """Raise a ValidationError if the quantity or limit breaks the instrument's grid."""
        if instrument.id != self.instrument_id:
            raise ValidationError("instrument_id", f"is not {instrument}", self.instrument_id)
        rule = instrument.quantity_rule(self.quantity)
        if rule is not None:
            raise ValidationError("quantity", rule, self.quantity)
        if self.limit_price is not None:
            price_rule = instrument.price_rule(self.limit_price)
            if price_rule is not None:
                raise ValidationError("limit_price", price_rule, self.limit_price)
