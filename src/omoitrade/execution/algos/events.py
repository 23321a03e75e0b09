"""What algorithms publish on the bus, under ``execution.algo.*``.

Plain frozen dataclasses, not domain events: they are notices for screens and
strategies (like ``execution.venue_circuit``), not stored facts; the children's own
order events are the durable record.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from omoitrade.execution.algos.parent import AlgoId
from omoitrade.execution.algos.report import AlgoReport
from omoitrade.model.enums import OrderType
from omoitrade.model.identifiers import ClientOrderId

ALGO_TOPICS = "execution.algo.*"


@dataclass(frozen=True, slots=True)
class AlgoStarted:
    topic: ClassVar[str] = "execution.algo.started"
    parent_id: AlgoId
    algorithm: str
    arrival_price: Decimal | None
    at_ns: int


@dataclass(frozen=True, slots=True)
class AlgoChildSent:
    topic: ClassVar[str] = "execution.algo.child_sent"
    parent_id: AlgoId
    sequence: int
    client_order_id: ClientOrderId
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    at_ns: int


@dataclass(frozen=True, slots=True)
class AlgoChildRejected:
    topic: ClassVar[str] = "execution.algo.child_rejected"
    parent_id: AlgoId
    sequence: int
    client_order_id: ClientOrderId
    reason: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class AlgoProgress:
    """A child filled: the parent's report after it."""

    topic: ClassVar[str] = "execution.algo.progress"
    report: AlgoReport


@dataclass(frozen=True, slots=True)
class AlgoEnded:
    """The parent reached a final status; ``report.reason`` says why when it did not
    complete."""

    topic: ClassVar[str] = "execution.algo.ended"
    report: AlgoReport


@dataclass(frozen=True, slots=True)
class AlgoCompleted(AlgoEnded):
    topic: ClassVar[str] = "execution.algo.completed"


@dataclass(frozen=True, slots=True)
class AlgoCancelled(AlgoEnded):
    topic: ClassVar[str] = "execution.algo.cancelled"


@dataclass(frozen=True, slots=True)
class AlgoFailed(AlgoEnded):
    topic: ClassVar[str] = "execution.algo.failed"


@dataclass(frozen=True, slots=True)
class AlgoExpired(AlgoEnded):
    topic: ClassVar[str] = "execution.algo.expired"


AlgoEvent = AlgoStarted | AlgoChildSent | AlgoChildRejected | AlgoProgress | AlgoEnded
