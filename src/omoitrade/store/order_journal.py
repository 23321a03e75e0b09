"""The order journal on the database: orders, fills and events in one transaction.

It has the shape of ``execution.journal.OrderJournal`` (the order manager's protocol):
a write commits durably (SQLite with ``synchronous=FULL``; PostgreSQL on commit) before
the order manager calls a venue or publishes an event.
"""

from __future__ import annotations

from collections.abc import Sequence

from omoitrade.model.events import DomainEvent
from omoitrade.model.identifiers import ClientOrderId, OrderId, PortfolioId
from omoitrade.model.orders import Order
from omoitrade.model.trades import Trade
from omoitrade.store.database import Database


class SqlOrderJournal:
    """Orders in ``orders``, fills in ``trades``, their events in the event store."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def write(
        self,
        new_orders: Sequence[Order],
        changed_orders: Sequence[Order],
        trades: Sequence[Trade],
        events: Sequence[DomainEvent],
    ) -> None:
        """One transaction; a taken client order id raises Conflict (from the repository).

        No savepoints: any refusal abandons the whole write.
        """
        with self.database.transaction() as uow:
            if new_orders:
                uow.orders.add_all(new_orders, savepoint=False)
            if changed_orders:
                uow.orders.update_all(changed_orders, savepoint=False)
            if trades:
                uow.trades.add_all(trades, savepoint=False)
            if events:
                uow.events.append_all(events)

    def order_by_client_id(
        self, portfolio_id: PortfolioId, client_order_id: ClientOrderId
    ) -> Order | None:
        with self.database.transaction(write=False) as uow:
            return uow.orders.by_client_order_id(portfolio_id, client_order_id)

    def open_orders(self) -> list[Order]:
        with self.database.transaction(write=False) as uow:
            return uow.orders.open_orders()

    def trades_of(self, order_id: OrderId) -> list[Trade]:
        with self.database.transaction(write=False) as uow:
            return uow.trades.for_order(order_id)
