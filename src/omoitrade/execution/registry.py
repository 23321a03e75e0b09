"""The order manager's memory of its orders: by id, by client order id, by venue account."""

from __future__ import annotations

from omoitrade.model.identifiers import (
    AccountId,
    ClientOrderId,
    OrderId,
    PortfolioId,
    VenueTradeId,
)
from omoitrade.model.orders import Order


class OrderRegistry:
    """Orders known to this process, and the venue trade ids already applied to them.

    Open orders stay until they finish; finished ones are kept for ``finished_memory``
    more orders (a late duplicate report then still finds its order; older ones are
    looked up in the journal).
    """

    def __init__(self, finished_memory: int = 100_000) -> None:
        self._orders: dict[OrderId, Order] = {}
        self._by_client: dict[tuple[PortfolioId, ClientOrderId], Order] = {}
        self._by_account: dict[tuple[AccountId, ClientOrderId], Order] = {}
        # Keyed by the order object itself (identity: cheaper to hash than a UUID).
        self._accounts: dict[Order, AccountId] = {}
        self._trades: dict[Order, set[VenueTradeId]] = {}
        self._finished: dict[Order, None] = {}
        self._open: dict[PortfolioId, dict[Order, None]] = {}  # open orders, oldest first
        self._memory = finished_memory

    def add(self, order: Order, account_id: AccountId, trade_ids: set[VenueTradeId]) -> None:
        self._orders[order.id] = order
        self._by_client[order.portfolio_id, order.client_order_id] = order
        self._by_account[account_id, order.client_order_id] = order
        self._accounts[order] = account_id
        self._trades[order] = trade_ids
        if order.is_open:
            open_orders = self._open.get(order.portfolio_id)
            if open_orders is None:
                open_orders = self._open[order.portfolio_id] = {}
            open_orders[order] = None
        else:
            self.finished(order)

    def finished(self, order: Order) -> None:
        """``order`` is done: forget the oldest finished orders beyond the memory."""
        open_orders = self._open.get(order.portfolio_id)
        if open_orders is not None:
            open_orders.pop(order, None)
        finished = self._finished
        finished[order] = None
        while len(finished) > self._memory:
            oldest = next(iter(finished))
            del finished[oldest]
            self._forget(oldest)

    def _forget(self, order: Order) -> None:
        del self._orders[order.id]
        account_id = self._accounts.pop(order)
        del self._by_client[order.portfolio_id, order.client_order_id]
        del self._by_account[account_id, order.client_order_id]
        del self._trades[order]

    def get(self, order_id: OrderId) -> Order | None:
        return self._orders.get(order_id)

    def by_client(self, portfolio_id: PortfolioId, client_order_id: ClientOrderId) -> Order | None:
        return self._by_client.get((portfolio_id, client_order_id))

    def by_account(self, account_id: AccountId, client_order_id: ClientOrderId) -> Order | None:
        return self._by_account.get((account_id, client_order_id))

    def account_of(self, order: Order) -> AccountId:
        return self._accounts[order]

    def trade_ids(self, order: Order) -> set[VenueTradeId]:
        """The venue trade ids applied to ``order`` (the set itself, to add to)."""
        return self._trades[order]

    def open_orders(self, portfolio_id: PortfolioId | None = None) -> list[Order]:
        """Open orders (of one portfolio, or all), oldest first within a portfolio."""
        if portfolio_id is not None:
            return [o for o in self._open.get(portfolio_id, {}) if o.is_open]
        return [o for orders in self._open.values() for o in orders if o.is_open]
