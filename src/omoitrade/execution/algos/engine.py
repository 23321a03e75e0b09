"""The algorithm engine: starts parents, routes order events and market data to them.

One engine serves one order manager. It subscribes to ``events.order.*`` on the bus and
hands each child's events to its parent (a child's client order id names its parent);
feed it quotes and trade ticks with :meth:`AlgoEngine.on_market_data` (a venue's market
data handler, or bus subscriptions to ``data.quotes.*`` and ``data.trades.*``).
"""

from __future__ import annotations

from typing import Any

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import Clock
from omoitrade.core.errors import Conflict, NotFound, ValidationError
from omoitrade.execution.algos.base import AlgoServices, ExecutionAlgorithm
from omoitrade.execution.algos.iceberg import Iceberg, IcebergParams
from omoitrade.execution.algos.params import AlgoParams
from omoitrade.execution.algos.parent import AlgoId, ParentOrder, parent_of
from omoitrade.execution.algos.pov import Pov, PovParams
from omoitrade.execution.algos.report import AlgoReport
from omoitrade.execution.algos.twap import Twap, TwapParams
from omoitrade.execution.algos.vwap import Vwap, VwapParams
from omoitrade.execution.order_manager import OrderManager
from omoitrade.model.events import OrderEvent, OrderSubmitted
from omoitrade.model.identifiers import InstrumentId, OrderId
from omoitrade.model.market_data import Quote, TradeTick

Algorithm = ExecutionAlgorithm[Any]

ALGORITHMS: dict[type[AlgoParams], type[Algorithm]] = {
    TwapParams: Twap,
    VwapParams: Vwap,
    PovParams: Pov,
    IcebergParams: Iceberg,
}
ORDER_EVENTS = "events.order.*"


class AlgoEngine:
    """Execution algorithms working through one order manager."""

    def __init__(self, orders: OrderManager, clock: Clock, bus: MessageBus) -> None:
        self.orders = orders
        self._algos: dict[AlgoId, Algorithm] = {}
        self._specs: dict[AlgoId, tuple[ParentOrder, AlgoParams]] = {}
        self._routes: dict[OrderId, Algorithm] = {}
        self._working: dict[InstrumentId, list[Algorithm]] = {}
        self._quotes: dict[InstrumentId, Quote] = {}
        self._services = AlgoServices(orders, clock, bus, self._quotes.get, self._ended)
        bus.subscribe(ORDER_EVENTS, self._on_order_event)

    # --- commands ---------------------------------------------------------------------------
    def submit(self, parent: ParentOrder, params: AlgoParams) -> Algorithm:
        """Start the algorithm ``params`` name for ``parent`` (now or at its start time).

        Children a previous run of the same parent sent are taken over, not sent again.
        Submitting the same parent and parameters again returns the running algorithm;
        the same id with anything else is a Conflict.
        """
        existing = self._algos.get(parent.id)
        if existing is not None:
            if self._specs[parent.id] != (parent, params):
                raise Conflict(f"algorithm {parent.id} already exists with other terms")
            return existing
        kind = ALGORITHMS.get(type(params))
        if kind is None:
            raise ValidationError("params", "are not the parameters of a known algorithm", params)
        if parent.portfolio_id not in self.orders.accounts:
            raise NotFound("portfolio account", parent.portfolio_id)
        algo = kind(parent, params, self._services)
        self._algos[parent.id] = algo
        self._specs[parent.id] = (parent, params)
        for child in algo.adopt():
            if child.order_id is not None:
                self._routes[child.order_id] = algo
        self._working.setdefault(parent.instrument_id, []).append(algo)
        algo.start()
        return algo

    def cancel(self, parent_id: AlgoId, reason: str = "requested") -> AlgoReport:
        """Cancel a parent: no more children, its working children cancelled."""
        algo = self.algo(parent_id)
        algo.cancel(reason)
        return algo.report()

    # --- queries ----------------------------------------------------------------------------
    def algo(self, parent_id: AlgoId) -> Algorithm:
        algo = self._algos.get(parent_id)
        if algo is None:
            raise NotFound("algorithm", parent_id)
        return algo

    def algos(self) -> list[Algorithm]:
        return list(self._algos.values())

    def report(self, parent_id: AlgoId) -> AlgoReport:
        return self.algo(parent_id).report()

    def quote(self, instrument_id: InstrumentId) -> Quote | None:
        return self._quotes.get(instrument_id)

    # --- inputs -----------------------------------------------------------------------------
    def on_market_data(self, data: object) -> None:
        """Quotes price the children; trade ticks are the volume POV follows."""
        if isinstance(data, Quote):
            self.on_quote(data)
        elif isinstance(data, TradeTick):
            self.on_trade_tick(data)

    def on_quote(self, quote: Quote) -> None:
        self._quotes[quote.instrument_id] = quote

    def on_trade_tick(self, tick: TradeTick) -> None:
        for algo in tuple(self._working.get(tick.instrument_id, ())):
            algo.on_trade_tick(tick)

    def _on_order_event(self, event: object) -> None:
        if not isinstance(event, OrderEvent):
            return
        if isinstance(event, OrderSubmitted):
            parent_id = parent_of(event.client_order_id)
            algo = None if parent_id is None else self._algos.get(parent_id)
            if algo is not None and algo.on_order_event(event):
                self._routes[event.order_id] = algo
            return
        routed = self._routes.get(event.order_id)
        if routed is not None:
            routed.on_order_event(event)

    def _ended(self, parent_id: AlgoId) -> None:
        """A parent ended: forget the routes of its (finished) children."""
        algo = self._algos[parent_id]
        for child in algo.children:
            if child.order_id is not None and not child.is_open:
                self._routes.pop(child.order_id, None)
        working = self._working.get(algo.parent.instrument_id, [])
        if algo in working:
            working.remove(algo)
