"""The order journal: where the order manager makes orders, fills and events durable.

The order manager writes through :class:`OrderJournal` before it calls a venue or
publishes anything. ``store.order_journal.SqlOrderJournal`` implements it on the database
(one transaction per write); :class:`InMemoryOrderJournal` keeps it in memory, for
backtests and tests where durability is not the point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from omoitrade.core.errors import Conflict, NotFound
from omoitrade.model.events import DomainEvent
from omoitrade.model.identifiers import ClientOrderId, OrderId, PortfolioId
from omoitrade.model.orders import Order
from omoitrade.model.trades import Trade


class OrderJournal(Protocol):
    """Durable storage of orders, their fills and their events."""

    def write(
        self,
        new_orders: Sequence[Order],
        changed_orders: Sequence[Order],
        trades: Sequence[Trade],
        events: Sequence[DomainEvent],
    ) -> None:
        """Store all of it in one transaction, durably, or raise and store nothing.

        A new order whose client order id the portfolio already used raises Conflict.
        """
        ...

    def order_by_client_id(
        self, portfolio_id: PortfolioId, client_order_id: ClientOrderId
    ) -> Order | None: ...

    def open_orders(self) -> list[Order]:
        """Orders not FILLED, CANCELLED or REJECTED, oldest first."""
        ...

    def trades_of(self, order_id: OrderId) -> list[Trade]: ...


class InMemoryOrderJournal:
    """An :class:`OrderJournal` in memory. It keeps the order objects themselves (the order
    manager is their only writer), so nothing survives the process."""

    def __init__(self) -> None:
        self._orders: dict[OrderId, Order] = {}
        self._stored: set[int] = set()  # id() of the stored order objects
        self._by_client: dict[tuple[PortfolioId, ClientOrderId], OrderId] = {}
        self._trades: dict[OrderId, list[Trade]] = {}
        self.events: list[DomainEvent] = []

    def write(
        self,
        new_orders: Sequence[Order],
        changed_orders: Sequence[Order],
        trades: Sequence[Trade],
        events: Sequence[DomainEvent],
    ) -> None:
        for order in new_orders:
            key = (order.portfolio_id, order.client_order_id)
            if order.id in self._orders or key in self._by_client:
                raise Conflict(f"order {order.id} ({order.client_order_id}) is already stored")
        for order in changed_orders:
            if id(order) not in self._stored:  # a changed order is the object stored
                raise NotFound("order", order.id)
        for order in new_orders:
            self._orders[order.id] = order
            self._stored.add(id(order))
            self._by_client[order.portfolio_id, order.client_order_id] = order.id
        for trade in trades:
            of_order = self._trades.get(trade.order_id)
            if of_order is None:
                self._trades[trade.order_id] = [trade]
            else:
                of_order.append(trade)
        self.events.extend(events)

    def order_by_client_id(
        self, portfolio_id: PortfolioId, client_order_id: ClientOrderId
    ) -> Order | None:
        order_id = self._by_client.get((portfolio_id, client_order_id))
        return None if order_id is None else self._orders[order_id]

    def open_orders(self) -> list[Order]:
        return [o for o in self._orders.values() if o.is_open]

    def trades_of(self, order_id: OrderId) -> list[Trade]:
        return list(self._trades.get(order_id, []))
