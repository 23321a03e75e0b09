"""The paper-trading session of ``omoitrade run``: the whole system on one clock.

The database (migrated, the demo desk seeded), the example strategies registered under
governance (first start) or found with their current version (later starts), the
synthetic market with its simulated exchange, a trading node (risk, orders, positions)
with the signal pipeline, the approvals wiring, and a snapshot of it all for a view.

The simulated exchange keeps our accounts' history in its **own** SQLite file (the
command journal and the reports of :mod:`omoitrade.venues.sim.journal`), apart from the
system's database. Its matching runs in memory against the background liquidity (which
is not journaled: it is the market, not an account). On a restart the exchange rebuilds
our accounts (fills, positions, working orders) from its file, puts the working orders
back in its fresh books, and the node reconciles against *that*, not against its own
memory. The synthetic prices resume where they stopped.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

from omoitrade.core.approvals import ApprovalDesk, ApprovalRequest
from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import Clock, TimeEvent
from omoitrade.core.errors import NotFound, OmoiError
from omoitrade.core.ids import IdGenerator
from omoitrade.data.synthetic import SyntheticMarket
from omoitrade.data.synthetic_config import demo_market_config
from omoitrade.model import Bar, Instrument, Quote, Timeframe, TradeTick
from omoitrade.model.enums import ExecType, OrderSide, OrderStatus, SignalStatus, TradingMode
from omoitrade.model.events import (
    DomainEvent,
    OrderFillEvent,
    SignalEvent,
    SignalRejected,
    SignalSettled,
    TradePhaseChanged,
)
from omoitrade.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    SignalId,
    StrategyId,
    VenueOrderId,
    VenueTradeId,
)
from omoitrade.model.orders import Order
from omoitrade.model.portfolios import Portfolio
from omoitrade.model.positions import Position
from omoitrade.model.signals import Signal
from omoitrade.model.venue import (
    AmendOrder,
    Balance,
    CancelOrder,
    CommandRejected,
    ExecutionReport,
    MarketDataHandler,
    ReportHandler,
    SubmitOrder,
    VenuePosition,
    VenueReport,
)
from omoitrade.portfolio.reconciliation import DISCREPANCY_TOPIC, Discrepancy
from omoitrade.runtime.approval_store import AdoptionResult, ApprovalStore
from omoitrade.runtime.demo import SIM_EXCHANGE, seed_demo
from omoitrade.runtime.paper import PaperMarket, PaperMarketConfig
from omoitrade.runtime.signal_records import SignalRecorder
from omoitrade.runtime.signal_wiring import signal_pipeline
from omoitrade.runtime.strategy_context import NodeStrategyContext, StrategyRouter
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
from omoitrade.strategy.document import StrategyDocumentError, validate_document
from omoitrade.strategy.rule_strategy import RuleStrategy
from omoitrade.venues.sim import wire
from omoitrade.venues.sim.accounts import SimAccount
from omoitrade.venues.sim.durable import run_now
from omoitrade.venues.sim.exchange import SimulatedExchange
from omoitrade.venues.sim.journal import Journal

_log = logging.getLogger("omoitrade.runtime.paper_session")
SECOND_NS = 1_000_000_000
DEMO_AUTHOR = "system:demo"
STARTING_CASH = {"USD": Decimal("1000000")}  # the exchange account's own starting cash
_WORKING = (OrderStatus.SUBMITTED, OrderStatus.PARTIAL)


def default_strategies_dir() -> Path:
    """``examples/strategies`` of the source tree this package runs from."""
    return Path(__file__).resolve().parents[3] / "examples" / "strategies"


# --- the exchange ----------------------------------------------------------------------------
@dataclass(slots=True)
class _Restored:
    """An order put back in the fresh books after a restart: what it was before."""

    venue_order_id: VenueOrderId | None
    quantity: Decimal
    filled: Decimal


class PaperVenue:
    """A :class:`~omoitrade.model.venue.VenueAdapter`: the synthetic market's exchange for
    matching, our accounts' history in the exchange's own file.

    Commands are journaled (committed) before they reach the books; every report for our
    accounts is stored before it is delivered, with ids of this file (report ids, and
    venue order and trade ids prefixed by the start's number, so they never repeat across
    restarts). Commands that arrive while the exchange is busy (a strategy reacting to
    market data the exchange is publishing) wait until it is done: nothing re-enters the
    matching engine.
    """

    def __init__(self, exchange: SimulatedExchange, path: Path) -> None:
        self.exchange = exchange
        self.path = path
        self.journal = Journal(path)
        self._report_handlers: list[ReportHandler] = []
        self._latest: dict[tuple[AccountId, ClientOrderId], ExecutionReport] = {}
        self._fills: list[ExecutionReport] = []
        self._accounts: dict[AccountId, SimAccount] = {}
        self._restored: dict[tuple[AccountId, ClientOrderId], _Restored] = {}
        self._restoring = False
        self._busy = False
        self._waiting: deque[Callable[[], None]] = deque()
        self.prices: dict[InstrumentId, Decimal] = {}
        self._load()
        self.start_number = self.journal.append(self._now(), [{"kind": "start"}])[0].sequence
        self._report_ids = count(self.journal.last_report_id() + 1)
        exchange.on_report(self._on_report)

    def _now(self) -> int:
        return self.exchange.clock.timestamp_ns()

    def _load(self) -> None:
        """Our accounts as the file has them: fills, latest order states, prices."""
        for entry in self.journal.entries():
            if entry.payload.get("kind") == "prices":
                self.prices = {
                    InstrumentId.parse(k): Decimal(v) for k, v in entry.payload["prices"].items()
                }
        after = 0
        while True:
            page = self.journal.reports_after(after, 1000)
            if not page:
                break
            for data in page:
                report = wire.decode_report(data)
                after = report.report_id
                if isinstance(report, ExecutionReport):
                    self._book(report)

    def _book(self, report: ExecutionReport) -> None:
        key = (report.account_id, report.client_order_id)
        if report.exec_type is ExecType.REJECTED and key in self._latest:
            return
        self._latest[key] = report
        if report.exec_type is ExecType.TRADE:
            self._fills.append(report)
            instrument = self.exchange.instrument(report.instrument_id)
            self._account(report.account_id).apply_fill(report, instrument)

    def _account(self, account_id: AccountId) -> SimAccount:
        account = self._accounts.get(account_id)
        if account is None:
            account = self._accounts[account_id] = SimAccount(account_id)
            for currency, amount in STARTING_CASH.items():
                account.deposit(currency, amount)
        return account

    # --- exclusive access to the books ----------------------------------------------------
    def exclusive(self, work: Callable[[], None]) -> None:
        """Run ``work`` on the books now, or after the work in progress."""
        self._waiting.append(work)
        if self._busy:
            return
        self._busy = True
        try:
            while self._waiting:
                self._waiting.popleft()()
        finally:
            self._busy = False

    def resume_orders(self) -> int:
        """Put our working orders back in the fresh books (after a restart)."""
        working = [r for r in self._latest.values() if _working(r)]
        for report in sorted(working, key=lambda r: r.report_id):
            key = (report.account_id, report.client_order_id)
            self._restored[key] = _Restored(
                report.venue_order_id, report.quantity, report.filled_quantity
            )
            command = SubmitOrder(
                report.account_id,
                report.client_order_id,
                report.instrument_id,
                report.side,
                report.order_type,
                report.leaves_quantity,
                report.time_in_force,
                price=report.price,
                stop_price=report.stop_price,
            )

            def place(command: SubmitOrder = command) -> None:
                self._restoring = True
                try:
                    self.exchange.act(command)
                finally:
                    self._restoring = False

            self.exclusive(place)
        return len(working)

    def save_prices(self, prices: dict[InstrumentId, Decimal]) -> None:
        encoded = {str(k): str(v) for k, v in prices.items()}
        self.journal.append(self._now(), [{"kind": "prices", "prices": encoded}])

    # --- reports ----------------------------------------------------------------------------
    def _on_report(self, report: VenueReport) -> None:
        translated: ExecutionReport | CommandRejected | None
        if isinstance(report, ExecutionReport):
            translated = self._translate(report)
            if translated is None:
                return
        elif isinstance(report, CommandRejected):
            translated = replace(report, report_id=next(self._report_ids))
        else:
            return
        self.journal.store_reports(self.journal.last_sequence, [translated])
        if isinstance(translated, ExecutionReport):
            self._book(translated)
        for handler in self._report_handlers:
            handler(translated)

    def _translate(self, report: ExecutionReport) -> ExecutionReport | None:
        key = (report.account_id, report.client_order_id)
        restored = self._restored.get(key)
        trade_id = report.trade_id
        if trade_id is not None:
            trade_id = VenueTradeId(f"{self.start_number}-{trade_id}")
        venue_order_id = report.venue_order_id
        if venue_order_id is not None:
            venue_order_id = VenueOrderId(f"{self.start_number}-{venue_order_id}")
        quantity, filled = report.quantity, report.filled_quantity
        exec_type, status, reason = report.exec_type, report.order_status, report.reason
        if restored is not None:
            if self._restoring and exec_type is ExecType.NEW:
                return None  # it was working before: nothing new to say
            venue_order_id = restored.venue_order_id or venue_order_id
            quantity, filled = restored.quantity, restored.filled + report.filled_quantity
            if exec_type is ExecType.REJECTED:  # could not be put back: it ends here
                exec_type, status = ExecType.CANCELLED, OrderStatus.CANCELLED
                reason = f"lost at the exchange's restart: {reason}"
            if status is OrderStatus.SUBMITTED and filled > 0:
                status = OrderStatus.PARTIAL
        return report._replace(
            report_id=next(self._report_ids),
            venue_order_id=venue_order_id,
            trade_id=trade_id,
            quantity=quantity,
            filled_quantity=filled,
            exec_type=exec_type,
            order_status=status,
            reason=reason,
        )

    # --- VenueAdapter -----------------------------------------------------------------------
    @property
    def venue(self) -> str:
        return self.exchange.venue

    def instruments(self) -> list[Instrument]:
        return self.exchange.instruments()

    def on_report(self, handler: ReportHandler) -> None:
        self._report_handlers.append(handler)

    def on_market_data(self, handler: MarketDataHandler) -> None:
        self.exchange.on_market_data(handler)

    def submit(self, command: SubmitOrder) -> None:
        self._command("submit", command)

    def cancel(self, command: CancelOrder) -> None:
        self._command("cancel", command)

    def amend(self, command: AmendOrder) -> None:
        self._command("amend", command)

    def _command(self, kind: str, command: SubmitOrder | CancelOrder | AmendOrder) -> None:
        self.exchange.instrument(command.instrument_id)  # NotFound before it is journaled
        self.journal.append(self._now(), [{"kind": kind, "command": wire.encode_command(command)}])
        self._account(command.account_id)
        act = getattr(self.exchange, kind)
        self.exclusive(lambda: act(command))

    async def order_status(
        self, account_id: AccountId, client_order_id: ClientOrderId
    ) -> ExecutionReport | None:
        latest = self._latest.get((account_id, client_order_id))
        return None if latest is None else self._status(latest)

    async def open_orders(self, account_id: AccountId) -> list[ExecutionReport]:
        return [
            self._status(r)
            for (account, _), r in self._latest.items()
            if account == account_id and _working(r)
        ]

    async def fills_since(self, account_id: AccountId, since: datetime) -> list[ExecutionReport]:
        return [f for f in self._fills if f.account_id == account_id and f.timestamp >= since]

    async def balances(self, account_id: AccountId) -> list[Balance]:
        return self._account(account_id).balances()

    async def positions(self, account_id: AccountId) -> list[VenuePosition]:
        return self._account(account_id).positions()

    def _status(self, report: ExecutionReport) -> ExecutionReport:
        return report._replace(
            report_id=next(self._report_ids),
            exec_type=ExecType.STATUS,
            timestamp=self.exchange.clock.utc_now(),
            last_quantity=None,
            last_price=None,
            trade_id=None,
            liquidity=None,
            commission=Decimal(0),
            commission_currency=None,
        )

    def submits_of(self, client_order_id: ClientOrderId) -> int:
        """How many times a submit of this client order id reached the exchange (tests)."""
        return sum(
            1
            for entry in self.journal.entries()
            if entry.payload.get("kind") == "submit"
            and entry.payload["command"]["client_order_id"] == str(client_order_id)
        )

    def close(self) -> None:
        self.journal.dispose()


def _working(report: ExecutionReport) -> bool:
    return report.order_status in _WORKING and report.leaves_quantity > 0


# --- the session -----------------------------------------------------------------------------
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
    history: int = 50  # recent signals, fills and alerts kept for the view


@dataclass(frozen=True, slots=True)
class SignalRow:
    signal: Signal
    strategy: str
    symbol: str
    phase: str


@dataclass(frozen=True, slots=True)
class FillRow:
    at: datetime
    symbol: str
    side: OrderSide
    quantity: Decimal
    price: Decimal
    client_order_id: str


@dataclass(frozen=True, slots=True)
class PositionRow:
    symbol: str
    position: Position


@dataclass(frozen=True, slots=True)
class RiskRow:
    portfolio: str
    trading_state: str
    equity: Decimal
    cash: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    limits: list[tuple[str, float, bool]]


@dataclass(frozen=True, slots=True)
class Alert:
    at: datetime
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class StrategyRow:
    name: str
    version: int
    state: str
    failure: str | None


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """What the view shows, at one moment."""

    at: datetime
    quotes: list[tuple[str, Quote | None, Bar | None]]
    strategies: list[StrategyRow]
    signals: list[SignalRow]
    orders: list[tuple[str, Order]]
    fills: list[FillRow]
    positions: list[PositionRow]
    risk: list[RiskRow]
    approvals: list[ApprovalRequest]
    alerts: list[Alert]


@dataclass(slots=True)
class _Running:
    """One registered strategy in the session."""

    strategy: RuleStrategy
    context: NodeStrategyContext
    base_metrics: dict[str, Any] = field(default_factory=dict)
    signals: int = 0
    settled: int = 0


class PaperSession:
    """Builds the paper session on ``clock``; :meth:`start` then drive the clock; :meth:`stop`."""

    def __init__(self, clock: Clock, config: PaperSessionConfig) -> None:
        self.clock, self.config = clock, config
        self.alerts: deque[Alert] = deque(maxlen=config.history)
        self.fills: deque[FillRow] = deque(maxlen=config.history)
        self._signals: dict[SignalId, Signal] = {}
        self._phases: dict[SignalId, str] = {}
        self.strategies: dict[StrategyId, _Running] = {}
        self.adoption = AdoptionResult([], [])
        self.reconciliation: list[Discrepancy] = []
        self.started = False
        self._paused_seen: set[str] = set()
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
        events = list(self._stored_events())
        node.restore(events, equity_marks_from_store(database, [self.portfolio.id]))
        self._restore_strategy_positions(events)
        self.adoption = self.approvals.adopt_pending({"strategy": self.service.on_live_decision})
        for request in self.adoption.rejected:
            self._alert("approval", f"{request.requested_action}: rejected, {RESTART_NOTE}")
        restored = venue.resume_orders()
        if restored:
            self._alert("exchange", f"{restored} working order(s) back in the books")
        results = run_now(node.reconcile())
        self.reconciliation = [d for r in results for d in r.discrepancies]
        adopted = self._adopt_open_trades()
        if adopted:
            self._alert("signals", f"{adopted} open trade(s) taken back under management")
        market.pipeline.start()
        venue.exclusive(lambda: market.liquidity.update(market.synthetic.fair_values(), 0))
        self._timer("paper-market", config.step_ns, self._step)
        self._timer("paper-performance", config.performance_interval_ns, self._performance)
        self._timer("paper-prices", 30 * SECOND_NS, lambda _: self._save_prices())
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
        """The example documents, adapted to the demo: every one on ``timeframe`` bars, on
        the instruments traded here, and long only where it said both (RuleStrategy trades
        one side)."""
        if self.config.documents is not None:
            return [dict(d) for d in self.config.documents]
        directory = self.config.strategies_dir or default_strategies_dir()
        if not directory.is_dir():
            self._alert("strategies", f"no strategy documents: {directory} is not a directory")
            return []
        known = {f"{SIM_EXCHANGE}:{i.symbol}" for i in self.instruments.values()}
        documents = []
        for path in sorted(directory.glob("*.json")):
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                self._alert("strategies", f"{path.name}: not read ({error})")
                continue
            names = [n for n in document.get("instruments", []) if n in known]
            if not names:
                self._alert("strategies", f"{path.name}: none of its instruments trade here")
                continue
            document["instruments"] = names
            document["timeframe"] = self.config.timeframe.value
            risk = document.get("risk_parameters", {})
            if risk.get("direction") == "both":
                risk["direction"] = "long_only"
            documents.append(document)
        return documents

    def _register_strategies(self) -> None:
        table_names: dict[str, StrategyId] = {}
        with self.database.transaction(write=False) as uow:
            t = uow.strategies.table
            for row in uow.strategies.list(t.c.portfolio_id == key_of(self.portfolio.id)):
                table_names.setdefault(row.name, row.id)
        for document in self.demo_documents():
            name = str(document.get("name", "?"))
            try:
                strategy_id = table_names.get(name)
                if strategy_id is None:
                    stored, version = self.service.create(self.portfolio.id, document, DEMO_AUTHOR)
                    strategy_id, content = stored.id, version.document
                    number = version.version
                else:
                    with self.database.transaction(write=False) as uow:
                        stored = uow.strategies.get(strategy_id)
                        found = uow.strategy_versions.version(strategy_id, stored.version)
                        base = uow.strategy_performance.of(
                            strategy_id, stored.version, TradingMode.PAPER
                        )
                    if found is None:
                        raise NotFound(f"version {stored.version} of strategy", strategy_id)
                    content, number = found.document, found.version
                checked = validate_document(content)
                context = NodeStrategyContext(
                    node=self.node,
                    pipeline=self.pipeline,
                    portfolio_id=self.portfolio.id,
                    strategy_id=strategy_id,
                    name=name,
                    version=number,
                    document=checked,
                    signal_ttl_ns=self.config.signal_ttl_ns,
                )
                strategy = RuleStrategy(context, checked)
            except (StrategyDocumentError, OmoiError) as error:
                self._alert("strategies", f"{name}: not started ({error})")
                continue
            running = _Running(strategy, context)
            if table_names.get(name) is not None and base is not None:
                running.base_metrics = dict(base.metrics)
            self.strategies[strategy_id] = running
            self.router.add(strategy, context)

    def _adopt_open_trades(self) -> int:
        """Signals whose trades were open when the process stopped go back under the
        pipeline's management (stops, trailing, holding time, settlement)."""
        with self.database.transaction(write=False) as uow:
            signals = uow.signals.list(
                uow.signals.table.c.status.in_([SignalStatus.VALIDATED, SignalStatus.EXECUTED])
            )
            candidates = []
            for signal in signals:
                settled = any(isinstance(e, SignalSettled) for e in uow.events.stream(signal.id))
                if not settled:
                    candidates.append((signal, uow.orders.for_signal(signal.id)))
        registry = self.node.orders.registry
        count = 0
        for signal, stored in candidates:
            orders = [registry.get(o.id) or o for o in stored]
            if self.pipeline.adopt(signal, orders) is not None:
                count += 1
        return count

    def _restore_strategy_positions(self, events: list[DomainEvent]) -> None:
        """Each strategy's own position, from the stored fills of its orders."""
        if not self.strategies:
            return
        with self.database.transaction(write=False) as uow:
            for running in self.strategies.values():
                signals = uow.signals.list(
                    uow.signals.table.c.strategy_id == key_of(running.context.strategy_id)
                )
                running.context.signal_ids.update(s.id for s in signals)
            orders = {
                o.id: o
                for o in uow.orders.list(
                    uow.orders.table.c.portfolio_id == key_of(self.portfolio.id)
                )
            }
        for event in events:
            if not isinstance(event, OrderFillEvent):
                continue
            order = orders.get(event.order_id)
            if order is None:
                continue
            for running in self.strategies.values():
                if running.context.owns(order):
                    running.context.on_fill(event)
                    break

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
        running = None
        signal = self._signals.get(event.signal_id)
        if signal is not None:
            running = self.strategies.get(signal.strategy_id)
        if isinstance(event, SignalRejected):
            who = running.context.name if running is not None else "a strategy"
            self._alert("signal", f"{who}: signal rejected: {_reason(event)}")
        if running is not None and isinstance(event, SignalSettled):
            running.settled += 1
        if running is not None and type(event).__name__ == "SignalCreated":
            running.signals += 1

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
        for strategy_id, running in self.strategies.items():
            context = running.context
            realized = self.pipeline.realized_by_version.get(
                (strategy_id, context.version), Decimal(0)
            )
            base = running.base_metrics
            metrics = {
                "realized_pnl": str(Decimal(str(base.get("realized_pnl", "0"))) + realized),
                "signals": int(base.get("signals", 0)) + running.signals,
                "trades_settled": int(base.get("trades_settled", 0)) + running.settled,
                "position": {str(k): str(v) for k, v in context.positions.items() if v != 0},
            }
            try:
                self.service.record_performance(strategy_id, TradingMode.PAPER, metrics)
            except OmoiError as error:
                self._alert("performance", f"{context.name}: not recorded ({error})")

    def _save_prices(self) -> None:
        self.venue.save_prices(self.market.synthetic.fair_values())

    def _stored_events(self) -> Iterator[DomainEvent]:
        after = 0
        while True:
            with self.database.transaction(write=False) as uow:
                page = uow.events.read(after, 1000)
            if not page:
                return
            for stored in page:
                yield stored.event
            after = page[-1].sequence

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
