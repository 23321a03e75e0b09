"""The trading node's order manager: the order manager that also knows which strategy
asks for each order.

One job: tell the risk engine and the journal the strategy behind the order being judged
or journaled. An :class:`~omoitrade.model.orders.Order` does not carry it; its
:class:`~omoitrade.execution.order_requests.OrderRequest` does, and a cancel-replace's
replacement is asked for by its original's strategy. The order's ``OrderSubmitted``
records it, so that a restart knows it again (see ``runtime.trading_node``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import Clock
from omoitrade.core.ids import IdGenerator
from omoitrade.execution.cancel_replace import replacement_client_id
from omoitrade.execution.journal import OrderJournal
from omoitrade.execution.order_manager import OrderManager
from omoitrade.execution.order_requests import (
    AmendRefused,
    OrderManagerConfig,
    OrderRequest,
    PreTradeCheck,
)
from omoitrade.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    OrderId,
    PortfolioId,
    StrategyId,
)
from omoitrade.model.instruments import Instrument
from omoitrade.model.orders import Order
from omoitrade.model.venue import VenueAdapter


class NodeOrderManager(OrderManager):
    """The node's order manager: it also tells which strategy asked for the order being
    judged or journaled (an :class:`Order` does not carry it; its :class:`OrderRequest` does,
    and a cancel-replace's replacement is asked for by its original's strategy, read from
    ``strategies``: the node's strategy of each open order). The order's OrderSubmitted
    records it, for a restart."""

    def __init__(
        self,
        *,
        clock: Clock,
        bus: MessageBus,
        journal: OrderJournal,
        venues: Mapping[str, VenueAdapter],
        instruments: Mapping[InstrumentId, Instrument],
        accounts: Mapping[PortfolioId, AccountId],
        pre_trade_check: PreTradeCheck | None = None,
        mid_price: Callable[[InstrumentId], Decimal | None] | None = None,
        ids: IdGenerator | None = None,
        config: OrderManagerConfig | None = None,
        strategies: Mapping[OrderId, StrategyId] | None = None,
    ) -> None:
        # (spelled out, not **options: a compiled subclass passes keywords on by name)
        self._asking: dict[tuple[PortfolioId, ClientOrderId], StrategyId] = {}
        self._strategies: Mapping[OrderId, StrategyId] = {} if strategies is None else strategies
        super().__init__(
            clock=clock,
            bus=bus,
            journal=journal,
            venues=venues,
            instruments=instruments,
            accounts=accounts,
            pre_trade_check=pre_trade_check,
            mid_price=mid_price,
            ids=ids,
            config=config,
        )

    def submit(self, request: OrderRequest) -> Order:
        strategy_id = request.strategy_id
        if strategy_id is None:
            return super().submit(request)
        key = (request.portfolio_id, request.client_order_id)
        self._asking[key] = strategy_id
        try:
            return super().submit(request)
        finally:
            self._asking.pop(key, None)

    def submit_many(self, requests: Sequence[OrderRequest]) -> list[Order]:
        asking = {
            (r.portfolio_id, r.client_order_id): r.strategy_id
            for r in requests
            if r.strategy_id is not None
        }
        self._asking.update(asking)
        try:
            return super().submit_many(requests)
        finally:
            for key in asking:
                self._asking.pop(key, None)

    def amend(
        self,
        portfolio_id: PortfolioId,
        client_order_id: ClientOrderId,
        *,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> Order:
        """As the base class; at a venue that cannot amend, the replacement is journaled
        (its OrderSubmitted) as asked for by the original's strategy."""
        asking = self._replacement_asking(portfolio_id, client_order_id)
        if asking is None:
            return super().amend(
                portfolio_id, client_order_id, quantity=quantity, price=price, stop_price=stop_price
            )
        key, strategy_id = asking
        self._asking[key] = strategy_id
        try:
            return super().amend(
                portfolio_id, client_order_id, quantity=quantity, price=price, stop_price=stop_price
            )
        finally:
            self._asking.pop(key, None)

    def _replacement_asking(
        self, portfolio_id: PortfolioId, client_order_id: ClientOrderId
    ) -> tuple[tuple[PortfolioId, ClientOrderId], StrategyId] | None:
        """The key of the replacement an amend of the order would make, and the order's
        strategy; None if it has none, or its venue can amend."""
        strategies = self._strategies
        if not strategies or not self._no_amend:
            return None
        order = self.registry.by_client(portfolio_id, client_order_id)
        if order is None or self.instruments[order.instrument_id].exchange not in self._no_amend:
            return None
        strategy_id = strategies.get(order.id)
        if strategy_id is None:
            return None
        try:
            replacement_id = replacement_client_id(client_order_id)
        except AmendRefused:  # (refused by the amend as well, where it would replace)
            return None
        return (portfolio_id, replacement_id), strategy_id

    def original_finished(self, original: Order, cancelled: bool) -> None:
        """As the base class; a replacement sent for ``original`` is judged as asked for
        by ``original``'s strategy (kept under the replacement's id if the original's
        close was heard first)."""
        replacement = self.replacing.get(original.id)
        strategy_id = None
        if replacement is not None:
            strategy_id = self._strategies.get(original.id)
            if strategy_id is None:
                strategy_id = self._strategies.get(replacement.id)
        if replacement is None or strategy_id is None:
            super().original_finished(original, cancelled)
            return
        key = (replacement.portfolio_id, replacement.client_order_id)
        self._asking[key] = strategy_id
        try:
            super().original_finished(original, cancelled)
        finally:
            self._asking.pop(key, None)

    def strategy_asking(self, order: Order) -> StrategyId | None:
        """The strategy of the request ``order`` is being made from (during its submit),
        or of the original a replacement is made for (while it is journaled, in the amend)
        or sent for (while it is judged)."""
        asking = self._asking
        return asking.get((order.portfolio_id, order.client_order_id)) if asking else None
