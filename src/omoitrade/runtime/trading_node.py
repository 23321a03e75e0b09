"""The trading node: order manager, risk engine and portfolio ledger wired on one bus.

The only place that knows them all (they do not import each other): the risk engine
judges each order through :class:`LedgerRiskView`; fills move the ledger and refresh the
risk limits; a HALT (a breach's action, or the kill switch) cancels working orders, and a
kill switch with ``flatten`` closes positions with market orders; quotes mark the ledger
and give the reference prices. See docs/order-management.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import count

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import Clock
from omoitrade.core.ids import IdGenerator
from omoitrade.execution.journal import OrderJournal
from omoitrade.execution.order_manager import OrderManager
from omoitrade.execution.order_requests import (
    OrderManagerConfig,
    OrderRequest,
    PreTradeRejection,
)
from omoitrade.model.enums import OrderSide, OrderType, PositionSide
from omoitrade.model.events import (
    DomainEvent,
    KillSwitchEngaged,
    OrderFillEvent,
    TradingStateChanged,
)
from omoitrade.model.identifiers import AccountId, ClientOrderId, InstrumentId, PortfolioId
from omoitrade.model.instruments import Instrument
from omoitrade.model.market_data import Quote, TradeTick
from omoitrade.model.orders import Order
from omoitrade.model.portfolios import Portfolio
from omoitrade.model.risk import EquityMarks, RiskLimit
from omoitrade.model.venue import MarketData, VenueAdapter
from omoitrade.portfolio.ledger import PortfolioLedger
from omoitrade.portfolio.reconciliation import Reconciler, ReconciliationResult
from omoitrade.risk import APPROVED, RiskConfig, RiskDecision, RiskEngine, TradingState
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


# Saves the risk state that must outlive the process (e.g. to the store): the limit rows with
# their current value and breach flag, and each portfolio's equity marks.
RiskSink = Callable[[Sequence[RiskLimit], Mapping[PortfolioId, EquityMarks]], None]


class LedgerRiskView:
    """The risk engine's view of the world, from the ledger, the order manager and prices."""

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
        self.risk = RiskEngine(LedgerRiskView(self), clock, bus, self.config.risk)
        for setup in portfolios:
            self.risk.set_limits(setup.portfolio.id, setup.limits)
        self._flattening: set[ClientOrderId] = set()
        self._flatten_numbers = count(1)
        self.orders = OrderManager(
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
        )
        self.journal = journal
        bus.subscribe("events.risk.*", self._persist, priority=100)  # stored before acted on
        bus.subscribe(FILL_TOPICS, self._on_fill)
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
        """Rebuild the ledger from past fill events and the risk state from its events
        (the event store's history, oldest first) and saved equity marks, before trading
        resumes."""
        for portfolio_id, marks in (equity_marks or {}).items():
            if portfolio_id in self.portfolios:
                self.risk.seed_equity_marks(portfolio_id, marks)
        risk_events = []
        for event in events:
            if isinstance(event, OrderFillEvent):
                self._apply_fill(event)
            elif event.topic.startswith("events.risk."):
                risk_events.append(event)
        self.risk.restore(risk_events)

    async def reconcile(self) -> list[ReconciliationResult]:
        """Reconcile every portfolio with its venue (on start, and on demand)."""
        results = []
        venues = {self.instruments[i].exchange for i in self.instruments}
        for setup in self.portfolios.values():
            portfolio_id = setup.portfolio.id
            positions = self.ledger.signed_quantities(portfolio_id)
            for code in sorted(venues):
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
            decision = self.risk.check_order(order)
        else:
            decision = self.risk.check_amend(
                before, quantity=order.quantity, price=order.price, stop_price=order.stop_price
            )
        return None if decision is APPROVED else _rejection(decision)  # approved: at once

    def _persist(self, event: DomainEvent) -> None:
        """Risk events go to the event store (the kill switch must survive a restart)."""
        self.journal.write([], [], [], [event])

    def _on_fill(self, event: OrderFillEvent) -> None:
        self._apply_fill(event)
        self.risk.update(event.portfolio_id)

    def _apply_fill(self, event: OrderFillEvent) -> None:
        instrument = self.instruments[event.instrument_id]
        publish = self.bus.publish
        for change in self.ledger.apply_fill(event, instrument):
            publish(change.topic, change)  # for screens; positions rebuild from fills
        self.prices.setdefault(event.instrument_id, event.fill_price)

    def on_market_data(self, data: MarketData) -> None:
        """Quotes mark the ledger and set the reference price; trades set it too."""
        if isinstance(data, Quote):
            self.mark_price(data.instrument_id, data.mid, data.timestamp)
        elif isinstance(data, TradeTick):
            self.prices[data.instrument_id] = data.price

    def mark_price(self, instrument_id: InstrumentId, price: Decimal, at: datetime) -> None:
        """``price`` is the instrument's market price now: the reference price of the risk
        checks, and the mark of its positions (a quote's mid; a backtest's bar price)."""
        self.prices[instrument_id] = price
        self.ledger.mark(instrument_id, price, at)

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


def _rejection(decision: RiskDecision) -> PreTradeRejection | None:
    if decision.approved:
        return None
    first, *others = decision.rejections
    message = first.message
    if others:
        message += "; also " + "; ".join(str(r) for r in others)
    return PreTradeRejection(str(first.code), message)
