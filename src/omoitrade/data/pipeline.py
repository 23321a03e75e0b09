"""The market-data pipeline: venue payloads in, clean updates on the bus, anomalies as events.

Each update is normalized (raw payloads only) and checked by the anomaly
detector. A clean one is published on its topic (``data.quotes.<id>``,
``data.trades.<id>``, ``data.books.<id>``, ``data.bars.<id>.<tf>``) and kept as
the latest of its kind; trades and quotes also feed the bar aggregator, whose
closed bars are published before the update that closed them. An anomalous
update is not published at all: a :class:`MarketDataAnomaly` event on
``events.data.anomaly`` says what was held back and why. Clock timers close
bars on time and report stale feeds.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import Clock, TimeEvent
from omoitrade.core.errors import NotFound, ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.data.anomalies import Anomaly, AnomalyDetector, AnomalyKind
from omoitrade.data.bars import BarAggregator
from omoitrade.data.normalize import (
    InvalidPrice,
    MarketData,
    Normalizer,
    PayloadError,
    UnknownSymbol,
)
from omoitrade.data.topics import ANOMALY_TOPIC, bars_topic, books_topic, quotes_topic, trades_topic
from omoitrade.model.enums import Timeframe
from omoitrade.model.events import MarketDataAnomaly
from omoitrade.model.identifiers import EventId, InstrumentId
from omoitrade.model.market_data import Bar, OrderBook, Quote, TradeTick

__all__ = ["UNIDENTIFIED_SYMBOL", "MarketDataPipeline", "PipelineConfig"]

UNIDENTIFIED_SYMBOL = "?"
"""Payloads without a usable symbol are filed under ``InstrumentId.of(venue, "?")``."""


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """``name`` prefixes the clock timers (``<name>.stale``, ``<name>.bars``).

    Bars of an interval are closed ``bar_close_delay_ns`` after its end, which
    gives late prints of a live feed a moment to arrive (0 in backtests).
    """

    name: str = "market-data"
    stale_check_interval_ns: int = 1_000_000_000
    bar_close_delay_ns: int = 0

    def __post_init__(self) -> None:
        if not self.name:
            raise ValidationError("name", "must not be empty")
        if self.stale_check_interval_ns <= 0:
            raise ValidationError(
                "stale_check_interval_ns", "must be greater than 0", self.stale_check_interval_ns
            )
        if self.bar_close_delay_ns < 0:
            raise ValidationError(
                "bar_close_delay_ns", "must not be negative", self.bar_close_delay_ns
            )


class _Instrument:
    """One instrument's topics and latest clean updates."""

    __slots__ = (
        "bar_topics",
        "bars",
        "book",
        "books_topic",
        "quote",
        "quotes_topic",
        "trade",
        "trades_topic",
    )

    def __init__(self, instrument_id: InstrumentId) -> None:
        self.quotes_topic = quotes_topic(instrument_id)
        self.trades_topic = trades_topic(instrument_id)
        self.books_topic = books_topic(instrument_id)
        self.bar_topics = {tf: bars_topic(instrument_id, tf) for tf in Timeframe}
        self.quote: Quote | None = None
        self.trade: TradeTick | None = None
        self.book: OrderBook | None = None
        self.bars: dict[Timeframe, Bar] = {}


class MarketDataPipeline:
    """Normalize, check, aggregate and publish market data; see the module docstring."""

    def __init__(
        self,
        bus: MessageBus,
        clock: Clock,
        normalizer: Normalizer,
        detector: AnomalyDetector,
        aggregator: BarAggregator,
        ids: IdGenerator,
        config: PipelineConfig | None = None,
    ) -> None:
        self.config = config or PipelineConfig()
        if self.config.bar_close_delay_ns >= aggregator.timeframes[0].nanos:
            raise ValidationError(
                "bar_close_delay_ns",
                "must be shorter than the finest timeframe",
                self.config.bar_close_delay_ns,
            )
        self._bus = bus
        self._clock = clock
        self._normalizer = normalizer
        self._detector = detector
        self._aggregator = aggregator
        self._ids = ids
        self._instruments: dict[int, _Instrument] = {}  # by the id's int (UUID hashing is slow)
        self._running = False

    # -- input ------------------------------------------------------------------------------

    def on_raw(
        self,
        venue: str,
        payload: Any,
        *,
        symbol: str | None = None,
        timeframe: Timeframe | str | None = None,
    ) -> Anomaly | None:
        """Normalize a venue payload and process it; returns its anomaly or None when clean.

        A payload that cannot be normalized becomes an anomaly too (never an exception).
        """
        try:
            item = self._normalizer.normalize(venue, payload, symbol=symbol, timeframe=timeframe)
        except ValidationError as error:
            return self._announce(self._detector.record(_payload_anomaly(venue, error)))
        return self.on_data(item)

    def on_data(self, item: MarketData) -> Anomaly | None:
        """Process a normalized update; returns its anomaly or None when it was published."""
        anomaly = self._detector.check(item, self._clock.timestamp_ns())
        if anomaly is not None:
            return self._announce(anomaly)
        state = self._instruments.get(item.instrument_id.int)
        if state is None:
            state = self._instrument(item.instrument_id)
        kind = type(item)
        if kind is Quote:
            closed = self._aggregator.on_quote(item)  # type: ignore[arg-type]
            if closed:
                self._publish_bars(closed)
            state.quote = item  # type: ignore[assignment]
            self._bus.publish(state.quotes_topic, item)
        elif kind is TradeTick:
            closed = self._aggregator.on_trade(item)  # type: ignore[arg-type]
            if closed:
                self._publish_bars(closed)
            state.trade = item  # type: ignore[assignment]
            self._bus.publish(state.trades_topic, item)
        elif kind is OrderBook:
            state.book = item  # type: ignore[assignment]
            self._bus.publish(state.books_topic, item)
        else:
            self._publish_bars([item])  # type: ignore[list-item]
        return None

    # -- latest values ----------------------------------------------------------------------

    def latest_quote(self, instrument_id: InstrumentId) -> Quote | None:
        state = self._instruments.get(instrument_id.int)
        return state.quote if state is not None else None

    def latest_trade(self, instrument_id: InstrumentId) -> TradeTick | None:
        state = self._instruments.get(instrument_id.int)
        return state.trade if state is not None else None

    def latest_book(self, instrument_id: InstrumentId) -> OrderBook | None:
        state = self._instruments.get(instrument_id.int)
        return state.book if state is not None else None

    def latest_bar(self, instrument_id: InstrumentId, timeframe: Timeframe) -> Bar | None:
        state = self._instruments.get(instrument_id.int)
        return state.bars.get(Timeframe(timeframe)) if state is not None else None

    # -- timers -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Set the clock timers: bar closes at each finest boundary, stale checks.

        Every instrument the normalizer knows is watched from now, so a feed that
        never sends anything is reported stale too.
        """
        if self._running:
            return
        clock, config = self._clock, self.config
        now = clock.timestamp_ns()
        for instrument in self._normalizer.symbols.instruments():
            self._detector.watch(instrument.id, now)
        clock.set_timer(f"{config.name}.stale", config.stale_check_interval_ns, self._check_stale)
        step = self._aggregator.timeframes[0].nanos
        delay = config.bar_close_delay_ns
        base = now - delay
        clock.set_timer(f"{config.name}.bars", step, self._close_bars, base - base % step + delay)
        self._running = True

    def stop(self) -> None:
        """Cancel the timers (bars still open stay open until the next start or update)."""
        for name in ("stale", "bars"):
            with suppress(NotFound):
                self._clock.cancel(f"{self.config.name}.{name}")
        self._running = False

    def _close_bars(self, event: TimeEvent) -> None:
        bars = self._aggregator.flush(event.scheduled_ns - self.config.bar_close_delay_ns)
        if bars:
            self._publish_bars(bars)

    def _check_stale(self, event: TimeEvent) -> None:
        for anomaly in self._detector.check_stale(self._clock.timestamp_ns()):
            self._announce(anomaly)

    # -- output -----------------------------------------------------------------------------

    def _publish_bars(self, bars: list[Bar]) -> None:
        for bar in bars:
            state = self._instruments.get(bar.instrument_id.int)
            if state is None:
                state = self._instrument(bar.instrument_id)
            state.bars[bar.timeframe] = bar
            self._bus.publish(state.bar_topics[bar.timeframe], bar)

    def _instrument(self, instrument_id: InstrumentId) -> _Instrument:
        state = self._instruments[instrument_id.int] = _Instrument(instrument_id)
        return state

    def _announce(self, anomaly: Anomaly) -> Anomaly:
        event = MarketDataAnomaly(
            event_id=EventId.new(self._ids),
            occurred_at=self._clock.utc_now(),
            instrument_id=anomaly.instrument_id,
            kind=anomaly.kind.value,
            reason=anomaly.reason,
            data_timestamp=anomaly.data_timestamp,
        )
        self._bus.publish(ANOMALY_TOPIC, event)
        return anomaly


def _payload_anomaly(venue: str, error: ValidationError) -> Anomaly:
    """The anomaly of a payload the normalizer refused, filed under its instrument if known."""
    instrument_id = error.instrument_id if isinstance(error, PayloadError) else None
    if instrument_id is None:
        instrument_id = InstrumentId.of(venue, UNIDENTIFIED_SYMBOL)
    if isinstance(error, UnknownSymbol):
        kind = AnomalyKind.UNKNOWN_SYMBOL
    elif isinstance(error, InvalidPrice):
        kind = AnomalyKind.INVALID_PRICE
    else:
        kind = AnomalyKind.INVALID_PAYLOAD
    return Anomaly(instrument_id, kind, f"{venue} payload: {error.message}")
