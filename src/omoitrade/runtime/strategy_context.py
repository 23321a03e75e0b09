"""A strategy's :class:`~omoitrade.strategy.base.StrategyContext` over a trading node.

Signals go to the signal pipeline with an :class:`ExecutionPlan` made from the signal's
terms (or the strategy document's sizing); orders go to the node's order manager, so
the risk checks always apply. Each strategy sees its own position (the net of its own
fills, its signals' trades included), the portfolio's equity and cash, and receives the
events of its own orders through the :class:`StrategyRunner` — delivered after the call
that caused them returns, never inside the order manager.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from itertools import count
from typing import Any

from omoitrade.core.clock import Clock
from omoitrade.core.errors import NotFound, ValidationError
from omoitrade.execution.order_requests import OrderRequest
from omoitrade.model.enums import OrderSide, OrderType, SignalType
from omoitrade.model.events import OrderEvent, OrderFillEvent
from omoitrade.model.identifiers import (
    ClientOrderId,
    InstrumentId,
    PortfolioId,
    SignalId,
    StrategyId,
)
from omoitrade.model.orders import Order
from omoitrade.model.signals import Signal
from omoitrade.runtime.trading_node import TradingNode
from omoitrade.signals.pipeline import SignalPipeline
from omoitrade.signals.plan import ExecutionPlan
from omoitrade.strategy.base import (
    BracketIntent,
    OrderIntent,
    SignalTerms,
    Strategy,
    StrategyRunner,
)
from omoitrade.strategy.document import StrategyDocument
from omoitrade.strategy.sizing import sizer_for

DEFAULT_SIGNAL_TTL_NS = 5 * 60 * 1_000_000_000
_ZERO = Decimal(0)


class SigningError(ValidationError):
    """A signal cannot be turned into an execution plan (no size)."""

    code = "signal-plan-error"


@dataclass(slots=True)
class _Bracket:
    """An entry waiting to fill, then its two exits (one cancels the other)."""

    intent: BracketIntent
    exits: tuple[ClientOrderId, ClientOrderId] | None = None


class NodeStrategyContext:
    """One strategy in one portfolio, trading through a node and a signal pipeline."""

    def __init__(
        self,
        *,
        node: TradingNode,
        pipeline: SignalPipeline,
        portfolio_id: PortfolioId,
        strategy_id: StrategyId,
        name: str,
        version: int = 1,
        document: StrategyDocument | None = None,
        signal_ttl_ns: int = DEFAULT_SIGNAL_TTL_NS,
    ) -> None:
        if signal_ttl_ns <= 0:
            raise ValidationError("signal_ttl_ns", "must be > 0", signal_ttl_ns)
        self._node, self._pipeline = node, pipeline  # never handed to the strategy
        self.portfolio_id, self.strategy_id = portfolio_id, strategy_id
        self.name, self.version, self.document = name, version, document
        self.signal_ttl_ns = signal_ttl_ns
        # client order ids: unique across restarts (the start time in ms) and short
        slug = "".join(c for c in name if c.isalnum())[:12] or "strategy"
        self.stable_prefix = f"{slug}-{strategy_id.hex[:8]}-"  # the same in every process
        self._prefix = f"{self.stable_prefix}{node.clock.timestamp_ns() // 1_000_000}"
        self._numbers = count(1)
        self.positions: dict[InstrumentId, Decimal] = defaultdict(Decimal)
        self._brackets: dict[ClientOrderId, _Bracket] = {}  # by entry
        self._exit_of: dict[ClientOrderId, ClientOrderId] = {}  # exit -> its sibling
        self.signal_ids: set[SignalId] = set()  # its signals (their orders are its orders)

    # --- what the strategy sees ---------------------------------------------------------------
    @property
    def clock(self) -> Clock:
        return self._node.clock

    def position(self, instrument_id: InstrumentId) -> Decimal:
        """The strategy's own signed position (its fills, its signals' trades included)."""
        return self.positions.get(instrument_id, _ZERO)

    def equity(self) -> Decimal:
        return self._node.ledger.equity(self.portfolio_id)

    def cash(self) -> Decimal:
        return self._node.ledger.cash(self.portfolio_id)

    def lot_size(self, instrument_id: InstrumentId) -> Decimal:
        instrument = self._node.instruments.get(instrument_id)
        if instrument is None:
            raise NotFound("instrument", instrument_id)
        return instrument.lot_size

    # --- signals ------------------------------------------------------------------------------
    def emit_signal(
        self,
        instrument_id: InstrumentId,
        signal_type: SignalType,
        strength: float = 1.0,
        *,
        entry_price: Decimal | None = None,
        stop_loss: Decimal | None = None,
        take_profit: Decimal | None = None,
        terms: SignalTerms | None = None,
    ) -> SignalId:
        """A PENDING signal (expiring ``signal_ttl_ns`` from now) and its plan, submitted
        to the pipeline; raises :class:`SigningError` when an entry cannot be sized."""
        now = self.clock.utc_now()
        signal = Signal(
            id=SignalId.new(self._node.ids),
            strategy_id=self.strategy_id,
            instrument_id=instrument_id,
            signal_type=signal_type,
            strength=strength,
            source=f"strategy:{self.name}",
            created_at=now,
            entry_price=entry_price,
            stop_loss=stop_loss,
            take_profit=take_profit,
            expiry_at=now + timedelta(microseconds=self.signal_ttl_ns // 1000),
        )
        plan = self._plan(instrument_id, signal_type, terms)
        self.signal_ids.add(signal.id)
        orphan = (
            signal_type is SignalType.CLOSE
            and self._pipeline.trade(self.strategy_id, instrument_id) is None
            and self.position(instrument_id) != 0
        )
        self._pipeline.submit(signal, plan)
        if orphan:  # a trade from before a restart: the pipeline no longer holds it
            self._close_orphan(instrument_id)
        return signal.id

    def _close_orphan(self, instrument_id: InstrumentId) -> None:
        """Cancel the strategy's working orders in the instrument, close it at market."""
        for order in self._node.orders.open_orders(self.portfolio_id):
            if order.instrument_id == instrument_id and self.owns(order):
                self.cancel(order.client_order_id)
        held = self.position(instrument_id)
        side = OrderSide.SELL if held > 0 else OrderSide.BUY
        self.submit(OrderIntent(instrument_id, side, abs(held), client_tag="orphan"))

    def _plan(
        self, instrument_id: InstrumentId, signal_type: SignalType, terms: SignalTerms | None
    ) -> ExecutionPlan:
        terms = terms or SignalTerms()
        entry = signal_type in (SignalType.BUY, SignalType.SELL)
        quantity, sizer = terms.quantity, terms.sizer
        if quantity is None and sizer is None:
            if not entry:  # CLOSE and HOLD trade nothing of their own: a nominal size
                instrument = self._node.instruments.get(instrument_id)
                quantity = instrument.lot_size if instrument is not None else Decimal(1)
            elif self.document is not None:
                sizer = sizer_for(self.document.risk.sizing, self.equity, None)
                if sizer is None:
                    raise SigningError(
                        "terms",
                        f"strategy {self.name}: its sizing "
                        f"({type(self.document.risk.sizing).__name__}) needs values the "
                        "signal did not give; pass terms with a quantity or a sizer",
                    )
            else:
                raise SigningError(
                    "terms",
                    f"strategy {self.name} has no document to size by: "
                    "give the signal terms with a quantity or a sizer",
                )
        return ExecutionPlan(
            portfolio_id=self.portfolio_id,
            quantity=quantity,
            sizer=sizer,
            entry_type=OrderType.LIMIT if terms.limit_entry else OrderType.MARKET,
            trailing_stop=terms.trailing_stop,
            max_holding_ns=terms.max_holding_ns,
            strategy_version=self.version,
        )

    # --- orders -------------------------------------------------------------------------------
    def submit(self, intent: OrderIntent) -> ClientOrderId:
        """An order through the order manager (risk checks apply); its client order id."""
        cid = self._next_id(intent.client_tag)
        self._place(cid, intent)
        return cid

    def bracket(self, intent: BracketIntent) -> ClientOrderId:
        """The entry now; when it has filled, a take profit (limit) and a stop loss (stop)
        for the filled quantity, one cancelling the other."""
        cid = self.submit(intent.entry)
        order = self._node.orders.order(self.portfolio_id, cid)
        # (an entry may fill inside submit: its events reach ``after_event`` only later)
        if order is not None and (order.is_open or order.filled_quantity > 0):
            self._brackets[cid] = _Bracket(intent)
        return cid

    def cancel(self, client_order_id: ClientOrderId) -> None:
        self._node.orders.cancel(
            self.portfolio_id, client_order_id, f"cancelled by strategy {self.name}"
        )

    def close_position(self, instrument_id: InstrumentId) -> None:
        """Cancel the strategy's exits in the instrument and close its position at market."""
        for order in self._node.orders.open_orders(self.portfolio_id):
            if order.instrument_id == instrument_id and order.client_order_id in self._exit_of:
                self.cancel(order.client_order_id)
        held = self.position(instrument_id)
        if held == 0:
            return
        side = OrderSide.SELL if held > 0 else OrderSide.BUY
        self.submit(OrderIntent(instrument_id, side, abs(held), client_tag="close"))

    def _next_id(self, tag: str | None = None) -> ClientOrderId:
        number = next(self._numbers)
        suffix = "" if not tag else "-" + "".join(c for c in tag if c.isalnum())[:8]
        return ClientOrderId(f"{self._prefix}-{number}{suffix}")

    def _place(
        self, cid: ClientOrderId, intent: OrderIntent, oco_group: str | None = None
    ) -> Order:
        return self._node.orders.submit(
            OrderRequest(
                self.portfolio_id,
                intent.instrument_id,
                cid,
                intent.side,
                intent.order_type,
                intent.quantity,
                price=intent.price,
                stop_price=intent.stop_price,
                time_in_force=intent.time_in_force,
                strategy_id=self.strategy_id,
                oco_group=oco_group,
            )
        )

    # --- order events (called by the router, outside the order manager) ---------------------
    def after_event(self, order: Order, event: OrderEvent) -> None:
        """Bracket management after the strategy saw the event."""
        cid = order.client_order_id
        bracket = self._brackets.get(cid)
        if bracket is not None and not order.is_open:
            del self._brackets[cid]
            if order.filled_quantity > 0:
                self._send_exits(bracket, order.filled_quantity)
            return
        sibling = self._exit_of.get(cid)
        if sibling is not None and isinstance(event, OrderFillEvent) and not order.is_open:
            self._exit_of.pop(cid, None)
            self._exit_of.pop(sibling, None)
            other = self._node.orders.order(self.portfolio_id, sibling)
            if other is not None and other.is_open:
                self.cancel(sibling)

    def _send_exits(self, bracket: _Bracket, quantity: Decimal) -> None:
        entry = bracket.intent.entry
        side = OrderSide.SELL if entry.side is OrderSide.BUY else OrderSide.BUY
        profit, stop = self._next_id("tp"), self._next_id("sl")
        group = f"oco-{profit}"[:64]  # the venue cancels one when the other fills
        self._place(
            profit,
            OrderIntent(
                entry.instrument_id, side, quantity, OrderType.LIMIT, bracket.intent.take_profit
            ),
            group,
        )
        self._place(
            stop,
            OrderIntent(
                entry.instrument_id,
                side,
                quantity,
                OrderType.STOP,
                stop_price=bracket.intent.stop_loss,
            ),
            group,
        )
        self._exit_of[profit], self._exit_of[stop] = stop, profit
        bracket.exits = (profit, stop)

    def owns(self, order: Order) -> bool:
        """Whether ``order`` is the strategy's: its own or one of its signals'."""
        if order.signal_id is not None:
            return order.signal_id in self.signal_ids
        return str(order.client_order_id).startswith(self.stable_prefix)

    def on_fill(self, event: OrderFillEvent) -> None:
        """Book the strategy's own position (at once, before any delivery)."""
        signed = event.fill_quantity if event.side is OrderSide.BUY else -event.fill_quantity
        self.positions[event.instrument_id] += signed


_Route = tuple[Strategy, NodeStrategyContext, Order]


class StrategyRouter:
    """Routes the events of each strategy's orders to it, in order, after the call that
    caused them; books each strategy's position from its fills as they happen."""

    def __init__(self, node: TradingNode, runner: StrategyRunner) -> None:
        self.node, self.runner = node, runner
        self._by_strategy: dict[StrategyId, tuple[Strategy, NodeStrategyContext]] = {}
        # each event with its strategy, context and order (None: unknown when published)
        self._queue: deque[tuple[_Route | None, OrderEvent]] = deque()
        self._draining = False
        node.bus.subscribe("events.order.*", self._on_order_event)

    def add(
        self,
        strategy: Strategy,
        context: NodeStrategyContext,
        instruments: Iterable[InstrumentId] | None = None,
    ) -> None:
        """Route ``strategy``'s order events to it; market data of ``instruments`` only,
        when given (see ``StrategyRunner.add``)."""
        self._by_strategy[context.strategy_id] = (strategy, context)
        self.runner.add(strategy, instruments)

    def contexts(self) -> Iterable[NodeStrategyContext]:
        return (context for _, context in self._by_strategy.values())

    def _on_order_event(self, event: OrderEvent) -> None:
        order = self.node.orders.registry.get(event.order_id)
        if order is None:  # a new order's first event is published before it is registered
            self._queue.append((None, event))  # (resolved when delivered)
            return
        route = self._route(order)
        if route is None:
            return
        if isinstance(event, OrderFillEvent):
            route[1].on_fill(event)
        self._queue.append((route, event))

    def _route(self, order: Order) -> _Route | None:
        """The strategy that owns ``order``, its context, and the order."""
        found = next((s for s in self._by_strategy.values() if s[1].owns(order)), None)
        return None if found is None else (*found, order)

    def drain(self) -> None:
        """Deliver the queued events (re-entrant calls return at once)."""
        if self._draining or not self._queue:
            return
        self._draining = True
        try:
            while self._queue:
                route, event = self._queue.popleft()
                if route is None:
                    order = self.node.orders.registry.get(event.order_id)
                    route = None if order is None else self._route(order)
                    if route is None:
                        continue
                strategy, context, order = route
                self.runner.on_order_event(strategy, event)
                context.after_event(order, event)
        finally:
            self._draining = False

    def guarded(self, handler: Callable[..., None], *args: Any) -> None:
        """Run ``handler(*args)`` (a market data delivery), then deliver what it caused."""
        handler(*args)
        self.drain()
