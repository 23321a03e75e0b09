"""The backtest runner: the trading kernel of paper and live trading, on a simulated clock
over bars.

The very same trading node (risk engine, order manager, ledger), signal pipeline,
strategy contexts and strategies run; only the clock (simulated) and the venue (the
simulated exchange in ``bars`` mode) differ. For each bar time, in order:

1. the clock moves to the bar's open; the open is the price everyone sees;
2. the strategies get the *previous* bar (it closed just now), and act: their orders are
   sized at this open and reach the exchange before it trades;
3. the exchange works the orders against the bar (``next-open`` by default: market
   orders at the open; stops and limits by the fill model);
4. the close is the price everyone sees; the equity is sampled.

With the ``close`` fill model, strategies get each bar at its close (step 4) and their
market orders fill at that close. Deterministic: the same inputs give the same results.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from omoitrade.backtest.metrics import EquityCurve
from omoitrade.core.approvals import ApprovalDesk, NamedPolicy
from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import SimulatedClock, to_ns
from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.data.bars import BarAggregator
from omoitrade.execution.journal import InMemoryOrderJournal
from omoitrade.model import Instrument, Order, Portfolio, Trade
from omoitrade.model.enums import Timeframe
from omoitrade.model.events import DomainEvent
from omoitrade.model.fields import slot_builder
from omoitrade.model.identifiers import (
    AccountId,
    BarId,
    InstrumentId,
    OrganizationId,
    PortfolioId,
    StrategyId,
)
from omoitrade.model.market_data import Bar, TradeTick
from omoitrade.risk.config import RiskConfig
from omoitrade.runtime.signal_wiring import signal_pipeline
from omoitrade.runtime.strategy_context import NodeStrategyContext, StrategyRouter
from omoitrade.runtime.trading_node import PortfolioSetup, TradingNode, TradingNodeConfig
from omoitrade.signals.plan import SettingsBook, SignalSettings
from omoitrade.strategy.base import Strategy, StrategyContext, StrategyRunner
from omoitrade.strategy.document import StrategyDocument
from omoitrade.strategy.rule_strategy import RuleStrategy
from omoitrade.venues.sim.bar_fills import BarFillConfig, FillModel
from omoitrade.venues.sim.exchange import ExchangeMode, SimExchangeConfig, SimulatedExchange
from omoitrade.venues.sim.latency import LatencyModel
from omoitrade.venues.sim.slippage import NoSlippage, SlippageModel

ACCOUNT = AccountId("backtest")
_bar = slot_builder(Bar)  # a trade as a one-price bar for the exchange (values checked)
_TICK_BAR = BarId(int=0)
_ZERO = Decimal(0)
APPROVE_ALL = NamedPolicy("backtest", lambda _: "a backtest approves its own gates")


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """Cash, fees, fill model, slippage and the settings of the kernel's gates."""

    initial_cash: Decimal = Decimal("100000")
    commission: Decimal = Decimal(0)  # a rate of each fill's value, on both sides
    maker_fee: Decimal | None = None  # either overrides ``commission`` for its side
    taker_fee: Decimal | None = None
    fill_model: FillModel = FillModel.NEXT_OPEN
    slippage: SlippageModel = field(default_factory=NoSlippage)
    participation_cap: Decimal | None = None
    # orders reach the exchange, and its reports come back, this much later (on the
    # simulated clock): an order sent at a bar's open with any latency misses that open
    latency: LatencyModel = field(default_factory=LatencyModel)
    # a backtest keeps the checks but drops the ones about a desk's mistakes in real time
    risk: RiskConfig = field(
        default_factory=lambda: RiskConfig(price_collar=None, duplicate_window_ns=None)
    )
    signals: SignalSettings = field(default_factory=SignalSettings)
    tick_bars: Timeframe = Timeframe.M1  # bars built from trade ticks for the strategies
    seed: int = 0
    # the exchange account is a margin account that may sell short: a short reserves its
    # proceeds plus this fraction of its value from the account's own cash (1: a short
    # is funded like a long, no leverage, as the ledger's buying power counts it);
    # None: a spot account, which can only sell what it holds (no short entries)
    short_margin: Decimal | None = Decimal(1)

    def __post_init__(self) -> None:
        if self.initial_cash <= 0:
            raise ValidationError("initial_cash", "must be positive", self.initial_cash)
        for name in ("commission", "maker_fee", "taker_fee"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < 1:
                raise ValidationError(name, "must be a rate in [0, 1)", value)
        if self.short_margin is not None and not self.short_margin > 0:
            raise ValidationError("short_margin", "must be greater than 0", self.short_margin)


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """A strategy to run: a rule document, or a Python class with its parameters."""

    name: str
    document: StrategyDocument | None = None
    python_class: type[Strategy] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    version: int = 1
    strategy_id: StrategyId | None = None

    def __post_init__(self) -> None:
        if (self.document is None) == (self.python_class is None):
            raise ValidationError("strategy", "give a rule document or a Python class")

    def build(self, context: StrategyContext) -> Strategy:
        if self.document is not None:
            return RuleStrategy(context, self.document, name=self.name)
        assert self.python_class is not None
        return self.python_class(context, self.params, name=self.name)


@dataclass(slots=True)
class RawRun:
    """What one run produced, for the results and reports."""

    orders: list[Order]
    fills: list[Trade]
    equity: EquityCurve  # at every bar close
    events: list[DomainEvent]
    bars: dict[str, list[Bar]]  # by instrument symbol
    paused: list[str]  # strategies paused by an error, with it


class _RecordingJournal:
    """The in-memory journal, keeping orders and fills in the order they happened.

    It wraps the journal rather than subclass it: the journal may be a compiled (native)
    class, which interpreted code cannot subclass.
    """

    def __init__(self) -> None:
        self.inner = InMemoryOrderJournal()
        self.orders: list[Order] = []
        self.fills: list[Trade] = []
        self.order_by_client_id = self.inner.order_by_client_id
        self.open_orders = self.inner.open_orders
        self.trades_of = self.inner.trades_of

    @property
    def events(self) -> list[DomainEvent]:
        return self.inner.events

    def write(
        self,
        new_orders: Sequence[Order],
        changed_orders: Sequence[Order],
        trades: Sequence[Trade],
        events: Sequence[DomainEvent],
    ) -> None:
        self.inner.write(new_orders, changed_orders, trades, events)
        self.orders.extend(new_orders)
        self.fills.extend(trades)


class BacktestRunner:
    """Runs strategies over bars on the trading kernel; see the module docstring."""

    def __init__(
        self,
        strategies: Sequence[StrategySpec],
        instruments: Sequence[Instrument],
        bars: Mapping[Any, Sequence[Bar]] | Iterable[Bar] = (),
        config: BacktestConfig | None = None,
        *,
        ticks: Iterable[TradeTick] = (),
    ) -> None:
        """Bars (one list in any order, or lists by instrument), or trade ticks (``ticks``:
        each trade is a price the exchange fills orders at; the strategies get bars of
        ``config.tick_bars`` built from them)."""
        if not strategies:
            raise ValidationError("strategies", "give at least one strategy")
        self.config = config or BacktestConfig()
        self.specs = list(strategies)
        self.instruments = list(instruments)
        by_id = {i.id: i for i in self.instruments}
        given = [b for s in bars.values() for b in s] if isinstance(bars, Mapping) else list(bars)
        self.ticks = sorted(ticks, key=lambda t: t.timestamp)
        if not given and not self.ticks:
            raise ValidationError("bars", "there are no bars (or ticks) to run over")
        if given and self.ticks:
            raise ValidationError("ticks", "give bars or ticks, not both")
        found = {b.instrument_id for b in given} | {t.instrument_id for t in self.ticks}
        unknown = found - set(by_id)
        if unknown:
            raise ValidationError(
                "bars", f"data of instruments not given: {sorted(map(str, unknown))}"
            )
        self.bars = _in_time_order(given, found)

    def run(self, progress: Callable[[int, int], None] | None = None) -> RawRun:
        """Run every bar (or tick); ``progress(done, total)`` is called every so often."""
        first = self.ticks[0].timestamp if self.ticks else self.bars[0].timestamp
        kernel = _Kernel(self.specs, self.instruments, self.config, first)
        total = len(self.ticks) or len(self.bars)
        step = max(total // 200, 1)
        if self.ticks:
            for done, tick in enumerate(self.ticks):
                kernel.on_tick(tick)
                if progress is not None and done % step == 0:
                    progress(done, total)
            kernel.close_tick_bars(self.ticks[-1].timestamp)
        else:
            for done, group in enumerate(_by_time(self.bars)):
                kernel.step(group)
                if progress is not None and done % step == 0:
                    progress(kernel.bars_seen, total)
        if progress is not None:
            progress(total, total)
        return kernel.finish()


def _in_time_order(bars: list[Bar], instruments: set[InstrumentId]) -> list[Bar]:
    """The bars by time, and bars of one time by instrument (their text): the same run
    whatever order they came in. A sort keeps the order of equal keys, and sorted input
    costs one pass."""
    if len(instruments) <= 1:
        return sorted(bars, key=attrgetter("timestamp"))
    rank = {i: n for n, i in enumerate(sorted(instruments, key=str))}
    return sorted(bars, key=lambda b: (b.timestamp, rank[b.instrument_id]))


def _by_time(bars: list[Bar]) -> Iterable[list[Bar]]:
    """The bars in groups of one timestamp (bars are sorted by time)."""
    group: list[Bar] = []
    for bar in bars:
        if group and bar.timestamp != group[0].timestamp:
            yield group
            group = []
        group.append(bar)
    if group:
        yield group


@dataclass(slots=True)
class _Lane:
    """One instrument's bars so far (shared by instruments of one symbol) and its last."""

    bars: list[Bar]
    previous: Bar | None = None


class _Kernel:
    """The wired components of one run."""

    def __init__(
        self,
        specs: Sequence[StrategySpec],
        instruments: Sequence[Instrument],
        config: BacktestConfig,
        start: datetime,
    ) -> None:
        self.config = config
        self.instruments = {i.id: i for i in instruments}
        self.clock = SimulatedClock(to_ns(start))
        ids = IdGenerator(self.clock.timestamp_ns, seed=config.seed, thread_safe=False)
        maker = config.commission if config.maker_fee is None else config.maker_fee
        taker = config.commission if config.taker_fee is None else config.taker_fee
        fills = BarFillConfig(
            fill_model=config.fill_model,
            slippage=config.slippage,
            participation_cap=config.participation_cap,
            maker_fee=maker,
            taker_fee=taker,
        )
        self.exchange = SimulatedExchange(
            self.clock,
            list(instruments),
            SimExchangeConfig(
                mode=ExchangeMode.BARS,
                maker_fee=maker,
                taker_fee=taker,
                bar_fills=fills,
                latency=config.latency,
                enforce_balances=True,
            ),
        )
        currencies = {i.quote_currency for i in instruments}
        if len(currencies) != 1:
            raise ValidationError("instruments", "a backtest trades in one quote currency")
        (currency,) = currencies
        self.exchange.open_account(
            ACCOUNT, {currency: config.initial_cash}, short_margin=config.short_margin
        )
        self.portfolio = Portfolio.open(
            id=PortfolioId.new(ids),
            organization_id=OrganizationId.new(ids),
            name="backtest",
            base_currency=currency,
            initial_capital=config.initial_cash,
            at=start,
        )
        self.bus = MessageBus()
        self.journal = _RecordingJournal()
        self.node = TradingNode(
            clock=self.clock,
            bus=self.bus,
            journal=self.journal,
            venues={self.exchange.venue: self.exchange},
            instruments=instruments,
            portfolios=[PortfolioSetup(self.portfolio, ACCOUNT, [])],
            ids=ids,
            config=TradingNodeConfig(risk=config.risk),
        )
        desk = ApprovalDesk(self.clock, ids, policies=[APPROVE_ALL])
        settings = replace(config.signals, sizing_fee_rate=taker)  # all-in fits, fees included
        self.pipeline = signal_pipeline(self.node, desk, SettingsBook(settings))
        self.runner = StrategyRunner()
        self.router = StrategyRouter(self.node, self.runner)
        for spec in specs:
            context = NodeStrategyContext(
                node=self.node,
                pipeline=self.pipeline,
                portfolio_id=self.portfolio.id,
                strategy_id=spec.strategy_id or StrategyId.new(ids),
                name=spec.name,
                version=spec.version,
                document=spec.document,
            )
            self.router.add(spec.build(context), context)
        self.runner.start()
        self.router.drain()
        self._times: list[datetime] = []
        self._equity: list[Decimal] = []
        self._cash: list[Decimal] = []
        self._exposure: list[Decimal] = []
        self.bars_by_symbol: dict[str, list[Bar]] = {i.symbol: [] for i in instruments}
        self._lanes = {i.id: _Lane(self.bars_by_symbol[i.symbol]) for i in instruments}
        self._fills_in_cash = -1  # the fills the cash below was read after
        self._last_cash = _ZERO
        self.bars_seen = 0
        self.aggregator = BarAggregator(ids, [config.tick_bars])
        self._decide_at_close = config.fill_model is FillModel.CLOSE

    def step(self, group: list[Bar]) -> None:
        """One bar time: see the module docstring."""
        at = group[0].timestamp
        clock, router, on_bar, see = self.clock, self.router, self.runner.on_bar, self._see_price
        clock.advance_to(max(to_ns(at), clock.timestamp_ns()))
        lanes = [self._lanes[bar.instrument_id] for bar in group]
        if not self._decide_at_close:
            for bar in group:
                see(bar.instrument_id, bar.open, at)
            for lane in lanes:
                if lane.previous is not None:
                    router.guarded(on_bar, lane.previous)
        for bar in group:
            self.exchange.process_bar(bar)
            router.drain()
        for bar, lane in zip(group, lanes, strict=True):
            see(bar.instrument_id, bar.close, at)
            lane.previous = bar
            lane.bars.append(bar)
        if self._decide_at_close:
            for bar in group:
                router.guarded(on_bar, bar)
        self.bars_seen += len(group)
        self._sample(at)

    def on_tick(self, tick: TradeTick) -> None:
        """One trade: the bars it closes go to the strategies first (their orders trade at
        this price), then the exchange works the orders at it, then it becomes the market
        price and the strategies see the trade."""
        at = tick.timestamp
        self.clock.advance_to(max(to_ns(at), self.clock.timestamp_ns()))
        for bar in self.aggregator.on_trade(tick):
            self._bar_closed(bar)
        price = tick.price
        one_price = _bar(
            id=_TICK_BAR,
            instrument_id=tick.instrument_id,
            timestamp=at,
            timeframe=self.config.tick_bars,
            open=price,
            high=price,
            low=price,
            close=price,
            volume=tick.size,
        )
        self.exchange.process_bar(one_price)
        self.router.drain()
        self._see_price(tick.instrument_id, price, at)
        self.router.guarded(self.runner.on_trade_tick, tick)
        self.bars_seen += 1

    def close_tick_bars(self, last: datetime) -> None:
        """The bars still open after the last trade close."""
        end = to_ns(last) + self.config.tick_bars.nanos
        for bar in self.aggregator.flush(end):
            self._bar_closed(bar)

    def _bar_closed(self, bar: Bar) -> None:
        self._lanes[bar.instrument_id].bars.append(bar)
        self.router.guarded(self.runner.on_bar, bar)
        self._sample(bar.timestamp)

    def _see_price(self, instrument_id: InstrumentId, price: Decimal, at: datetime) -> None:
        """``price`` becomes the instrument's market price (marks; trailing stops follow)."""
        self.node.mark_price(instrument_id, price, at)
        if self.pipeline.trails(instrument_id):
            self.router.guarded(self.pipeline.on_price, instrument_id, price)

    def _sample(self, at: datetime) -> None:
        times = self._times
        if times and times[-1] >= at:
            if times[-1] > at:
                return  # an instrument's bar closing late (its next trade came after others')
            for column in (times, self._equity, self._cash, self._exposure):
                column.pop()  # bars of several instruments at one time: the latest values
        ledger, portfolio_id = self.node.ledger, self.portfolio.id
        fills = len(self.journal.fills)
        if fills != self._fills_in_cash:  # only a fill moves a backtest's cash
            self._fills_in_cash, self._last_cash = fills, ledger.cash(portfolio_id)
        times.append(at)
        # a value equal to the column's last is stored as that same object: a million
        # samples of a flat account share one Decimal instead of holding a million
        for column, value in (
            (self._equity, ledger.equity(portfolio_id)),
            (self._cash, self._last_cash),
            (self._exposure, self._gross_exposure()),
        ):
            column.append(column[-1] if column and column[-1] == value else value)

    def _gross_exposure(self) -> Decimal:
        """The sum of |quantity x mark| over the open positions (read in place: no copies)."""
        ledger, portfolio_id = self.node.ledger, self.portfolio.id
        total = _ZERO
        for instrument_id in ledger.signed_quantities(portfolio_id):  # the open ones
            p = ledger.book(portfolio_id, instrument_id).position
            if p is not None:
                total += abs(p.quantity * (p.current_price or p.average_entry_price or _ZERO))
        return total

    def finish(self) -> RawRun:
        paused = [  # before stopping, which leaves every strategy STOPPED
            f"{s.name}: {s.failure.error}" for s in self.runner.paused() if s.failure is not None
        ]
        self.runner.stop()
        return RawRun(
            orders=list(self.journal.orders),
            fills=list(self.journal.fills),
            equity=EquityCurve(
                tuple(self._times), tuple(self._equity), tuple(self._cash), tuple(self._exposure)
            ),
            events=list(self.journal.events),
            bars=self.bars_by_symbol,
            paused=paused,
        )
