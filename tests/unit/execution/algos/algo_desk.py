"""A trading desk for the algorithm tests: a node, an algorithm engine and a hand-made book.

Real components on a simulated clock: the simulated exchange (book mode), the trading
node (risk engine, order manager, ledger) and the algorithm engine; a maker account
places the resting orders each test needs, so fills are exact and known in advance.
"""

from __future__ import annotations

from decimal import Decimal as D
from itertools import count
from typing import Any

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import SimulatedClock
from omoitrade.execution.algos import ALGO_TOPICS, AlgoEngine, AlgoId, ParentOrder
from omoitrade.execution.journal import InMemoryOrderJournal
from omoitrade.model import AccountId, ClientOrderId, OrderSide, OrderType, RiskLimit
from omoitrade.model.venue import ExecutionReport, SubmitOrder
from omoitrade.risk import RiskConfig
from omoitrade.runtime.trading_node import PortfolioSetup, TradingNode, TradingNodeConfig
from omoitrade.testing import factories as f
from omoitrade.venues.sim.exchange import SimExchangeConfig, SimulatedExchange
from omoitrade.venues.sim.latency import LatencyModel

BTC = f.make_instrument()  # tick 0.01, lot 0.0001
ME, MAKER, TAKER = AccountId("desk-1"), AccountId("maker"), AccountId("taker")
SECOND = 1_000_000_000
START_NS = int(f.T0.timestamp()) * SECOND


class Desk:
    def __init__(
        self,
        *,
        latency: LatencyModel | None = None,
        risk: RiskConfig | None = None,
        limits: tuple[RiskLimit, ...] = (),
    ) -> None:
        self.clock = SimulatedClock(START_NS)
        self.bus = MessageBus()
        config = SimExchangeConfig(latency=latency or LatencyModel())
        self.exchange = SimulatedExchange(self.clock, [BTC], config)
        for account in (ME, MAKER, TAKER):
            self.exchange.open_account(account, {"USD": D("100000000"), "BTC": D("1000")})
        capital = D("10000000")
        self.portfolio = f.make_portfolio(
            f.make_organization(),
            cash=capital,
            current_equity=capital,
            initial_capital=capital,
            margin_available=capital,
        )
        self.journal = InMemoryOrderJournal()
        self.node = TradingNode(
            clock=self.clock,
            bus=self.bus,
            journal=self.journal,
            venues={"SIM": self.exchange},
            instruments=[BTC],
            portfolios=[PortfolioSetup(self.portfolio, ME, list(limits))],
            config=TradingNodeConfig(risk=risk or RiskConfig()),
        )
        self.engine = AlgoEngine(self.node.orders, self.clock, self.bus)
        self.exchange.on_market_data(self.engine.on_market_data)
        self.events: list[Any] = []
        self.bus.subscribe(ALGO_TOPICS, self.events.append)
        self._numbers = count(1)

    def rest(self, side: OrderSide, quantity: str, price: str, account: AccountId = MAKER) -> None:
        """A resting limit order of another participant."""
        self.exchange.submit(
            SubmitOrder(
                account,
                ClientOrderId(f"{account}-{next(self._numbers)}"),
                BTC.id,
                side,
                OrderType.LIMIT,
                D(quantity),
                price=D(price),
            )
        )

    def take(self, side: OrderSide, quantity: str) -> None:
        """A market order of another participant (it prints a trade tick)."""
        self.exchange.submit(
            SubmitOrder(
                TAKER,
                ClientOrderId(f"tk-{next(self._numbers)}"),
                BTC.id,
                side,
                OrderType.MARKET,
                D(quantity),
            )
        )

    def quote(self, bid: str, ask: str, size: str = "10") -> None:
        self.rest(OrderSide.BUY, size, bid)
        self.rest(OrderSide.SELL, size, ask)

    def parent(self, quantity: str, side: OrderSide = OrderSide.BUY, **terms: Any) -> ParentOrder:
        return ParentOrder(
            AlgoId(f"p-{next(self._numbers)}"),
            self.portfolio.id,
            BTC.id,
            side,
            D(quantity),
            **terms,
        )

    def working(self) -> list[ExecutionReport]:
        """Our orders working at the venue."""
        return self.exchange.engine(BTC.id).open_orders(ME)

    def now(self) -> int:
        return self.clock.timestamp_ns()

    def advance(self, seconds: float) -> None:
        self.clock.advance_by(int(seconds * SECOND))

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]
