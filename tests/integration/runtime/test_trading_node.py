"""The trading node: orders, risk and positions working together on the simulated exchange."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal as D
from typing import Any

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import SimulatedClock
from omoitrade.execution.journal import InMemoryOrderJournal
from omoitrade.execution.order_requests import OrderRequest
from omoitrade.model import Order, RiskLimit
from omoitrade.model.enums import (
    BreachAction,
    LimitType,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    UserRole,
)
from omoitrade.model.identifiers import AccountId, ClientOrderId, InstrumentId, StrategyId
from omoitrade.model.instruments import Instrument
from omoitrade.model.market_data import Quote
from omoitrade.model.venue import SubmitOrder
from omoitrade.risk import TradingState
from omoitrade.runtime.trading_node import (
    PortfolioSetup,
    TradingNode,
    TradingNodeConfig,
    equity_marks_from_store,
    risk_state_to_store,
)
from omoitrade.store import Database
from omoitrade.testing import factories as f
from omoitrade.testing.venues import FakeFlakyVenue
from omoitrade.venues.sim.exchange import SimExchangeConfig, SimulatedExchange

BTC = f.make_instrument()
ETH = f.make_instrument(symbol="ETH/USD", base_currency="ETH", metadata={"venue_symbol": "ETHUSD"})
ME, MAKER = AccountId("desk-1"), AccountId("maker")


class World:
    """A node trading BTC (and ``instruments``) on the simulated exchange, through a venue
    that can be cut off (``self.venue``: each new node gets its own, the old one's is cut)."""

    def __init__(
        self,
        *,
        limits: Sequence[dict[str, Any]] = (),
        config: TradingNodeConfig | None = None,
        instruments: Sequence[Instrument] = (BTC,),
    ) -> None:
        self.clock = SimulatedClock(int(f.T0.timestamp() * 1e9))
        self.instruments = list(instruments)
        self.config = config
        self.exchange = SimulatedExchange(self.clock, self.instruments, SimExchangeConfig())
        self.exchange.open_account(ME, {"USD": D("1000000")})
        self.exchange.open_account(MAKER, {"USD": D("10000000"), "BTC": D("100")})
        organization = self.organization = f.make_organization()
        self.portfolio = f.make_portfolio(
            organization,
            cash=D("100000"),
            current_equity=D("100000"),
            initial_capital=D("100000"),
            margin_available=D("100000"),
        )
        self.limits = [
            f.make_risk_limit(
                self.portfolio.id,
                limit_type=LimitType.MAX_ORDER_SIZE,
                instrument_id=BTC.id,
                limit_value=D("1"),
                action_on_breach=BreachAction.ALERT,
            ),
            *(f.make_risk_limit(self.portfolio.id, **spec) for spec in limits),
        ]
        self.journal = InMemoryOrderJournal()
        self.venue: FakeFlakyVenue | None = None
        self.node = self.new_node()
        self.quote("41990.00", "42000.00")

    def new_node(self) -> TradingNode:
        """A node on the world's journal (a restart: the last node hears no more reports)."""
        if self.venue is not None:
            self.venue.disconnect()
        self.venue = FakeFlakyVenue(self.exchange)
        return TradingNode(
            clock=self.clock,
            bus=MessageBus(),
            journal=self.journal,
            venues={"SIM": self.venue},
            instruments=self.instruments,
            portfolios=[PortfolioSetup(self.portfolio, ME, self.limits)],
            config=self.config,
        )

    def published(self, pattern: str) -> list[Any]:
        """What the node will publish on topics matching ``pattern`` from now on."""
        seen: list[Any] = []
        self.node.bus.subscribe(pattern, seen.append)
        return seen

    def mark(self, bid: str, ask: str, instrument: Instrument = BTC) -> None:
        """A quote reaching the node (its venue's market data), not the exchange's book."""
        self.node.on_market_data(
            Quote(instrument.id, self.clock.utc_now(), D(bid), D(ask), D("1"), D("1"))
        )

    def quote(self, bid: str, ask: str) -> None:
        for side, price, cid in ((OrderSide.BUY, bid, "mb"), (OrderSide.SELL, ask, "ma")):
            self.exchange.submit(
                SubmitOrder(
                    MAKER,
                    ClientOrderId(f"{cid}-{price}"),
                    BTC.id,
                    side,
                    OrderType.LIMIT,
                    D("10"),
                    price=D(price),
                )
            )
        self.clock.advance_by(1_000_000_000)  # the exchange publishes its book

    def order(
        self,
        cid: str,
        side: OrderSide,
        qty: str,
        price: str | None = None,
        *,
        strategy: StrategyId | None = None,
        instrument: InstrumentId = BTC.id,
    ) -> Order:
        kind = OrderType.MARKET if price is None else OrderType.LIMIT
        return self.node.orders.submit(
            OrderRequest(
                self.portfolio.id,
                instrument,
                ClientOrderId(cid),
                side,
                kind,
                D(qty),
                price=None if price is None else D(price),
                strategy_id=strategy,
            )
        )


def test_a_fill_moves_the_position_and_cash() -> None:
    w = World()
    order = w.order("b1", OrderSide.BUY, "0.5")
    assert order.status is OrderStatus.FILLED
    position = w.node.ledger.position(w.portfolio.id, BTC.id)
    assert position is not None
    assert (position.side, position.quantity) == (PositionSide.LONG, D("0.5"))
    assert w.node.ledger.cash(w.portfolio.id) == D("100000") - D("0.5") * D("42000.00")


def test_risk_limits_pass_just_inside_and_reject_just_outside_with_the_code() -> None:
    w = World()
    inside = w.order("b1", OrderSide.BUY, "1")
    outside = w.order("b2", OrderSide.BUY, "1.0001")
    assert inside.status is OrderStatus.FILLED
    assert outside.status is OrderStatus.REJECTED
    assert outside.reject_reason is not None
    assert outside.reject_reason.startswith("risk.order_size: ")


def test_a_halt_cancels_working_orders_and_refuses_new_ones() -> None:
    w = World()
    resting = w.order("b1", OrderSide.BUY, "0.1", "41000.00")
    admin = f.make_user(f.make_organization(), role=UserRole.ADMIN)
    w.node.risk.set_trading_state(w.portfolio.id, TradingState.HALTED, admin, "desk review")
    assert resting.status is OrderStatus.CANCELLED
    assert resting.cancel_reason == "trading halted: desk review"
    refused = w.order("b2", OrderSide.BUY, "0.1")
    assert refused.status is OrderStatus.REJECTED
    assert refused.reject_reason is not None and "risk.trading_halted" in refused.reject_reason


def test_the_kill_switch_flattens_and_survives_a_restart() -> None:
    w = World()
    w.order("b1", OrderSide.BUY, "0.5")
    resting = w.order("b2", OrderSide.BUY, "0.1", "41000.00")
    risk_manager = f.make_user(f.make_organization(), role=UserRole.RISK_MANAGER)
    w.node.risk.engage_kill_switch("runaway strategy", risk_manager, flatten=True)
    assert resting.status is OrderStatus.CANCELLED
    position = w.node.ledger.position(w.portfolio.id, BTC.id)
    assert position is not None and position.side is PositionSide.FLAT

    restarted = w.new_node()
    restarted.restore(w.journal.events)
    assert restarted.risk.trading_state(None) is TradingState.HALTED
    again = restarted.ledger.position(w.portfolio.id, BTC.id)
    assert again is not None and again.side is PositionSide.FLAT


def test_limit_rows_and_equity_marks_are_saved_and_restored(database: Database) -> None:
    w = World()
    position_limit = f.make_risk_limit(
        w.portfolio.id,
        limit_type=LimitType.MAX_POSITION,
        instrument_id=BTC.id,
        limit_value=D("1"),
        action_on_breach=BreachAction.ALERT,
    )
    with database.transaction() as uow:
        uow.organizations.add(w.organization)
        uow.portfolios.add(w.portfolio)
        uow.instruments.add(BTC)
        uow.risk_limits.add(position_limit)
    w.node = TradingNode(
        clock=w.clock,
        bus=MessageBus(),
        journal=InMemoryOrderJournal(),
        venues={"SIM": w.exchange},
        instruments=[BTC],
        portfolios=[PortfolioSetup(w.portfolio, ME, [position_limit])],
        risk_sink=risk_state_to_store(database),
    )
    w.quote("41995.00", "41998.00")  # a new top of book: the new node hears a quote

    def stored() -> RiskLimit:
        with database.transaction(write=False) as uow:
            [row] = uow.risk_limits.for_portfolio(w.portfolio.id)
        return row

    w.order("b1", OrderSide.BUY, "0.5")
    assert stored().current_value == 0  # not saved yet
    w.clock.advance_by(1_000_000_000)
    assert stored().current_value == D("0.5")  # the periodic snapshot
    w.order("b2", OrderSide.BUY, "0.4")  # 0.9: past 80% of the limit, a warning
    assert stored().current_value == D("0.9")  # saved at once
    assert not stored().is_breached
    marks = equity_marks_from_store(database, [w.portfolio.id])
    assert marks == {w.portfolio.id: w.node.risk.equity_marks(w.portfolio.id)}

    restarted = w.new_node()
    restarted.restore([], marks)
    assert restarted.risk.equity_marks(w.portfolio.id) == marks[w.portfolio.id]


def test_the_arrival_price_of_an_order_is_the_mid_when_the_node_submits_it() -> None:
    w = World()  # its book: 41990.00 / 42000.00
    order = w.order("b1", OrderSide.BUY, "0.5")
    report = w.node.orders.quality.order_report(order.id)
    assert report.arrival_price == D("41995.00")
    assert report.average_price == D("42000.00")
    assert report.slippage_cost == D("2.5")  # half a spread on 0.5


def test_a_quote_marks_the_unrealized_pnl_through_the_node() -> None:
    w = World()
    w.order("b1", OrderSide.BUY, "0.5")  # at 42000.00
    w.mark("42990.00", "43010.00")
    assert w.node.ledger.unrealized_pnl(w.portfolio.id) == D("500")
    assert w.node.prices[BTC.id] == D("43000")


def test_cancel_all_of_one_instrument_leaves_the_others_working() -> None:
    w = World(instruments=(BTC, ETH))
    w.mark("1999.00", "2001.00", ETH)  # a reference price for the ETH limit order
    btc = w.order("b1", OrderSide.BUY, "0.1", "41000.00")
    eth = w.order("e1", OrderSide.BUY, "1", "1990.00", instrument=ETH.id)
    assert btc.is_open and eth.is_open
    cancelled = w.node.orders.cancel_all(w.portfolio.id, ETH.id, reason="ETH only")
    assert cancelled == [eth]
    assert eth.status is OrderStatus.CANCELLED and eth.cancel_reason == "ETH only"
    assert btc.status is OrderStatus.SUBMITTED
    assert w.node.orders.open_orders(w.portfolio.id) == [btc]
