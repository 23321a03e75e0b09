"""Tests for the market-data pipeline: clean updates on the bus, anomalies as events, caches."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import SimulatedClock
from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.data.anomalies import AnomalyConfig, AnomalyDetector, AnomalyKind
from omoitrade.data.bars import BarAggregator
from omoitrade.data.normalize import CCXT, SYNTHETIC, Normalizer, SymbolMap
from omoitrade.data.pipeline import MarketDataPipeline, PipelineConfig
from omoitrade.data.topics import (
    ALL_QUOTES,
    ANOMALY_TOPIC,
    bars_topic,
    books_topic,
    quotes_topic,
    trades_topic,
)
from omoitrade.model import Bar, Instrument, InstrumentId, OrderBook, Quote, Timeframe, TradeTick
from omoitrade.model.events import MarketDataAnomaly, event_from_json, event_to_json
from omoitrade.testing.factories import make_instrument

D = Decimal
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
START = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
START_NS = (START - EPOCH) // timedelta(microseconds=1) * 1000
SECOND = 1_000_000_000


@dataclass
class Desk:
    """A pipeline on a simulated clock, with a recorder on every market-data topic."""

    instrument: Instrument
    clock: SimulatedClock
    bus: MessageBus
    detector: AnomalyDetector
    pipeline: MarketDataPipeline
    seen: dict[str, list[Any]] = field(default_factory=dict)

    def record(self, pattern: str) -> list[Any]:
        received: list[Any] = []
        self.bus.subscribe(pattern, received.append)
        self.seen[pattern] = received
        return received


@pytest.fixture
def desk() -> Desk:
    instrument = make_instrument()
    clock = SimulatedClock(START_NS)
    ids = IdGenerator(clock.timestamp_ns, seed=42)
    symbols = SymbolMap([("SIM", "BTCUSD", instrument), ("EXCH", "BTC/USD", instrument)])
    normalizer = Normalizer(symbols, {"SIM": SYNTHETIC, "EXCH": CCXT}, ids)
    detector = AnomalyDetector(AnomalyConfig(stale_after_ns=30 * SECOND), symbols.instruments())
    aggregator = BarAggregator(ids, (Timeframe.M1, Timeframe.M5))
    bus = MessageBus()
    pipeline = MarketDataPipeline(bus, clock, normalizer, detector, aggregator, ids)
    return Desk(instrument, clock, bus, detector, pipeline)


def quote_payload(seconds: float, bid: str = "42000.00", ask: str = "42000.50") -> dict[str, Any]:
    return {
        "type": "quote",
        "sym": "BTCUSD",
        "ts": START_NS + int(seconds * SECOND),
        "bp": bid,
        "bq": "1.5",
        "ap": ask,
        "aq": "2",
    }


def trade_payload(seconds: float, price: str, qty: str = "0.5") -> dict[str, Any]:
    return {
        "type": "trade",
        "sym": "BTCUSD",
        "ts": START_NS + int(seconds * SECOND),
        "px": price,
        "qty": qty,
        "side": "S",
        "id": f"t-{seconds}",
    }


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


# -- clean updates -----------------------------------------------------------------------------


def test_a_clean_quote_is_published_on_its_topic_and_cached(desk: Desk) -> None:
    exact = desk.record(quotes_topic(desk.instrument.id))
    everything = desk.record(ALL_QUOTES)

    result = desk.pipeline.on_raw("SIM", quote_payload(1))

    assert result is None
    (quote,) = exact
    assert everything == [quote]
    assert isinstance(quote, Quote)
    assert (quote.bid_price, quote.ask_price, quote.timestamp) == (
        D("42000.00"),
        D("42000.50"),
        at(1),
    )
    assert desk.pipeline.latest_quote(desk.instrument.id) is quote


def test_topics_carry_the_instruments_uuid_text(desk: Desk) -> None:
    instrument_id = desk.instrument.id

    assert quotes_topic(instrument_id) == f"data.quotes.{instrument_id}"
    assert trades_topic(instrument_id) == f"data.trades.{instrument_id}"
    assert books_topic(instrument_id) == f"data.books.{instrument_id}"
    assert bars_topic(instrument_id, Timeframe.M5) == f"data.bars.{instrument_id}.5m"
    assert ANOMALY_TOPIC == MarketDataAnomaly.topic == "events.data.anomaly"


def test_already_normalized_updates_go_through_the_same_checks(desk: Desk) -> None:
    quotes = desk.record(ALL_QUOTES)
    anomalies = desk.record(ANOMALY_TOPIC)
    good = Quote(desk.instrument.id, at(1), D("42000.00"), D("42000.50"), D(1), D(1))
    crossed = Quote(desk.instrument.id, at(2), D("42001.00"), D("42000.50"), D(1), D(1))

    assert desk.pipeline.on_data(good) is None
    anomaly = desk.pipeline.on_data(crossed)

    assert quotes == [good]
    assert anomaly is not None and anomaly.kind is AnomalyKind.CROSSED_BOOK
    assert [event.kind for event in anomalies] == ["crossed_book"]


def test_books_and_trades_are_published_and_cached(desk: Desk) -> None:
    books = desk.record(books_topic(desk.instrument.id))
    trades = desk.record("data.trades.*")
    book_payload = {
        "type": "book",
        "sym": "BTCUSD",
        "ts": START_NS,
        "bids": [["42000.00", "1"]],
        "asks": [["42000.50", "1"]],
    }

    desk.pipeline.on_raw("SIM", book_payload)
    desk.pipeline.on_raw("SIM", trade_payload(1, "42000.00"))

    assert isinstance(books[0], OrderBook)
    assert desk.pipeline.latest_book(desk.instrument.id) is books[0]
    assert isinstance(trades[0], TradeTick)
    assert desk.pipeline.latest_trade(desk.instrument.id) is trades[0]
    assert desk.pipeline.latest_quote(desk.instrument.id) is None


# -- anomalies ---------------------------------------------------------------------------------


def test_an_anomalous_quote_never_reaches_quote_subscribers_and_is_announced(desk: Desk) -> None:
    quotes = desk.record(ALL_QUOTES)
    anomalies = desk.record(ANOMALY_TOPIC)
    desk.pipeline.on_raw("SIM", quote_payload(1))

    result = desk.pipeline.on_raw("SIM", quote_payload(2, bid="42001.00", ask="42000.50"))

    assert result is not None and result.kind is AnomalyKind.CROSSED_BOOK
    assert len(quotes) == 1
    (event,) = anomalies
    assert isinstance(event, MarketDataAnomaly)
    assert event.instrument_id == desk.instrument.id
    assert event.kind == "crossed_book"
    assert event.reason == "bid 42001.00 is above ask 42000.50 (crossed)"
    assert event.data_timestamp == at(2)
    assert event.occurred_at == START  # the clock's time, not the data's
    assert desk.pipeline.latest_quote(desk.instrument.id) == quotes[0]


def test_a_payload_that_cannot_be_normalized_becomes_an_anomaly_not_an_exception(
    desk: Desk,
) -> None:
    quotes = desk.record(ALL_QUOTES)
    anomalies = desk.record(ANOMALY_TOPIC)

    unparsable = desk.pipeline.on_raw("SIM", quote_payload(1, bid="4200O.00"))
    negative = desk.pipeline.on_raw("SIM", quote_payload(2, bid="-1"))
    unknown = desk.pipeline.on_raw("SIM", quote_payload(3) | {"sym": "DOGEUSD"})
    shapeless = desk.pipeline.on_raw("SIM", "not json")

    assert quotes == []
    assert [(a.kind, a.reason) for a in (unparsable, negative, unknown, shapeless) if a] == [
        (AnomalyKind.INVALID_PAYLOAD, "SIM payload: bp: must be a number"),
        (AnomalyKind.INVALID_PRICE, "SIM payload: bp: must be a finite number greater than 0"),
        (
            AnomalyKind.UNKNOWN_SYMBOL,
            "SIM payload: sym: no instrument is mapped to 'DOGEUSD' on SIM",
        ),
        (AnomalyKind.INVALID_PAYLOAD, "SIM payload: payload: must be a JSON object"),
    ]
    assert [event.instrument_id for event in anomalies] == [
        desk.instrument.id,
        desk.instrument.id,
        InstrumentId.of("SIM", "DOGEUSD"),
        InstrumentId.of("SIM", "?"),
    ]
    assert all(event.data_timestamp is None for event in anomalies)
    assert desk.detector.counts(desk.instrument.id) == {"invalid_payload": 1, "invalid_price": 1}


def payload_stream(n: int, seed: int = 3) -> list[dict[str, Any]]:
    """Synthetic-venue quotes and trades of a seeded random walk around 42000, 50 ms apart."""
    rng = random.Random(seed)
    mid, payloads = 42000.0, []
    for i in range(n):
        mid *= math.exp(rng.gauss(0, 1e-4))
        cents = round(mid * 100)
        if rng.random() < 0.7:
            bid, ask = f"{(cents - 1) / 100:.2f}", f"{(cents + 1) / 100:.2f}"
            payloads.append(quote_payload(i * 0.05, bid=bid, ask=ask))
        else:
            qty = f"{max(1, round(math.exp(rng.gauss(7, 1.2)))) / 10_000:.4f}"
            payloads.append(trade_payload(i * 0.05, f"{cents / 100:.2f}", qty))
    return payloads


@pytest.mark.parametrize("bad_price", ["0", "-42000.00", "NaN", "Infinity", "1e50"])
def test_a_bad_price_in_a_clean_payload_stream_is_an_invalid_price_anomaly_only(
    desk: Desk, bad_price: str
) -> None:
    payloads = payload_stream(2000)
    payloads.insert(1200, quote_payload(60.001, bid=bad_price))
    quotes = desk.record(ALL_QUOTES)
    anomalies = desk.record(ANOMALY_TOPIC)

    results = [desk.pipeline.on_raw("SIM", payload) for payload in payloads]

    flagged = [(index, result.kind) for index, result in enumerate(results) if result]
    assert flagged == [(1200, AnomalyKind.INVALID_PRICE)]
    assert [event.reason.split(": ")[1] for event in anomalies] == ["bp"]
    assert len(quotes) == sum(1 for p in payloads if p["type"] == "quote") - 1


def test_anomaly_counts_are_kept_per_instrument(desk: Desk) -> None:
    desk.pipeline.on_raw("SIM", quote_payload(1))
    desk.pipeline.on_raw("SIM", quote_payload(2, bid="42000.50"))
    desk.pipeline.on_raw("SIM", quote_payload(3, bid="42000.005"))
    desk.pipeline.on_raw("SIM", quote_payload(4, bid="42000.005"))
    desk.pipeline.on_raw("SIM", quote_payload(5) | {"sym": "ETHUSD"})

    assert desk.detector.counts(desk.instrument.id) == {"locked_book": 1, "off_tick": 2}
    assert desk.detector.counts(InstrumentId.of("SIM", "ETHUSD")) == {"unknown_symbol": 1}
    assert desk.detector.total() == 4


def test_the_anomaly_event_round_trips_through_json(desk: Desk) -> None:
    anomalies = desk.record(ANOMALY_TOPIC)
    desk.pipeline.on_raw("SIM", quote_payload(1, bid="42000.50"))

    (event,) = anomalies

    assert event_from_json(event_to_json(event)) == event


# -- bars and timers ---------------------------------------------------------------------------


def test_trades_build_bars_published_on_their_topic_before_the_trade_that_closed_them(
    desk: Desk,
) -> None:
    order: list[str] = []
    desk.bus.subscribe("data.bars.*", lambda bar: order.append(f"bar {bar.timeframe.value}"))
    desk.bus.subscribe("data.trades.*", lambda trade: order.append(f"trade {trade.price}"))
    minute_bars = desk.record(bars_topic(desk.instrument.id, Timeframe.M1))
    desk.pipeline.on_raw("SIM", trade_payload(10, "42000.00", "1"))
    desk.pipeline.on_raw("SIM", trade_payload(20, "42010.00", "0.5"))
    desk.pipeline.on_raw("SIM", trade_payload(50, "41990.00", "0.25"))

    desk.pipeline.on_raw("SIM", trade_payload(61, "42005.00"))

    (bar,) = minute_bars
    assert isinstance(bar, Bar)
    assert (bar.timestamp, bar.open, bar.high, bar.low, bar.close, bar.volume) == (
        START,
        D("42000.00"),
        D("42010.00"),
        D("41990.00"),
        D("41990.00"),
        D("1.75"),
    )
    assert order[-2:] == ["bar 1m", "trade 42005.00"]
    assert desk.pipeline.latest_bar(desk.instrument.id, Timeframe.M1) is bar
    assert desk.pipeline.latest_bar(desk.instrument.id, Timeframe.M5) is None


def test_a_bar_closes_on_time_from_the_clock_without_another_trade(desk: Desk) -> None:
    minute_bars = desk.record(bars_topic(desk.instrument.id, Timeframe.M1))
    desk.pipeline.start()
    desk.pipeline.on_raw("SIM", trade_payload(10, "42000.00"))

    desk.clock.advance_to(START_NS + 60 * SECOND - 1)
    assert minute_bars == []
    desk.clock.advance_to(START_NS + 60 * SECOND)

    assert [bar.timestamp for bar in minute_bars] == [START]


def test_a_bar_close_delay_waits_for_late_prints(desk: Desk) -> None:
    pipeline = MarketDataPipeline(
        desk.bus,
        desk.clock,
        Normalizer(
            SymbolMap([("SIM", "BTCUSD", desk.instrument)]), {"SIM": SYNTHETIC}, IdGenerator(seed=1)
        ),
        AnomalyDetector(),
        BarAggregator(IdGenerator(seed=2), (Timeframe.M1,)),
        IdGenerator(seed=3),
        PipelineConfig(name="delayed", bar_close_delay_ns=SECOND // 2),
    )
    minute_bars = desk.record("data.bars.*")
    pipeline.start()
    pipeline.on_raw("SIM", trade_payload(10, "42000.00"))
    desk.clock.advance_to(START_NS + 60 * SECOND)
    pipeline.on_raw("SIM", trade_payload(59.9, "42001.00"))  # late, but within the delay

    desk.clock.advance_to(START_NS + 60 * SECOND + SECOND // 2)

    (bar,) = minute_bars
    assert (bar.close, bar.volume) == (D("42001.00"), D("1.0"))


def test_a_silent_feed_is_reported_stale_from_the_clock(desk: Desk) -> None:
    anomalies = desk.record(ANOMALY_TOPIC)
    desk.pipeline.start()
    desk.clock.advance_to(START_NS + 5 * SECOND)
    desk.pipeline.on_raw("SIM", quote_payload(5))

    desk.clock.advance_to(START_NS + 35 * SECOND)
    assert anomalies == []
    desk.clock.advance_to(START_NS + 40 * SECOND)

    (event,) = anomalies
    assert (event.kind, event.reason) == ("stale_feed", "no update for 31.0 s (limit 30.0 s)")
    assert event.occurred_at == START + timedelta(seconds=36)
    assert event.data_timestamp == at(5)


def test_an_instrument_that_never_sends_anything_is_reported_stale(desk: Desk) -> None:
    anomalies = desk.record(ANOMALY_TOPIC)
    desk.pipeline.start()

    desk.clock.advance_to(START_NS + 31 * SECOND)

    assert [(event.instrument_id, event.kind) for event in anomalies] == [
        (desk.instrument.id, "stale_feed")
    ]


def test_stop_cancels_the_timers(desk: Desk) -> None:
    desk.pipeline.start()
    desk.pipeline.start()  # idempotent
    assert desk.clock.timer_names() == ["market-data.bars", "market-data.stale"]
    assert desk.pipeline.running

    desk.pipeline.stop()
    desk.pipeline.stop()

    assert desk.clock.timer_names() == []
    assert not desk.pipeline.running


def test_a_venue_bar_is_checked_then_published_and_cached(desk: Desk) -> None:
    five = desk.record(bars_topic(desk.instrument.id, Timeframe.M5))
    row = [START_NS // 1_000_000, 42000.0, 42010.5, 41990.25, 42005, "12.5"]

    assert desk.pipeline.on_raw("EXCH", row, symbol="BTC/USD", timeframe="5m") is None

    (bar,) = five
    assert isinstance(bar, Bar)
    assert bar.volume == D("12.5")
    assert desk.pipeline.latest_bar(desk.instrument.id, Timeframe.M5) is bar


def test_bar_close_delay_must_be_shorter_than_the_finest_timeframe(desk: Desk) -> None:
    with pytest.raises(ValidationError) as caught:
        MarketDataPipeline(
            desk.bus,
            desk.clock,
            Normalizer(SymbolMap(), {}, IdGenerator(seed=1)),
            AnomalyDetector(),
            BarAggregator(IdGenerator(seed=1), (Timeframe.M1,)),
            IdGenerator(seed=1),
            PipelineConfig(bar_close_delay_ns=60 * SECOND),
        )

    assert caught.value.field == "bar_close_delay_ns"
