"""The trading node: order manager, risk engine and portfolio ledger wired on one bus.

The only place that knows them all (they do not import each other): the risk engine
judges each order through :class:`LedgerRiskView`; fills move the ledger and refresh the
risk limits; a HALT (a breach's action, or the kill switch) cancels working orders, and a
kill switch with ``flatten`` closes positions with market orders; quotes mark the ledger
and give the reference prices, and price moves re-measure the limits that move with prices.
Each order's strategy (its request's, or for a cancel-replace's replacement its original's)
is kept for the strategy throttle and P&L by strategy, and recorded in its OrderSubmitted so
that a restart knows it again (with the throttle's executions within its window); exposure
and VaR are valued in each portfolio's base currency at the ledger's FX rates.
See docs/order-management.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from itertools import count

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import Clock, to_ns
from omoitrade.core.ids import IdGenerator
from omoitrade.execution.journal import OrderJournal
from omoitrade.execution.order_requests import (
    OrderManagerConfig,
    OrderRequest,
    PreTradeRejection,
)
from omoitrade.model.enums import OrderSide, OrderType, PositionSide
from omoitrade.model.events import (
    DomainEvent,
    KillSwitchEngaged,
    OrderCancelled,
    OrderFilled,
    OrderFillEvent,
    OrderRejected,
    OrderSubmitted,
    TradingStateChanged,
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
from omoitrade.model.market_data import Quote, TradeTick
from omoitrade.model.orders import Order
from omoitrade.model.portfolios import Portfolio
from omoitrade.model.risk import EquityMarks, RiskLimit
from omoitrade.model.venue import MarketData, VenueAdapter
from omoitrade.portfolio.ledger import PortfolioLedger
from omoitrade.portfolio.reconciliation import Reconciler, ReconciliationResult
from omoitrade.risk import (
    APPROVED,
    ExecutionThrottle,
    RiskConfig,
    RiskDecision,
    RiskEngine,
    TradingState,
)
from omoitrade.risk.config import ThrottleConfig
from omoitrade.runtime.node_orders import NodeOrderManager
from omoitrade.store import Database

FILL_TOPICS = "events.order.*filled"


@dataclass(frozen=True, slots=True)
class PortfolioSetup:
    """A portfolio the node trades for: its venue account and its risk limits."""

    portfolio: Portfolio
    account_id: AccountId
    limits: Sequence[RiskLimit] = ()


@dataclass(frozen=True, slots=True)
class TradingNodeConfig:
    orders: OrderManagerConfig = field(default_factory=OrderManagerConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    risk_snapshot_ns: int = 1_000_000_000  # how often the risk state is saved (and at once
    # on a warning or breach), when the node has a risk sink
    throttle: ThrottleConfig | None = None  # the repeated-execution throttle; None: off


# Saves the risk state that must outlive the process (e.g. to the store): the limit rows with
# their current value and breach flag, and each portfolio's equity marks.
RiskSink = Callable[[Sequence[RiskLimit], Mapping[PortfolioId, EquityMarks]], None]


class LedgerRiskView:
    """The risk engine's view of the world, from the ledger, the order manager and prices;
    a :class:`~omoitrade.risk.var.CurrencyView` too (values in the base currency)."""

    def __init__(self, node: TradingNode) -> None:
        self._node = node

    def has_portfolio(self, portfolio_id: PortfolioId) -> bool:
        return portfolio_id in self._node.portfolios

    def positions(self, portfolio_id: PortfolioId) -> Mapping[InstrumentId, Decimal]:
        return self._node.ledger.signed_quantities(portfolio_id)

    def working_orders(self, portfolio_id: PortfolioId) -> Sequence[Order]:
        return self._node.orders.open_orders(portfolio_id)

    def reference_price(self, instrument_id: InstrumentId) -> Decimal | None:
        return self._node.prices.get(instrument_id)

    def available_balance(self, portfolio_id: PortfolioId) -> Decimal | None:
        return self._node.ledger.margin_available(portfolio_id)

    def equity(self, portfolio_id: PortfolioId) -> Decimal | None:
        return self._node.ledger.equity(portfolio_id)

    def base_currency(self, portfolio_id: PortfolioId) -> str:
        return self._node.ledger.base_currency(portfolio_id)

    def quote_currency(self, instrument_id: InstrumentId) -> str | None:
        instrument = self._node.instruments.get(instrument_id)
        return None if instrument is None else instrument.quote_currency

    def convert(self, amount: Decimal, from_currency: str, to_currency: str) -> Decimal:
        """At the ledger's latest rate; raises MissingFxRate when it has none."""
        return self._node.ledger.convert(amount, from_currency, to_currency)


class TradingNode:
    """One trading process's core: see the module docstring."""

    def __init__(
        self,
        *,
        clock: Clock,
        bus: MessageBus,
        journal: OrderJournal,
        venues: Mapping[str, VenueAdapter],
        instruments: Iterable[Instrument],
        portfolios: Sequence[PortfolioSetup],
        ids: IdGenerator | None = None,
        config: TradingNodeConfig | None = None,
        risk_sink: RiskSink | None = None,
    ) -> None:
        self.clock, self.bus = clock, bus
        self.config = config or TradingNodeConfig()
        self.ids = ids or IdGenerator(clock.timestamp_ns, thread_safe=False)  # one thread
        self.instruments = {i.id: i for i in instruments}
        self.portfolios = {p.portfolio.id: p for p in portfolios}
        self.prices: dict[InstrumentId, Decimal] = {}
        self.ledger = PortfolioLedger(self.ids)
        for setup in portfolios:
            self.ledger.open_from(setup.portfolio)
        throttle = self.config.throttle
        self.risk = RiskEngine(
            LedgerRiskView(self),
            clock,
            bus,
            self.config.risk,
            throttle=None
            if throttle is None
            else ExecutionThrottle(clock, throttle.max_executions, throttle.window_ns),
        )
        for setup in portfolios:
            self.risk.set_limits(setup.portfolio.id, setup.limits)
        self._flattening: set[ClientOrderId] = set()
        self._flatten_numbers = count(1)
        # The strategy of each approved order still open (for the throttle and the ledger).
        self._strategy_of: dict[OrderId, StrategyId] = {}
        self.orders: NodeOrderManager = NodeOrderManager(
            clock=clock,
            bus=bus,
            journal=journal,
            venues=venues,
            instruments=self.instruments,
            accounts={p.portfolio.id: p.account_id for p in portfolios},
            pre_trade_check=self._pre_trade,
            mid_price=self.prices.get,
            ids=self.ids,
            config=self.config.orders,
            strategies=self._strategy_of,
        )
        self.orders.on_cancel_sent = self.risk.check_cancel  # a message for the rate limit
        self.journal = journal
        bus.subscribe("events.risk.*", self._persist, priority=100)  # stored before acted on
        bus.subscribe(FILL_TOPICS, self._on_fill)
        bus.subscribe(OrderCancelled.topic, self._on_order_closed)
        bus.subscribe(OrderRejected.topic, self._on_order_closed)
        bus.subscribe(TradingStateChanged.topic, self._on_trading_state)
        bus.subscribe(KillSwitchEngaged.topic, self._on_kill_switch)
        for venue in venues.values():
            venue.on_market_data(self.on_market_data)
        self._risk_sink = risk_sink
        if risk_sink is not None:
            bus.subscribe("events.risk.limit_*", lambda _: self.save_risk_state())
            clock.set_timer("risk-snapshot", self.config.risk_snapshot_ns, self._snapshot)

    # --- start-up ---------------------------------------------------------------------------
    def restore(
        self,
        events: Iterable[DomainEvent],
        equity_marks: Mapping[PortfolioId, EquityMarks] | None = None,
    ) -> None:
        """Rebuild from the event store's history (oldest first) and saved equity marks,
        before trading resumes: the ledger from past fills (each its order's strategy's, as
        its OrderSubmitted names it), the risk state from its events, the strategy of each
        order still open (a waiting replacement's too), and the throttle's executions within
        its window (the first fills of orders with a strategy), among the throttle's events
        in the order they were recorded (a re-enable forgets the executions before it)."""
        for portfolio_id, marks in (equity_marks or {}).items():
            if portfolio_id in self.portfolios:
                self.risk.seed_equity_marks(portfolio_id, marks)
        orders = self.orders
        still_open = {o.id for o in orders.open_orders()}
        still_open.update(r.id for r in orders.replacing.values())
        throttle = self.risk.throttle
        restore_risk = self.risk.restore
        strategy_of: dict[OrderId, StrategyId] = {}  # of the orders not known to be done
        for event in events:
            if isinstance(event, OrderFillEvent):
                order_id = event.order_id
                strategy_id = strategy_of.get(order_id) if strategy_of else None
                self._apply_fill(event, strategy_id)
                if strategy_id is None:
                    continue
                if throttle is not None and event.filled_quantity == event.fill_quantity:
                    throttle.replay_execution(strategy_id, to_ns(event.occurred_at))
                if isinstance(event, OrderFilled) and order_id not in still_open:
                    del strategy_of[order_id]
            elif isinstance(event, OrderSubmitted):
                if event.strategy_id is not None:
                    strategy_of[event.order_id] = event.strategy_id
            elif isinstance(event, OrderCancelled | OrderRejected):
                if strategy_of and event.order_id not in still_open:
                    strategy_of.pop(event.order_id, None)
            elif event.topic.startswith("events.risk."):
                restore_risk((event,))  # one by one: the executions come in between
        for order_id in still_open:
            strategy_id = strategy_of.get(order_id)
            if strategy_id is not None:
                self._strategy_of[order_id] = strategy_id

    async def reconcile(self) -> list[ReconciliationResult]:
        """Reconcile every portfolio with each venue (on start, and on demand); positions
        are compared per venue, in its instruments, after the missing fills are applied."""
        results = []
        venues = {self.instruments[i].exchange for i in self.instruments}
        for setup in self.portfolios.values():
            portfolio_id = setup.portfolio.id
            for code in sorted(venues):
                positions = _PositionsLater(partial(self._venue_positions, portfolio_id, code))
                reconciler = Reconciler(
                    self.clock,
                    self.bus,
                    self.orders,
                    self.orders.venues[code],
                    grace_ns=self.config.orders.not_found_grace_ns,
                )
                since = setup.portfolio.created_at
                results.append(
                    await reconciler.reconcile(portfolio_id, setup.account_id, since, positions)
                )
        return results

    def _venue_positions(
        self, portfolio_id: PortfolioId, venue: str
    ) -> dict[InstrumentId, Decimal]:
        """The portfolio's positions in the instruments of one venue, with the fills that
        wait for a group commit applied."""
        self.orders.flush()
        instruments = self.instruments
        return {
            i: q
            for i, q in self.ledger.signed_quantities(portfolio_id).items()
            if instruments[i].exchange == venue
        }

    def save_risk_state(self) -> None:
        """Hand the limit rows and equity marks, as they stand, to the risk sink."""
        if self._risk_sink is not None:
            rows = [row for p in self.portfolios for row in self.risk.limits(p)]
            marks = {p: m for p in self.portfolios if (m := self.risk.equity_marks(p))}
            self._risk_sink(rows, marks)

    def _snapshot(self, _: object) -> None:
        self.save_risk_state()

    # --- the wiring -------------------------------------------------------------------------
    def _pre_trade(self, order: Order, before: Order | None) -> PreTradeRejection | None:
        if order.client_order_id in self._flattening:
            return None  # the kill switch's own closing orders pass the halt
        if before is None:
            strategy_id = self.orders.strategy_asking(order)
            decision = self.risk.check_order(order, strategy_id)
            if strategy_id is not None and decision.approved:
                self._strategy_of[order.id] = strategy_id
        else:
            decision = self.risk.check_amend(
                before, quantity=order.quantity, price=order.price, stop_price=order.stop_price
            )
        return None if decision is APPROVED else _rejection(decision)  # approved: at once

    def _persist(self, event: DomainEvent) -> None:
        """Risk events go to the event store (the kill switch must survive a restart)."""
        self.journal.write([], [], [], [event])

    def _on_fill(self, event: OrderFillEvent) -> None:
        strategy_of = self._strategy_of
        strategy_id = None
        if strategy_of:
            if isinstance(event, OrderFilled):  # the order is done
                strategy_id = strategy_of.pop(event.order_id, None)
            else:
                strategy_id = strategy_of.get(event.order_id)
        self._apply_fill(event, strategy_id)
        self.risk.update(event.portfolio_id)
        if strategy_id is not None and event.filled_quantity == event.fill_quantity:
            self.risk.record_execution(strategy_id)  # an automated order's first fill

    def _on_order_closed(self, event: OrderCancelled | OrderRejected) -> None:
        strategy_of = self._strategy_of
        if strategy_of:
            strategy_id = strategy_of.pop(event.order_id, None)
            if strategy_id is not None and self.orders.replacing:
                replacement = self.orders.replacing.get(event.order_id)
                if replacement is not None:  # a cancel-replace's: its replacement carries it
                    strategy_of[replacement.id] = strategy_id

    def _apply_fill(self, event: OrderFillEvent, strategy_id: StrategyId | None = None) -> None:
        instrument = self.instruments[event.instrument_id]
        publish = self.bus.publish
        for change in self.ledger.apply_fill(event, instrument, strategy_id):
            publish(change.topic, change)  # for screens; positions rebuild from fills
        self.prices.setdefault(event.instrument_id, event.fill_price)

    def on_market_data(self, data: MarketData) -> None:
        """Quotes mark the ledger and set the reference price; trades set it too."""
        if isinstance(data, Quote):
            self.mark_price(data.instrument_id, data.mid, data.timestamp)
        elif isinstance(data, TradeTick):
            self.prices[data.instrument_id] = data.price
            if self.risk.has_price_limits():  # exposure moves with the reference price
                self._remeasure(data.instrument_id)

    def mark_price(self, instrument_id: InstrumentId, price: Decimal, at: datetime) -> None:
        """``price`` is the instrument's market price now: the reference price of the risk
        checks, and the mark of its positions (a quote's mid; a backtest's bar price)."""
        self.prices[instrument_id] = price
        self.ledger.mark(instrument_id, price, at)
        if self.risk.has_price_limits():  # (none: nothing more to do, as in backtests)
            self._remeasure(instrument_id)

    def _remeasure(self, instrument_id: InstrumentId) -> None:
        """Re-measure the price-moved limits of the portfolios holding the instrument."""
        risk = self.risk
        holders = [book.portfolio_id for book in self.ledger.open_books(instrument_id)]
        for portfolio_id in holders:
            if risk.has_price_limits(portfolio_id):
                risk.update(portfolio_id)

    def _on_trading_state(self, event: TradingStateChanged) -> None:
        if event.to_state != TradingState.HALTED:
            return
        chosen = self.portfolios if event.portfolio_id is None else [event.portfolio_id]
        for portfolio_id in chosen:
            self.orders.cancel_all(portfolio_id, reason=f"trading halted: {event.reason}")

    def _on_kill_switch(self, event: KillSwitchEngaged) -> None:
        for portfolio_id in self.portfolios:
            self.orders.cancel_all(portfolio_id, reason=f"kill switch: {event.reason}")
        if event.flatten:
            self.flatten_all(f"kill switch: {event.reason}")

    def flatten_all(self, reason: str) -> list[Order]:
        """Close every open position with a market order (they pass a halt)."""
        orders = []
        for portfolio_id in self.portfolios:
            for position in self.ledger.positions(portfolio_id):
                side = OrderSide.SELL if position.side is PositionSide.LONG else OrderSide.BUY
                cid = ClientOrderId(
                    f"flatten-{self.clock.timestamp_ns()}-{next(self._flatten_numbers)}"
                )
                self._flattening.add(cid)
                request = OrderRequest(
                    portfolio_id,
                    position.instrument_id,
                    cid,
                    side,
                    OrderType.MARKET,
                    position.quantity,
                )
                orders.append(self.orders.submit(request))
        return orders


def risk_state_to_store(database: Database) -> RiskSink:
    """A risk sink that saves limit rows and equity marks in one transaction."""

    def save(rows: Sequence[RiskLimit], marks: Mapping[PortfolioId, EquityMarks]) -> None:
        now = database.clock.utc_now()
        with database.transaction() as uow:
            for row in rows:
                uow.risk_limits.update(row, savepoint=False)
            for portfolio_id, mark in marks.items():
                uow.equity_marks.save(portfolio_id, mark, now)

    return save


def equity_marks_from_store(
    database: Database, portfolio_ids: Iterable[PortfolioId]
) -> dict[PortfolioId, EquityMarks]:
    """The saved equity marks of these portfolios (for :meth:`TradingNode.restore`)."""
    with database.transaction(write=False) as uow:
        found = {p: uow.equity_marks.get(p) for p in portfolio_ids}
    return {p: m for p, m in found.items() if m is not None}


class _PositionsLater(Mapping[InstrumentId, Decimal]):
    """Positions read when first looked at: a reconciliation compares them only after it
    has applied the fills it found missing."""

    def __init__(self, read: Callable[[], dict[InstrumentId, Decimal]]) -> None:
        self._read = read
        self._held: dict[InstrumentId, Decimal] | None = None

    def _positions(self) -> dict[InstrumentId, Decimal]:
        if self._held is None:
            self._held = self._read()
        return self._held

    def __getitem__(self, instrument_id: InstrumentId) -> Decimal:
        return self._positions()[instrument_id]

    def __iter__(self) -> Iterator[InstrumentId]:
        return iter(self._positions())

    def __len__(self) -> int:
        return len(self._positions())


def _rejection(decision: RiskDecision) -> PreTradeRejection | None:
    if decision.approved:
        return None
    first, *others = decision.rejections
    message = first.message
    if others:
        message += "; also " + "; ".join(str(r) for r in others)
    return PreTradeRejection(str(first.code), message)
