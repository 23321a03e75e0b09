"""The paper-trading market: synthetic prices, a simulated exchange and live market data.

Wires, for one clock: the synthetic market (fair values) -> background
liquidity (makers and takers on the simulated exchange's books) -> the
exchange's market data -> the market-data pipeline (anomaly checks, bars,
latest-value caches) -> the bus. On a live clock this is what ``omoitrade run``
shows; on a simulated clock the same wiring runs as fast as the CPU allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import Clock, TimeEvent
from omoitrade.core.ids import IdGenerator
from omoitrade.data.anomalies import AnomalyDetector
from omoitrade.data.bars import BarAggregator
from omoitrade.data.normalize import SYNTHETIC, Normalizer, SymbolMap
from omoitrade.data.pipeline import MarketDataPipeline
from omoitrade.data.synthetic import SyntheticMarket, default_demo_market
from omoitrade.model import Bar, Instrument, InstrumentId, Quote, Timeframe, TradeTick
from omoitrade.venues.sim.exchange import SimExchangeConfig, SimulatedExchange
from omoitrade.venues.sim.liquidity import BackgroundLiquidity, LiquidityConfig


@dataclass(frozen=True, slots=True)
class PaperMarketConfig:
    """How often prices move, how the exchange charges, and the seed of everything random."""

    step_ns: int = 250_000_000
    seed: int = 7
    exchange: SimExchangeConfig = field(
        default_factory=lambda: SimExchangeConfig(
            maker_fee=Decimal("0.0002"), taker_fee=Decimal("0.0005")
        )
    )
    liquidity: LiquidityConfig = field(default_factory=LiquidityConfig)


@dataclass(frozen=True, slots=True)
class InstrumentView:
    """What the terminal shows for one instrument."""

    instrument: Instrument
    fair_value: Decimal
    quote: Quote | None
    last_trade: TradeTick | None
    bar: Bar | None
    anomalies: int


class PaperMarket:
    """The running simulated market of the paper-trading mode."""

    def __init__(
        self,
        clock: Clock,
        instruments: Sequence[Instrument],
        config: PaperMarketConfig | None = None,
        bus: MessageBus | None = None,
    ) -> None:
        self.config = config or PaperMarketConfig()
        self.clock = clock
        self.bus = bus or MessageBus()
        self.instruments = list(instruments)
        ids = IdGenerator(clock.timestamp_ns, seed=self.config.seed)
        self.synthetic: SyntheticMarket = default_demo_market(self.instruments, self.config.seed)
        self.exchange = SimulatedExchange(clock, self.instruments, self.config.exchange)
        self.liquidity = BackgroundLiquidity(self.exchange, self.config.liquidity)
        self.detector = AnomalyDetector(instruments=self.instruments)
        venue = self.config.exchange.venue
        symbols = SymbolMap((venue, i.symbol, i) for i in self.instruments)
        self.pipeline = MarketDataPipeline(
            self.bus,
            clock,
            Normalizer(symbols, {venue: SYNTHETIC}, ids),
            self.detector,
            BarAggregator(ids, (Timeframe.M1, Timeframe.M5, Timeframe.H1)),
            ids,
        )
        self.exchange.on_market_data(self.pipeline.on_data)
        self._timer = f"{venue}-paper-market"

    def start(self) -> None:
        """Quote the opening books and move prices every ``step_ns`` from now on."""
        self.pipeline.start()
        self.liquidity.update(self.synthetic.fair_values(), 0)
        self.clock.set_timer(self._timer, self.config.step_ns, self._step)

    def stop(self) -> None:
        self.clock.cancel(self._timer)
        self.pipeline.stop()

    def _step(self, event: TimeEvent) -> None:
        fair_values = self.synthetic.step(self.config.step_ns)
        self.liquidity.update(fair_values, self.config.step_ns)

    def views(self) -> list[InstrumentView]:
        fair = self.synthetic.fair_values()
        return [
            InstrumentView(
                instrument=i,
                fair_value=fair[i.id],
                quote=self.pipeline.latest_quote(i.id),
                last_trade=self.pipeline.latest_trade(i.id),
                bar=self.pipeline.latest_bar(i.id, Timeframe.M1),
                anomalies=sum(self.detector.counts(i.id).values()),
            )
            for i in self.instruments
        ]

    def instrument(self, instrument_id: InstrumentId) -> Instrument:
        return self.exchange.instrument(instrument_id)
