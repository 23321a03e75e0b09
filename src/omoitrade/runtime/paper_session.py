"""The paper-trading session of ``omoitrade run``: the whole system on one clock.

The database (migrated, the demo desk seeded), the example strategies registered under
governance (first start) or found with their current version (later starts), the
synthetic market with its simulated exchange, a trading node (risk, orders, positions)
with the signal pipeline, the approvals wiring, and a snapshot of it all for a view.

The simulated exchange keeps our accounts' history in its **own** SQLite file
(:mod:`omoitrade.runtime.paper_venue`); on a restart the node reconciles against it, not
against its own memory. The synthetic prices resume where they stopped. The strategies'
registration and building are in :mod:`omoitrade.runtime.paper_strategies`, their paper
records (P&L in the base currency, the equity curve) in
:mod:`omoitrade.runtime.paper_record`, the live view's snapshot types in
:mod:`omoitrade.runtime.paper_snapshot`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from omoitrade.core.approvals import ApprovalDesk
from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import Clock, TimeEvent
from omoitrade.core.errors import OmoiError
from omoitrade.core.ids import IdGenerator
from omoitrade.data.synthetic import SyntheticMarket
from omoitrade.data.synthetic_config import demo_market_config
from omoitrade.model import Bar, Instrument, Quote, Timeframe, TradeTick
from omoitrade.model.enums import TradingMode
from omoitrade.model.events import (
    DomainEvent,
    OrderFillEvent,
    SignalCreated,
    SignalEvent,
    SignalRejected,
    SignalSettled,
    TradePhaseChanged,
)
from omoitrade.model.identifiers import (
    AccountId,
    InstrumentId,
    SignalId,
    StrategyId,
)
from omoitrade.model.portfolios import Portfolio
from omoitrade.model.signals import Signal
from omoitrade.portfolio.reconciliation import DISCREPANCY_TOPIC, Discrepancy
from omoitrade.runtime.approval_store import AdoptionResult, ApprovalStore
from omoitrade.runtime.demo import SIM_EXCHANGE, seed_demo
from omoitrade.runtime.paper import PaperMarket, PaperMarketConfig
from omoitrade.runtime.paper_record import fx_rate, open_pnl
from omoitrade.runtime.paper_resume import (
    adopt_open_trades,
    default_strategies_dir,
    demo_documents,
    restore_strategy_positions,
    stored_events,
)
from omoitrade.runtime.paper_snapshot import (
    Alert,
    FillRow,
    PositionRow,
    RiskRow,
    SessionSnapshot,
    SignalRow,
    StrategyRow,
)
from omoitrade.runtime.paper_strategies import (
    Qualifier,
    RunningStrategy,
    StrategySetup,
    register_strategies,
)
from omoitrade.runtime.paper_venue import PaperVenue
from omoitrade.runtime.signal_records import SignalRecorder
from omoitrade.runtime.signal_wiring import signal_pipeline
from omoitrade.runtime.strategy_context import StrategyRouter
from omoitrade.runtime.strategy_service import StrategyService
from omoitrade.runtime.trading_node import (
    PortfolioSetup,
    TradingNode,
    equity_marks_from_store,
    risk_state_to_store,
)
from omoitrade.signals.plan import SettingsBook, SignalSettings
from omoitrade.store import Database
from omoitrade.store import migrate as migrations
from omoitrade.store.order_journal import SqlOrderJournal
from omoitrade.store.repositories import key_of
from omoitrade.strategy.base import StrategyRunner, StrategyState
from omoitrade.venues.sim.durable import run_now

_log = logging.getLogger("omoitrade.runtime.paper_session")
SECOND_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class PaperSessionConfig:
    """Where the session keeps its data and how it trades."""

    database_url: str
    exchange_path: Path
    seed: int = 7
    step_ns: int = 250_000_000
    strategies_dir: Path | None = None  # None: the examples of the source tree
    documents: tuple[dict[str, Any], ...] | None = None  # instead of a directory
    timeframe: Timeframe = Timeframe.M1  # the demo runs every document on these bars
    high_value_notional: Decimal | None = Decimal("50000")  # bigger entries need approval
    signal_ttl_ns: int = 5 * 60 * SECOND_NS
    performance_interval_ns: int = 60 * SECOND_NS
    resolve_interval_ns: int = 5 * SECOND_NS  # how often unclear orders are asked about
    history: int = 50  # recent signals, fills and alerts kept for the view
    # earns a DRAFT strategy its PAPER status (backtest stored, lifecycle moved); without
    # it strategies trade as stored
    qualify: Qualifier | None = None


class PaperSession:
    """Builds the paper session on ``clock``; :meth:`start` then drive the clock; :meth:`stop`."""

    def __init__(self, clock: Clock, config: PaperSessionConfig) -> None:
        self.clock, self.config = clock, config
        self.alerts: deque[Alert] = deque(maxlen=config.history)
        self.fills: deque[FillRow] = deque(maxlen=config.history)
        self._signals: dict[SignalId, Signal] = {}
        self._phases: dict[SignalId, str] = {}
        self.strategies: dict[StrategyId, RunningStrategy] = {}
        self.adoption = AdoptionResult([], [])
        self.reconciliation: list[Discrepancy] = []
        self.started = False
        self._paused_seen: set[str] = set()
        self._unvalued: set[StrategyId] = set()  # records waiting for an FX rate
        self._timers: list[str] = []

    # --- start --------------------------------------------------------------------------------
    def start(self) -> None:
        """Open everything, resume from the store and the exchange's file, reconcile."""
        config, clock = self.config, self.clock
        migrations.upgrade(config.database_url)
        self.database = database = Database(config.database_url, clock=clock)
        self.seed = seed_demo(database)
        with database.transaction(write=False) as uow:
            self.portfolio: Portfolio = uow.portfolios.get(self.seed.portfolio_id)
            instruments = uow.instruments.list(uow.instruments.table.c.exchange == SIM_EXCHANGE)
        self.instruments = {i.id: i for i in instruments}
        self.ids = IdGenerator(clock.timestamp_ns, thread_safe=False)
        self.bus = bus = MessageBus()
        self.market = market = PaperMarket(
            clock, instruments, PaperMarketConfig(step_ns=config.step_ns, seed=config.seed), bus
        )
        self.venue = venue = PaperVenue(market.exchange, config.exchange_path)
        market.synthetic = self._synthetic(instruments, venue)
        self.account_id = AccountId(f"paper-{self.portfolio.id.hex[:12]}")
        with database.transaction(write=False) as uow:
            limits = uow.risk_limits.list(
                uow.risk_limits.table.c.portfolio_id == key_of(self.portfolio.id)
            )
        self.node = node = TradingNode(
            clock=clock,
            bus=bus,
            journal=SqlOrderJournal(database),
            venues={SIM_EXCHANGE: venue},
            instruments=instruments,
            portfolios=[PortfolioSetup(self.portfolio, self.account_id, limits)],
            ids=self.ids,
            risk_sink=risk_state_to_store(database),
        )
        self.desk = ApprovalDesk(clock, self.ids)
        self.approvals = ApprovalStore(database)
        self.approvals.attach(self.desk)
        self.service = StrategyService(database, clock, self.desk, bus, self.ids)
        settings = SettingsBook(SignalSettings(high_value_notional=config.high_value_notional))
        self.pipeline = pipeline = signal_pipeline(node, self.desk, settings, control=self)
        self.recorder = SignalRecorder(database, bus)
        pipeline.sink = self._keep_signal
        self.runner = StrategyRunner()
        self.router = StrategyRouter(node, self.runner)
        self._subscribe()
        self._register_strategies()
        # resume: the books from the event store, the exchange from its file, then compare
        events = list(stored_events(database))
        node.restore(events, equity_marks_from_store(database, [self.portfolio.id]))
        restore_strategy_positions(
            database, self.portfolio.id, (r.context for r in self.strategies.values()), events
        )
        self.adoption = self.approvals.adopt_pending({"strategy": self.service.on_live_decision})
        for request in self.adoption.rejected:
            self._alert("approval", f"{request.requested_action}: rejected, {RESTART_NOTE}")
        restored = venue.resume_orders()
        if restored:
            self._alert("exchange", f"{restored} working order(s) back in the books")
        results = run_now(node.reconcile())
        self.reconciliation = [d for r in results for d in r.discrepancies]
        adopted = adopt_open_trades(database, pipeline, node.orders.registry)
        if adopted:
            self._alert("signals", f"{adopted} open trade(s) taken back under management")
        market.pipeline.start()
        venue.exclusive(lambda: market.liquidity.update(market.synthetic.fair_values(), 0))
        self._timer("paper-market", config.step_ns, self._step)
        self._timer("paper-performance", config.performance_interval_ns, self._performance)
        self._timer("paper-prices", 30 * SECOND_NS, lambda _: self._save_prices())
        self._timer("paper-resolve", config.resolve_interval_ns, self._resolve_unclear)
        self.approvals.start_polling(clock)
        self.runner.start()
        self.started = True

    def _synthetic(self, instruments: list[Instrument], venue: PaperVenue) -> SyntheticMarket:
        """The demo market, from the prices it stopped at (and a seed of this start's own)."""
        config = demo_market_config(instruments, self.config.seed + venue.start_number)
        specs = tuple(
            replace(s, initial_price=s.instrument.round_price(venue.prices[s.instrument.id]))
            if s.instrument.id in venue.prices
            else s
            for s in config.instruments
        )
        return SyntheticMarket(replace(config, instruments=specs))

    def _timer(self, name: str, interval_ns: int, callback: Callable[[TimeEvent], None]) -> None:
        self.clock.set_timer(name, interval_ns, callback)
        self._timers.append(name)

    def _resolve_unclear(self, _: TimeEvent) -> None:
        """Ask the venue about orders whose last command got no clear answer, if any."""
        reports = self.node.orders.reports
        if reports.has_unclear():
            run_now(reports.resolve_in_flight())

    def _subscribe(self) -> None:
        bus = self.bus
        bus.subscribe("data.bars.*", self._on_bar)
        bus.subscribe("data.quotes.*", self._on_quote)
        bus.subscribe("data.trades.*", self._on_trade_tick)
        bus.subscribe("events.order.*filled", self._on_fill)
        bus.subscribe("events.signal.*", self._on_signal_event)
        bus.subscribe("events.trade.*", self._on_phase)
        bus.subscribe("events.risk.*", self._on_risk_event)
        bus.subscribe(DISCREPANCY_TOPIC, self._on_discrepancy)

    # --- strategies ---------------------------------------------------------------------------
    def demo_documents(self) -> list[dict[str, Any]]:
        """The example documents, adapted to the demo (see ``paper_resume.demo_documents``)."""
        if self.config.documents is not None:
            return [dict(d) for d in self.config.documents]
        directory = self.config.strategies_dir or default_strategies_dir()
        documents, problems = demo_documents(
            directory, self.instruments.values(), self.config.timeframe
        )
        for problem in problems:
            self._alert("strategies", problem)
        return documents

    def _register_strategies(self) -> None:
        """The strategies (``paper_strategies``), each given its instruments' market data."""
        config = self.config
        setup = StrategySetup(
            database=self.database,
            portfolio=self.portfolio,
            service=self.service,
            node=self.node,
            pipeline=self.pipeline,
            instruments=list(self.instruments.values()),
            signal_ttl_ns=config.signal_ttl_ns,
            performance_interval_ns=config.performance_interval_ns,
            qualify=config.qualify,
            alert=self._alert,
        )
        for running in register_strategies(setup, self.demo_documents()):
            self.strategies[running.context.strategy_id] = running
            self.router.add(running.strategy, running.context, running.instruments)

    def pause(self, strategy_id: StrategyId, reason: str) -> None:
        """The pipeline's strategy control: a limit alert pauses the strategy."""
        running = self.strategies.get(strategy_id)
        if running is not None and running.strategy.state is StrategyState.RUNNING:
            running.strategy.state = StrategyState.PAUSED
            self._alert("strategy", f"{running.context.name} paused: {reason}")

    # --- the market ---------------------------------------------------------------------------
    def _step(self, _: TimeEvent) -> None:
        market, step = self.market, self.config.step_ns

        def move() -> None:
            market.liquidity.update(market.synthetic.step(step), step)

        self.venue.exclusive(move)
        self.router.drain()
        self._watch_strategies()

    def _on_bar(self, bar: Bar) -> None:
        if bar.timeframe is self.config.timeframe:
            self.router.guarded(lambda: self.runner.on_bar(bar))

    def _on_quote(self, quote: Quote) -> None:
        rate = fx_rate(self.instruments.get(quote.instrument_id), quote)
        if rate is not None:  # the latest rate, for values in the base currency
            self.node.ledger.set_rate(*rate, at=quote.timestamp)
        self.router.guarded(lambda: self.runner.on_quote(quote))

    def _on_trade_tick(self, tick: TradeTick) -> None:
        self.router.guarded(lambda: self.runner.on_trade_tick(tick))

    # --- what happened, for the view ----------------------------------------------------------
    def _keep_signal(self, signal: Signal) -> None:
        self.recorder.save(signal)
        self._signals[signal.id] = signal
        while len(self._signals) > self.config.history:
            oldest = next(iter(self._signals))
            del self._signals[oldest]
            self._phases.pop(oldest, None)

    def _on_signal_event(self, event: SignalEvent) -> None:
        signal = self._signals.get(event.signal_id)
        # a new signal is announced before it is kept: its event names the strategy
        strategy_id = getattr(event, "strategy_id", None) if signal is None else signal.strategy_id
        running = None if strategy_id is None else self.strategies.get(strategy_id)
        if isinstance(event, SignalRejected):
            who = running.context.name if running is not None else "a strategy"
            self._alert("signal", f"{who}: signal rejected: {_reason(event)}")
        if (
            running is not None
            and isinstance(event, SignalSettled)
            and event.strategy_version == running.context.version
        ):
            currency = self._settled_currency(event)
            if currency is None:
                self._alert(
                    "performance",
                    f"{running.context.name}: a trade settled in {event.instrument_id} "
                    f"(P&L {event.realized_pnl}) is not in its paper record: the instrument "
                    "is not among this session's, its currency is unknown",
                )
            else:
                running.record.settle(currency, event.realized_pnl)
        if running is not None and isinstance(event, SignalCreated):
            running.record.signals += 1

    def _settled_currency(self, event: SignalSettled) -> str | None:
        """The currency of a settled trade's P&L: its instrument's quote currency, from the
        trade itself (still open while it settles), else from the session's instruments."""
        trade = self.pipeline.trade(event.strategy_id, event.instrument_id)
        if trade is not None and trade.signal.id == event.signal_id:
            return trade.instrument.quote_currency
        instrument = self.instruments.get(event.instrument_id)
        return None if instrument is None else instrument.quote_currency

    def _on_phase(self, event: DomainEvent) -> None:
        if isinstance(event, TradePhaseChanged) and event.signal_id is not None:
            self._phases[event.signal_id] = str(event.to_phase)

    def _on_fill(self, event: OrderFillEvent) -> None:
        order = self.node.orders.registry.get(event.order_id)
        self.fills.appendleft(
            FillRow(
                event.occurred_at,
                self._symbol(event.instrument_id),
                event.side,
                event.fill_quantity,
                event.fill_price,
                "" if order is None else str(order.client_order_id),
            )
        )

    def _on_risk_event(self, event: DomainEvent) -> None:
        text = ", ".join(
            f"{k}={v}"
            for k, v in _fields(event).items()
            if k not in ("event_id", "occurred_at") and v is not None
        )
        self._alert("risk", f"{type(event).__name__}: {text}")

    def _on_discrepancy(self, discrepancy: Discrepancy) -> None:
        self._alert("reconciliation", f"{discrepancy.kind}: {discrepancy.detail}")

    def _watch_strategies(self) -> None:
        for running in self.strategies.values():
            failure = running.strategy.failure
            if failure is not None and running.context.name not in self._paused_seen:
                self._paused_seen.add(running.context.name)
                self._alert("strategy", f"{running.context.name} paused: {failure.error}")
        for message in self.approvals.conflicts:
            self._alert("approval", message)
        self.approvals.conflicts.clear()

    def _alert(self, kind: str, text: str) -> None:
        self.alerts.appendleft(Alert(self.clock.utc_now(), kind, text))

    def _symbol(self, instrument_id: InstrumentId) -> str:
        instrument = self.instruments.get(instrument_id)
        return str(instrument_id) if instrument is None else instrument.symbol

    def snapshot(self) -> SessionSnapshot:
        """Everything the view shows, as it stands now."""
        node, portfolio_id = self.node, self.portfolio.id
        views = self.market.views()
        names = {sid: r.context.name for sid, r in self.strategies.items()}
        signals = [
            SignalRow(
                s,
                names.get(s.strategy_id, str(s.strategy_id)),
                self._symbol(s.instrument_id),
                self._phases.get(s.id, "-"),
            )
            for s in reversed(self._signals.values())
        ]
        ledger = node.ledger
        risk = [
            RiskRow(
                self.portfolio.name,
                str(node.risk.trading_state(portfolio_id)),
                ledger.equity(portfolio_id),
                ledger.cash(portfolio_id),
                ledger.unrealized_pnl(portfolio_id),
                ledger.realized_pnl(portfolio_id),
                [
                    (str(limit.limit_type), float(limit.utilization), bool(limit.is_breached))
                    for limit in node.risk.limits(portfolio_id)
                ],
            )
        ]
        return SessionSnapshot(
            at=self.clock.utc_now(),
            quotes=[(v.instrument.symbol, v.quote, v.bar) for v in views],
            strategies=[
                StrategyRow(
                    r.context.name,
                    r.context.version,
                    str(r.strategy.state),
                    None if r.strategy.failure is None else r.strategy.failure.error,
                )
                for r in self.strategies.values()
            ],
            signals=signals,
            orders=[
                (self._symbol(o.instrument_id), o) for o in node.orders.open_orders(portfolio_id)
            ],
            fills=list(self.fills),
            positions=[
                PositionRow(self._symbol(p.instrument_id), p)
                for p in ledger.positions(portfolio_id)
            ],
            risk=risk,
            approvals=self.desk.pending(),
            alerts=list(self.alerts),
        )

    # --- performance --------------------------------------------------------------------------
    def _performance(self, _: TimeEvent | None = None) -> None:
        """Each strategy version's paper record (``paper_record``): counts, P&L in the
        portfolio's base currency at the latest rates, its equity curve's figures. Without
        a rate the record is written all the same (counts, P&L by currency; the figures in
        the base as last valued, marked ``unvalued_since``), with an alert once."""
        at_ns, base = self.clock.timestamp_ns(), self.portfolio.base_currency
        trades, price = list(self.pipeline.open_trades()), self.pipeline.market.price
        rates = self.node.ledger.rates
        for strategy_id, running in self.strategies.items():
            context = running.context
            pnl = open_pnl(trades, (strategy_id, context.version), price)
            record = running.record
            try:
                metrics = record.update(at_ns, pnl, base, rates, context.positions)
                self.service.record_performance(
                    strategy_id, TradingMode.PAPER, metrics, version=context.version
                )
            except OmoiError as error:
                self._alert("performance", f"{context.name}: not recorded ({error})")
                continue
            missing = record.missing
            if missing is None:
                self._unvalued.discard(strategy_id)
            elif strategy_id not in self._unvalued:  # once, not every minute
                self._unvalued.add(strategy_id)
                currency = missing.from_currency
                self._alert(
                    "performance",
                    f"{context.name}: not valued: no FX rate for {currency}/"
                    f"{missing.to_currency}, its P&L in {currency} cannot be valued in {base}; "
                    "its counts are recorded, its figures in "
                    f"{base} stay as last valued",
                )

    def _save_prices(self) -> None:
        self.venue.save_prices(self.market.synthetic.fair_values())

    # --- stop ---------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop cleanly: strategies stop, nothing is cancelled; what waits is written."""
        if not self.started:
            return
        self.started = False
        self.runner.stop()
        for name in self._timers:
            if name in self.clock.timer_names():
                self.clock.cancel(name)
        self.approvals.stop_polling(self.clock)
        self.market.pipeline.stop()
        self._performance()
        self._save_prices()
        self.node.orders.flush()
        self.node.save_risk_state()
        self.venue.close()
        self.database.dispose()


RESTART_NOTE = "the process restarted while it waited"


def _fields(event: DomainEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in getattr(event, "__dataclass_fields__", {})}


def _reason(event: SignalRejected) -> str:
    result = event.validation_result
    return str(result.get("reason") or result.get("code") or result)
