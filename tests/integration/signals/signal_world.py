"""A trading node, simulated exchange and signal pipeline on a simulated clock, for tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal as D
from typing import Any

from omoitrade.core.approvals import ApprovalDesk, NamedPolicy
from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import SimulatedClock
from omoitrade.execution.journal import InMemoryOrderJournal, OrderJournal
from omoitrade.model import Signal
from omoitrade.model.enums import (
    BreachAction,
    LimitType,
    OrderSide,
    OrderType,
    SignalType,
    TradePhase,
)
from omoitrade.model.events import DomainEvent, SignalSettled, TradePhaseChanged
from omoitrade.model.identifiers import AccountId, ClientOrderId, StrategyId
from omoitrade.model.venue import SubmitOrder
from omoitrade.runtime.signal_records import SignalRecorder
from omoitrade.runtime.signal_wiring import signal_pipeline
from omoitrade.runtime.trading_node import PortfolioSetup, TradingNode
from omoitrade.signals.plan import ExecutionPlan, SettingsBook, SignalSettings
from omoitrade.signals.trade import Role
from omoitrade.store import Database
from omoitrade.store.order_journal import SqlOrderJournal
from omoitrade.testing import factories as f
from omoitrade.venues.sim.exchange import SimExchangeConfig, SimulatedExchange

BTC = f.make_instrument()
ME, MAKER, TAKER = AccountId("desk-1"), AccountId("maker"), AccountId("taker")
SECOND = 1_000_000_000


@dataclass
class World:
    """Maker and taker accounts keep a book; the desk trades through a signal pipeline."""

    settings: SignalSettings = field(default_factory=SignalSettings)
    policies: list[NamedPolicy] = field(default_factory=list)
    database: Database | None = None  # then orders, trades, signals and events are stored

    def __post_init__(self) -> None:
        self.clock = SimulatedClock(int(f.T0.timestamp() * 1e9))
        self.exchange = SimulatedExchange(self.clock, [BTC], SimExchangeConfig())
        self.exchange.open_account(ME, {"USD": D("1000000")})
        for account in (MAKER, TAKER):
            self.exchange.open_account(account, {"USD": D("10000000"), "BTC": D("100")})
        self.portfolio = f.make_portfolio(
            f.make_organization(),
            cash=D("1000000"),
            current_equity=D("1000000"),
            initial_capital=D("1000000"),
            margin_available=D("1000000"),
        )
        limits = [
            f.make_risk_limit(
                self.portfolio.id,
                limit_type=LimitType.MAX_ORDER_SIZE,
                instrument_id=BTC.id,
                limit_value=D("5"),
                action_on_breach=BreachAction.ALERT,
            )
        ]
        self.bus = MessageBus()
        strategy = f.make_strategy(self.portfolio.id)
        self.strategy_id = strategy.id
        journal: OrderJournal = InMemoryOrderJournal()
        self.recorder: SignalRecorder | None = None
        if self.database is not None:
            with self.database.transaction() as uow:
                uow.organizations.add(f.make_organization(id=self.portfolio.organization_id))
                uow.portfolios.add(self.portfolio)
                uow.instruments.add(BTC)
                uow.strategies.add(strategy)
            journal = SqlOrderJournal(self.database)
            self.recorder = SignalRecorder(self.database, self.bus)
        self.node = TradingNode(
            clock=self.clock,
            bus=self.bus,
            journal=journal,
            venues={"SIM": self.exchange},
            instruments=[BTC],
            portfolios=[PortfolioSetup(self.portfolio, ME, limits)],
        )
        self.events: list[DomainEvent] = []
        self.bus.subscribe("events.signal.*", self.events.append)
        self.bus.subscribe("events.trade.*", self.events.append)
        self.desk = ApprovalDesk(self.clock, self.node.ids, policies=self.policies)
        self.paused: list[tuple[StrategyId, str]] = []
        self.pipeline = signal_pipeline(
            self.node,
            self.desk,
            SettingsBook(self.settings),
            control=self,
        )
        if self.recorder is not None:
            self.pipeline.sink = self.recorder.save
        self.numbers = iter(range(1, 10_000))
        for price in ("41990.00", "40950.00"):
            self.rest(MAKER, OrderSide.BUY, price, "10")
        self.rest(MAKER, OrderSide.SELL, "42000.00", "10")
        self.clock.advance_by(SECOND)  # the exchange publishes its book

    def pause(self, strategy_id: StrategyId, reason: str) -> None:
        self.paused.append((strategy_id, reason))

    def rest(self, account: AccountId, side: OrderSide, price: str, quantity: str) -> None:
        self.exchange.submit(
            SubmitOrder(
                account,
                ClientOrderId(f"{account}-{next(self.numbers)}"),
                BTC.id,
                side,
                OrderType.LIMIT,
                D(quantity),
                price=D(price),
            )
        )
        self.clock.advance_by(SECOND)

    def signal(self, kind: SignalType = SignalType.BUY, **overrides: Any) -> Signal:
        values: dict[str, Any] = {
            "entry_price": None,
            "stop_loss": D("41000.00"),
            "take_profit": D("43000.00"),
            "created_at": self.clock.utc_now(),
            "expiry_at": self.clock.utc_now() + timedelta(minutes=5),
            "signal_type": kind,
        }
        return f.make_signal(self.strategy_id, BTC, **(values | overrides))

    def plan(self, **overrides: Any) -> ExecutionPlan:
        values: dict[str, Any] = {"portfolio_id": self.portfolio.id, "quantity": D("0.5")}
        return ExecutionPlan(**(values | overrides))

    def send(self, signal: Signal, plan: ExecutionPlan | None = None) -> Signal:
        return self.pipeline.submit(signal, plan or self.plan())

    def order(self, signal: Signal, role: Role, number: int = 0) -> Any:
        """The signal's order in ``role`` (exits are numbered from 1)."""
        suffix = role.value if role is Role.ENTRY else f"{role.value}{number}"
        cid = ClientOrderId(f"s-{signal.id}-{suffix}")
        return self.node.orders.registry.by_client(self.portfolio.id, cid)

    def phases(self, signal: Signal) -> list[TradePhase]:
        return [
            e.to_phase
            for e in self.events
            if isinstance(e, TradePhaseChanged) and e.signal_id == signal.id
        ]

    def settled(self, signal: Signal) -> SignalSettled:
        (settled,) = [
            e for e in self.events if isinstance(e, SignalSettled) and e.signal_id == signal.id
        ]
        return settled


FULL_CYCLE = [
    TradePhase.VALIDATION,
    TradePhase.EXECUTION,
    TradePhase.MANAGEMENT,
    TradePhase.SETTLEMENT,
    TradePhase.SIGNAL,
]
