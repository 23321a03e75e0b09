"""The child orders of one parent, as the parent sees them from the order events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from omoitrade.model.enums import OrderStatus, OrderType
from omoitrade.model.identifiers import ClientOrderId, OrderId
from omoitrade.model.money import EXACT, ZERO

_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED})


@dataclass(slots=True, eq=False)
class ChildOrder:
    """One child: what was sent and what became of it."""

    sequence: int
    client_order_id: ClientOrderId
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    sent_ns: int
    order_id: OrderId | None = None
    status: OrderStatus = OrderStatus.SUBMITTED
    filled: Decimal = ZERO
    cancel_requested: bool = False
    reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in _TERMINAL

    @property
    def leaves(self) -> Decimal:
        """What may still fill: zero once the child is finished."""
        return EXACT.subtract(self.quantity, self.filled) if self.is_open else ZERO


class ChildBook:
    """The children of one parent by sequence, client order id and order id."""

    def __init__(self) -> None:
        self._by_sequence: dict[int, ChildOrder] = {}
        self._by_client: dict[ClientOrderId, ChildOrder] = {}
        self._by_order: dict[OrderId, ChildOrder] = {}

    def add(self, child: ChildOrder) -> None:
        self._by_sequence[child.sequence] = child
        self._by_client[child.client_order_id] = child
        if child.order_id is not None:
            self._by_order[child.order_id] = child

    def link(self, child: ChildOrder, order_id: OrderId) -> None:
        """Note the order manager's id of a child."""
        child.order_id = order_id
        self._by_order[order_id] = child

    def by_client(self, client_order_id: ClientOrderId) -> ChildOrder | None:
        return self._by_client.get(client_order_id)

    def by_order(self, order_id: OrderId) -> ChildOrder | None:
        return self._by_order.get(order_id)

    def __iter__(self) -> Iterator[ChildOrder]:
        return iter(self._by_sequence.values())

    def __len__(self) -> int:
        return len(self._by_sequence)

    def open(self) -> list[ChildOrder]:
        return [c for c in self._by_sequence.values() if c.is_open]

    def working_quantity(self) -> Decimal:
        """The leaves of the open children (cancels in flight included)."""
        total = ZERO
        for child in self._by_sequence.values():
            if child.is_open:
                total = EXACT.add(total, child.leaves)
        return total

    def filled(self) -> Decimal:
        total = ZERO
        for child in self._by_sequence.values():
            total = EXACT.add(total, child.filled)
        return total

    def count(self, status: OrderStatus) -> int:
        return sum(1 for c in self._by_sequence.values() if c.status is status)
