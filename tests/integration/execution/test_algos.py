"""Execution algorithms on the synthetic market: a trading node on the paper market's exchange,
whose background makers and takers keep the book two-sided and print trades."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal as D
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import SimulatedClock
from omoitrade.data.catalog import ParquetCatalog
from omoitrade.data.synthetic import default_demo_market
from omoitrade.execution.algos import (
    ALGO_TOPICS,
    MARKET_PRICING,
    AlgoChildSent,
    AlgoEngine,
    AlgoId,
    AlgoStatus,
    ChildPricing,
    ExecutionAlgorithm,
    IcebergParams,
    ParentOrder,
    PovParams,
    PriceReference,
    TwapParams,
    VwapParams,
    volume_profile_from_bars,
)
from omoitrade.execution.algos.schedule import share_of
from omoitrade.execution.journal import InMemoryOrderJournal
from omoitrade.model import AccountId, OrderSide, OrderStatus, Timeframe, TradeTick, VenueTradeId
from omoitrade.model.events import OrderFillEvent
from omoitrade.risk import RiskConfig
from omoitrade.runtime.paper import PaperMarket, PaperMarketConfig
from omoitrade.runtime.trading_node import PortfolioSetup, TradingNode, TradingNodeConfig
from omoitrade.testing import factories as f
from omoitrade.venues.sim.catalog import default_instruments

BTC = next(i for i in default_instruments() if i.symbol == "BTC/USD")  # lot 0.00001
ME = AccountId("algo-desk")
SECOND = 1_000_000_000
START_NS = int(datetime(2024, 1, 2, 14, 0, tzinfo=UTC).timestamp()) * SECOND
STEP = SECOND // 4


class Market:
    """The paper market with a trading node and an algorithm engine on one clock and bus."""

    def __init__(self, seed: int = 7) -> None:
        self.clock = SimulatedClock(START_NS)
        self.bus = MessageBus()
        self.market = PaperMarket(self.clock, [BTC], PaperMarketConfig(seed=seed), bus=self.bus)
        exchange = self.exchange = self.market.exchange
        exchange.open_account(ME, {"USD": D("100000000"), "BTC": D("1000")})
        capital = D("10000000")
        self.portfolio = f.make_portfolio(
            f.make_organization(),
            cash=capital,
            current_equity=capital,
            initial_capital=capital,
            margin_available=capital,
        )
        self.node = TradingNode(
            clock=self.clock,
            bus=self.bus,
            journal=InMemoryOrderJournal(),
            venues={"SIM": exchange},
            instruments=[BTC],
            portfolios=[PortfolioSetup(self.portfolio, ME)],
            # children of one parent are often equal: the duplicate check would refuse them
            config=TradingNodeConfig(risk=RiskConfig(duplicate_window_ns=None)),
        )
        self.engine = AlgoEngine(self.node.orders, self.clock, self.bus)
        exchange.on_market_data(self.engine.on_market_data)
        self.ticks: list[TradeTick] = []
        exchange.on_market_data(
            lambda d: self.ticks.append(d) if isinstance(d, TradeTick) else None
        )
        self.own_trades: set[VenueTradeId] = set()
        self.bus.subscribe("events.order.*filled", self._own_fill)
        self.events: list[Any] = []
        self.bus.subscribe(ALGO_TOPICS, self.events.append)
        self.market.start()
        self.clock.advance_by(2 * SECOND)

    def _own_fill(self, event: OrderFillEvent) -> None:
        self.own_trades.add(event.exchange_trade_id)

    def parent(self, name: str, quantity: str, side: OrderSide, **terms: Any) -> ParentOrder:
        return ParentOrder(AlgoId(name), self.portfolio.id, BTC.id, side, D(quantity), **terms)

    def now(self) -> int:
        return self.clock.timestamp_ns()

    def step(self) -> None:
        self.clock.advance_by(STEP)

    def run(self, algo: ExecutionAlgorithm[Any], seconds: int) -> None:
        for _ in range(seconds * SECOND // STEP):
            if algo.is_done:
                return
            self.step()

    def child_fills(self, algo: ExecutionAlgorithm[Any]) -> D:
        """The children's fills as the order manager has them."""
        total = D(0)
        for child in algo.children:
            order = self.node.orders.order(self.portfolio.id, child.client_order_id)
            assert order is not None
            total += order.filled_quantity
        return total

    def working(self) -> D:
        """What our orders show at the venue."""
        reports = self.exchange.engine(BTC.id).open_orders(ME)
        return sum((r.leaves_quantity for r in reports), D(0))

    def children(self) -> list[tuple[object, ...]]:
        return [
            (e.client_order_id, e.order_type, e.quantity, e.price, e.at_ns)
            for e in self.events
            if isinstance(e, AlgoChildSent)
        ]


def test_twap_completes_exactly_and_keeps_to_its_schedule() -> None:
    m = Market()
    start = m.now()
    parent = m.parent("twap-1", "3", OrderSide.BUY, start_ns=start, end_ns=start + 60 * SECOND)
    algo = m.engine.submit(parent, TwapParams(interval_ns=5 * SECOND))  # at the far touch
    worst = D(0)
    while not algo.is_done and m.now() < start + 90 * SECOND:
        m.step()
        report = algo.report()
        if report.schedule_deviation is not None:
            worst = max(worst, abs(report.schedule_deviation))
    report = algo.report()
    assert report.status is AlgoStatus.COMPLETED
    assert m.child_fills(algo) == report.filled_quantity == D("3")
    assert worst <= D("0.25")  # never more than one slice off the line
    assert [c.quantity for c in algo.children] == [D("0.25")] * 12
    position = m.node.ledger.position(m.portfolio.id, BTC.id)
    assert position is not None and position.quantity == D("3")
    assert report.slippage_bps is not None and report.average_price is not None
    assert m.working() == 0


def test_a_passive_twap_resends_the_rest_of_partly_filled_children_and_finishes_at_the_end() -> (
    None
):
    m = Market()
    start = m.now()
    parent = m.parent("twap-2", "3", OrderSide.BUY, start_ns=start, end_ns=start + 60 * SECOND)
    passive = ChildPricing(PriceReference.NEAR_TOUCH)
    algo = m.engine.submit(parent, TwapParams(interval_ns=5 * SECOND, pricing=passive))
    m.run(algo, 90)
    partly = [c for c in algo.children if c.status is OrderStatus.CANCELLED and c.filled > 0]
    assert partly  # partly filled at the touch, cancelled at the next slice, rest sent again
    assert algo.status is AlgoStatus.COMPLETED and m.child_fills(algo) == D("3")
    assert algo.ended_ns is not None and algo.ended_ns <= start + 60 * SECOND
    assert m.working() == 0


def test_vwap_follows_a_profile_built_from_the_catalog(tmp_path: Path) -> None:
    catalog = ParquetCatalog(tmp_path)
    history = default_demo_market([BTC], seed=3)
    for day in (1, 2, 3):  # three afternoons of 1-minute bars
        opening = datetime(2023, 12, 27 + day, 14, 0, tzinfo=UTC)
        catalog.write_bars(BTC, Timeframe.M1, history.bars(Timeframe.M1, 60, opening)[BTC.id])
    bars = catalog.read_bars(BTC, Timeframe.M1)
    profile = volume_profile_from_bars(bars, 4, window_start=time(14, 0), window=timedelta(hours=1))
    assert len(bars) == 180
    quarters = [
        sum((b.volume for b in bars if b.timestamp.minute // 15 == q), D(0)) for q in range(4)
    ]
    total = sum(quarters, D(0))
    assert list(profile.weights) == [pytest.approx(q / total, rel=D("1e-20")) for q in quarters]

    m = Market()
    start = m.now()
    parent = m.parent("vwap-1", "2", OrderSide.SELL, start_ns=start, end_ns=start + 40 * SECOND)
    params = VwapParams(interval_ns=10 * SECOND, profile=profile, pricing=MARKET_PRICING)
    algo = m.engine.submit(parent, params)
    m.run(algo, 45)
    assert algo.status is AlgoStatus.COMPLETED and m.child_fills(algo) == D("2")
    assert algo.schedule is not None
    targets = [
        share_of(D("2"), algo.schedule.fraction_at(start + k * 10 * SECOND), BTC.lot_size)
        for k in range(1, 5)
    ]
    sizes = [targets[0]] + [b - a for a, b in pairwise(targets)]
    assert [c.quantity for c in algo.children] == sizes


def test_pov_keeps_to_its_rate_of_the_volume_the_others_trade() -> None:
    m = Market()
    seen = len(m.ticks)
    parent = m.parent("pov-1", "0.3", OrderSide.BUY)
    params = PovParams(rate=D("0.1"), min_child=D("0.01"), max_child=D("0.05"))
    algo = m.engine.submit(parent, params)
    checked = 0
    while not algo.is_done and checked < 600:
        m.step()
        checked += 1
        others = sum((t.size for t in m.ticks[seen:] if t.trade_id not in m.own_trades), D(0))
        if algo.is_done:
            break
        assert algo.observed_volume == others  # ours never counted
        assert algo.filled_quantity <= D("0.1") * others  # never ahead of the rate
        assert D("0.1") * others - algo.filled_quantity < D("0.01") + D("0.05")  # nor far behind
    assert algo.status is AlgoStatus.COMPLETED
    assert m.child_fills(algo) == D("0.3")
    *children, last = algo.children
    assert all(D("0.01") <= c.quantity <= D("0.05") for c in children)
    assert last.quantity <= D("0.05")  # the rest of the parent may be less than min_child


def test_an_iceberg_never_shows_more_than_its_display_quantity() -> None:
    m = Market()
    quote = m.engine.quote(BTC.id)
    assert quote is not None
    limit = BTC.round_price(quote.mid - D("5"))
    parent = m.parent("ice-1", "1", OrderSide.SELL, limit_price=limit)
    algo = m.engine.submit(parent, IcebergParams(display_quantity=D("0.1")))
    shown = D(0)
    for _ in range(240):
        if algo.is_done:
            break
        assert m.working() <= D("0.1")
        shown = max(shown, m.working())
        m.step()
    assert algo.status is AlgoStatus.COMPLETED and m.child_fills(algo) == D("1")
    assert shown > 0
    assert all(c.quantity <= D("0.1") and c.price == limit for c in algo.children)
    assert len(algo.children) >= 10


def test_cancelling_a_parent_leaves_nothing_working_at_the_venue() -> None:
    m = Market()
    start = m.now()
    parent = m.parent("twap-4", "2", OrderSide.BUY, end_ns=start + 60 * SECOND)
    passive = ChildPricing(PriceReference.NEAR_TOUCH)
    algo = m.engine.submit(parent, TwapParams(interval_ns=5 * SECOND, pricing=passive))
    m.clock.advance_by(10 * SECOND)
    while m.working() == 0:
        m.step()
    assert algo.status is AlgoStatus.WORKING
    report = m.engine.cancel(parent.id, "enough")
    assert report.status is AlgoStatus.CANCELLED and m.working() == 0
    sent = len(algo.children)
    m.clock.advance_by(60 * SECOND)
    assert len(algo.children) == sent and m.working() == 0
    assert m.child_fills(algo) == algo.report().filled_quantity


def test_the_same_seed_sends_the_same_children() -> None:
    def run(seed: int) -> list[tuple[object, ...]]:
        m = Market(seed)
        start = m.now()
        parent = m.parent("twap-3", "1", OrderSide.SELL, end_ns=start + 20 * SECOND)
        algo = m.engine.submit(parent, TwapParams(interval_ns=2 * SECOND))
        m.run(algo, 30)
        return [*m.children(), algo.report().average_price]

    first = run(7)
    assert first == run(7)
    assert first != run(8)
