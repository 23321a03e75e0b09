"""Tests for anomaly detection: each kind caught in a realistic stream, none in a clean one."""

from __future__ import annotations

import math
import random
import re
import statistics
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omoitrade.core.errors import ValidationError
from omoitrade.data.anomalies import (
    Anomaly,
    AnomalyConfig,
    AnomalyDetector,
    AnomalyKind,
    RobustWindow,
)
from omoitrade.model import (
    Bar,
    BarId,
    BookLevel,
    Instrument,
    OrderBook,
    OrderSide,
    Quote,
    Timeframe,
    TradeTick,
    VenueTradeId,
)
from omoitrade.testing.factories import T0, make_instrument

D = Decimal
CENT = D("0.01")
Update = Quote | TradeTick | OrderBook

INSTRUMENT = make_instrument()
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def market(
    instrument: Instrument = INSTRUMENT, n: int = 4000, seed: int = 11, vol: float = 1e-4
) -> list[Update]:
    """A clean, realistic stream: a random-walk mid (``vol`` per update) around 42000,
    spreads of 1-4 ticks, lognormal trade sizes on the lot grid, 60% quotes, 30% trades
    at the touch and 10% five-level books, 1-200 ms apart."""
    rng = random.Random(seed)
    mid, ts = 42000.0, T0
    updates: list[Update] = []
    for i in range(n):
        ts += timedelta(microseconds=rng.randint(1_000, 200_000))
        mid *= math.exp(rng.gauss(0, vol))
        cents, half = round(mid * 100), rng.randint(1, 4)
        bid, ask = D(cents - half) * CENT, D(cents + half) * CENT
        roll = rng.random()
        if roll < 0.6:
            bid_size, ask_size = (
                D(rng.randint(1, 50_000)) / 10_000,
                D(rng.randint(1, 50_000)) / 10_000,
            )
            updates.append(Quote(instrument.id, ts, bid, ask, bid_size, ask_size))
        elif roll < 0.9:
            size = max(D("0.0001"), D(str(round(math.exp(rng.gauss(-1, 1.2)), 4))))
            buy = rng.random() < 0.5
            side = OrderSide.BUY if buy else OrderSide.SELL
            price = ask if buy else bid
            updates.append(TradeTick(instrument.id, ts, price, size, VenueTradeId(f"t{i}"), side))
        else:
            bids = tuple(BookLevel(bid - k * CENT, D("0.5") + k) for k in range(5))
            asks = tuple(BookLevel(ask + k * CENT, D("0.5") + k) for k in range(5))
            updates.append(OrderBook(instrument.id, ts, bids, asks))
    return updates


def run(detector: AnomalyDetector, updates: Sequence[Update]) -> list[tuple[int, Anomaly]]:
    found = []
    for index, update in enumerate(updates):
        anomaly = detector.check(update)
        if anomaly is not None:
            found.append((index, anomaly))
    return found


def previous_quote(updates: list[Update], index: int) -> Quote:
    return next(u for u in reversed(updates[:index]) if isinstance(u, Quote))


def previous_trade(updates: list[Update], index: int) -> TradeTick:
    return next(u for u in reversed(updates[:index]) if isinstance(u, TradeTick))


def later(updates: list[Update], index: int) -> datetime:
    """A timestamp between the update before ``index`` and the one at it."""
    return updates[index - 1].timestamp + timedelta(microseconds=500)


def to_ns(timestamp: datetime) -> int:
    return (timestamp - EPOCH) // timedelta(microseconds=1) * 1000


# -- false positives -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clean_realistic_stream_of_thousands_of_updates_raises_no_anomaly(seed: int) -> None:
    detector = AnomalyDetector(instruments=[INSTRUMENT])

    found = run(detector, market(n=4000, seed=seed))

    assert found == []
    assert detector.total() == 0


# -- each kind, injected into a clean stream -------------------------------------------------

AT = 2500  # where the bad update is injected: well past min_history on every stream


def bad_quote(updates: list[Update], **changes: object) -> Quote:
    quote = previous_quote(updates, AT)
    fields: dict[str, object] = {
        "instrument_id": quote.instrument_id,
        "timestamp": later(updates, AT),
        "bid_price": quote.bid_price,
        "ask_price": quote.ask_price,
        "bid_size": quote.bid_size,
        "ask_size": quote.ask_size,
    }
    return Quote(**(fields | changes))  # type: ignore[arg-type]


def infinite_bid(updates: list[Update]) -> Update:
    quote = bad_quote(updates)
    # The model refuses it (the pipeline files that refusal as invalid_price); the detector
    # still guards against a value that got past a constructor.
    object.__setattr__(quote, "bid_price", D("Infinity"))
    return quote


def crossed_quote(updates: list[Update]) -> Update:
    quote = previous_quote(updates, AT)
    return bad_quote(updates, bid_price=quote.ask_price + 1, ask_price=quote.ask_price)


def locked_quote(updates: list[Update]) -> Update:
    quote = previous_quote(updates, AT)
    return bad_quote(updates, bid_price=quote.ask_price)


def crossed_book(updates: list[Update]) -> Update:
    quote = previous_quote(updates, AT)
    bids = (BookLevel(quote.ask_price + CENT, D(1)),)
    asks = (BookLevel(quote.ask_price, D(1)),)
    return OrderBook(quote.instrument_id, later(updates, AT), bids, asks)


def spiked_quote(updates: list[Update]) -> Update:
    quote = previous_quote(updates, AT)
    bid, ask = (
        (quote.bid_price * D("1.03")).quantize(CENT),
        (quote.ask_price * D("1.03")).quantize(CENT),
    )
    return bad_quote(updates, bid_price=bid, ask_price=ask)


def earlier_quote(updates: list[Update]) -> Update:
    quote = previous_quote(updates, AT)
    return bad_quote(updates, timestamp=quote.timestamp - timedelta(seconds=1))


def huge_trade(updates: list[Update]) -> Update:
    trade = previous_trade(updates, AT)
    return TradeTick(
        trade.instrument_id, later(updates, AT), trade.price, D(10**6), VenueTradeId("big")
    )


def off_tick_quote(updates: list[Update]) -> Update:
    quote = previous_quote(updates, AT)
    return bad_quote(updates, bid_price=quote.bid_price + D("0.005"))


NUMBER = r"\d+(\.\d+)?"


@pytest.mark.parametrize(
    ("inject", "kind", "reason"),
    [
        (
            infinite_bid,
            AnomalyKind.INVALID_PRICE,
            r"bid Infinity is not a finite price greater than 0",
        ),
        (
            crossed_quote,
            AnomalyKind.CROSSED_BOOK,
            rf"bid {NUMBER} is above ask {NUMBER} \(crossed\)",
        ),
        (
            crossed_book,
            AnomalyKind.CROSSED_BOOK,
            rf"bid {NUMBER} is above ask {NUMBER} \(crossed\)",
        ),
        (locked_quote, AnomalyKind.LOCKED_BOOK, rf"bid {NUMBER} equals ask {NUMBER} \(locked\)"),
        (
            spiked_quote,
            AnomalyKind.PRICE_JUMP,
            rf"mid {NUMBER} jumped {NUMBER} robust std devs from {NUMBER} \(limit 5.0\)",
        ),
        (
            earlier_quote,
            AnomalyKind.TIME_BACKWARDS,
            r"quote timestamp 2024-01-02T\S+ is before the previous 2024-01-02T\S+",
        ),
        (
            huge_trade,
            AnomalyKind.VOLUME_OUTLIER,
            rf"size 1000000 is {NUMBER} robust std devs above the typical {NUMBER} \(limit 8.0\)",
        ),
        (
            off_tick_quote,
            AnomalyKind.OFF_TICK,
            rf"bid {NUMBER}5 is not a multiple of the tick 0.01",
        ),
    ],
    ids=lambda value: getattr(value, "__name__", None) or str(value)[:20],
)
def test_each_anomaly_injected_into_a_clean_stream_is_caught_with_its_kind_and_reason(
    inject: Callable[[list[Update]], Update], kind: AnomalyKind, reason: str
) -> None:
    updates = market(n=4000)
    bad = inject(updates)
    updates.insert(AT, bad)
    detector = AnomalyDetector(instruments=[INSTRUMENT])

    found = run(detector, updates)

    assert [(index, anomaly.kind) for index, anomaly in found] == [(AT, kind)]
    anomaly = found[0][1]
    assert re.fullmatch(reason, anomaly.reason), anomaly.reason
    assert anomaly.instrument_id == INSTRUMENT.id
    assert anomaly.data_timestamp == bad.timestamp
    assert detector.counts(INSTRUMENT.id) == {kind.value: 1}


def test_the_jump_reason_names_the_price_the_size_of_the_jump_and_the_reference() -> None:
    updates = market(n=1000)
    last = updates[-1]
    reference = previous_quote(updates, len(updates))
    detector = AnomalyDetector(instruments=[INSTRUMENT])
    run(detector, updates)
    spike = Quote(
        INSTRUMENT.id,
        last.timestamp + timedelta(seconds=1),
        D("51234.00"),
        D("51234.50"),
        D(1),
        D(1),
    )

    anomaly = detector.check(spike)

    assert anomaly is not None
    z = float(re.search(r"jumped (\S+) robust", anomaly.reason).group(1))  # type: ignore[union-attr]
    assert z > 100
    assert anomaly.reason.startswith("mid 51234.25 jumped ")
    assert anomaly.reason.endswith(f" robust std devs from {reference.mid} (limit 5.0)")


def test_stale_feed_is_reported_once_per_silence_and_rearmed_by_an_update() -> None:
    detector = AnomalyDetector(AnomalyConfig(stale_after_ns=60_000_000_000), [INSTRUMENT])
    updates = market(n=50)
    run(detector, updates)
    last_ns = to_ns(updates[-1].timestamp)

    assert detector.check_stale(last_ns + 60_000_000_000) == []
    stale = detector.check_stale(last_ns + 75_000_000_000)
    again = detector.check_stale(last_ns + 90_000_000_000)

    assert [a.kind for a in stale] == [AnomalyKind.STALE_FEED]
    assert stale[0].reason == "no update for 75.0 s (limit 60.0 s)"
    assert stale[0].data_timestamp == updates[-1].timestamp
    assert again == []
    quote = previous_quote(updates, len(updates))
    fresh = Quote(
        INSTRUMENT.id,
        EPOCH + timedelta(microseconds=last_ns // 1000 + 10**8),
        quote.bid_price,
        quote.ask_price,
        D(1),
        D(1),
    )
    assert detector.check(fresh, received_ns=last_ns + 100_000_000_000) is None
    rearmed = detector.check_stale(last_ns + 170_000_000_000)
    assert [a.reason for a in rearmed] == ["no update for 70.0 s (limit 60.0 s)"]


def test_a_watched_instrument_that_never_updates_goes_stale() -> None:
    detector = AnomalyDetector()
    detector.watch(INSTRUMENT.id, since_ns=1_000)

    stale = detector.check_stale(1_000 + 61_000_000_000)

    assert [(a.instrument_id, a.kind, a.data_timestamp) for a in stale] == [
        (INSTRUMENT.id, AnomalyKind.STALE_FEED, None)
    ]


# -- what anomalies do (not) change ----------------------------------------------------------


def test_a_rejected_spike_does_not_become_the_reference_price() -> None:
    updates = market(n=3000)
    updates.insert(AT, spiked_quote(updates))
    detector = AnomalyDetector(instruments=[INSTRUMENT])

    found = run(detector, updates)

    # had the spike been learned, the next quote (back at the old level) would jump too
    assert [index for index, _ in found] == [AT]


def test_a_rejected_spike_does_not_widen_the_band() -> None:
    stream = [quote for quote in market(n=3000) if isinstance(quote, Quote)]
    with_spikes = AnomalyDetector(instruments=[INSTRUMENT])
    without = AnomalyDetector(instruments=[INSTRUMENT])
    for index, quote in enumerate(stream):
        without.check(quote)
        with_spikes.check(quote)
        if index % 50 == 49:  # a spike every 50 quotes, each rejected
            spike = Quote(
                quote.instrument_id,
                quote.timestamp,
                quote.bid_price * 2,
                quote.ask_price * 2,
                D(1),
                D(1),
            )
            assert with_spikes.check(spike) is not None

    assert with_spikes.counts(INSTRUMENT.id) == {"price_jump": len(stream) // 50}
    assert without.total() == 0
    last = stream[-1]
    one_percent = Quote(
        last.instrument_id,
        last.timestamp,
        (last.bid_price * D("1.01")).quantize(CENT),
        (last.ask_price * D("1.01")).quantize(CENT),
        D(1),
        D(1),
    )
    assert without.check(one_percent) is not None  # the band is as tight as without spikes
    assert with_spikes.check(one_percent) is not None


def test_a_lasting_new_level_is_accepted_after_a_few_confirmations() -> None:
    base = market(n=1500)
    detector = AnomalyDetector(AnomalyConfig(level_shift_after=3), [INSTRUMENT])
    run(detector, base)
    ts = base[-1].timestamp
    shifted = []
    for i in range(10):  # the market really moved 3% and stays there
        ts += timedelta(milliseconds=100)
        bid = D("43300.00") + i * CENT
        shifted.append(Quote(INSTRUMENT.id, ts, bid, bid + CENT, D(1), D(1)))

    results = [detector.check(quote) for quote in shifted]

    assert [r.kind if r else None for r in results[:2]] == [AnomalyKind.PRICE_JUMP] * 2
    assert results[2:] == [None] * 8


def test_jumps_are_not_judged_before_min_history() -> None:
    detector = AnomalyDetector(AnomalyConfig(min_history=20), [INSTRUMENT])
    quotes = [q for q in market(n=200) if isinstance(q, Quote)][:10]
    run(detector, quotes)  # nine returns: too few to judge
    last = quotes[-1]
    spike = Quote(INSTRUMENT.id, last.timestamp, last.bid_price * 2, last.ask_price * 2, D(1), D(1))

    assert detector.check(spike) is None


def test_in_a_volatile_market_jump_k_robust_std_devs_decide() -> None:
    quotes = [q for q in market(n=2000, vol=5e-3, seed=5) if isinstance(q, Quote)][:300]
    detector = AnomalyDetector(instruments=[INSTRUMENT])
    assert run(detector, quotes) == []  # 0.5% per update: wild but clean
    last = quotes[-1]
    logs = [math.log(q.mid) for q in quotes[-101:]]
    sigma = 1.4826 * reference_mad([b - a for a, b in pairwise(logs)])

    def moved(k: float, seconds: int) -> Quote:
        factor = D(str(round(math.exp(k * sigma), 6)))
        bid = (last.bid_price * factor).quantize(CENT)
        ts = last.timestamp + timedelta(seconds=seconds)
        return Quote(INSTRUMENT.id, ts, bid, bid + CENT, D(1), D(1))

    assert detector.check(moved(12, 1)) is not None  # well beyond 5 robust std devs
    assert detector.check(moved(2, 2)) is None  # within


def test_bars_are_checked_per_timeframe() -> None:
    detector = AnomalyDetector(instruments=[INSTRUMENT])
    start = T0

    def bar(minute: int, close: str, timeframe: Timeframe = Timeframe.M1, volume: str = "3") -> Bar:
        price = D(close)
        return Bar(
            BarId.new(),
            INSTRUMENT.id,
            start + timedelta(minutes=minute),
            timeframe,
            price,
            price,
            price,
            price,
            D(volume),
        )

    rng = random.Random(4)
    level = 42000.0
    for minute in range(60):
        level *= math.exp(rng.gauss(0, 5e-4))
        assert (
            detector.check(bar(minute, f"{level:.2f}", volume=f"{rng.uniform(2, 4):.4f}")) is None
        )
    assert detector.check(bar(5, "42000.00", Timeframe.M5)) is None  # its own stream
    backwards = detector.check(bar(30, f"{level:.2f}"))
    outsized = detector.check(bar(61, f"{level:.2f}", volume="300000"))
    off_tick = detector.check(bar(62, "42000.001"))

    assert backwards is not None and backwards.kind is AnomalyKind.TIME_BACKWARDS
    assert backwards.reason.startswith("1m bar timestamp")
    assert outsized is not None and outsized.kind is AnomalyKind.VOLUME_OUTLIER
    assert outsized.reason.startswith("volume 300000 is ")
    assert off_tick is not None and off_tick.kind is AnomalyKind.OFF_TICK
    assert off_tick.reason == "open 42000.001 is not a multiple of the tick 0.01"


def test_off_tick_is_judged_against_each_instruments_own_tick() -> None:
    coarse = make_instrument(symbol="ES", tick_size=D("0.25"), lot_size=D(1), min_quantity=D(1))
    detector = AnomalyDetector(instruments=[coarse])
    good = Quote(coarse.id, T0, D("4500.25"), D("4500.50"), D(1), D(1))
    bad = Quote(coarse.id, T0, D("4500.30"), D("4500.50"), D(1), D(1))
    unknown = make_instrument(symbol="UNKNOWN")

    assert detector.check(good) is None
    anomaly = detector.check(bad)
    assert (
        anomaly is not None and anomaly.reason == "bid 4500.30 is not a multiple of the tick 0.25"
    )
    # without a known tick, prices are not judged against one
    assert detector.check(Quote(unknown.id, T0, D("1.001"), D("1.002"), D(1), D(1))) is None


# -- counts ----------------------------------------------------------------------------------


def test_counts_are_kept_per_instrument_and_kind() -> None:
    eth = make_instrument(symbol="ETH/USD")
    detector = AnomalyDetector(instruments=[INSTRUMENT, eth])
    btc_quote = Quote(INSTRUMENT.id, T0, D("42000.00"), D("42000.50"), D(1), D(1))
    eth_quote = Quote(eth.id, T0, D("2200.00"), D("2200.10"), D(1), D(1))
    detector.check(btc_quote)
    detector.check(eth_quote)

    detector.check(Quote(INSTRUMENT.id, T0, D("42000.50"), D("42000.00"), D(1), D(1)))
    detector.check(Quote(INSTRUMENT.id, T0, D("42000.50"), D("42000.50"), D(1), D(1)))
    detector.check(Quote(INSTRUMENT.id, T0, D("42000.50"), D("42000.40"), D(1), D(1)))
    detector.check(Quote(eth.id, T0, D("2200.001"), D("2200.10"), D(1), D(1)))

    assert detector.counts(INSTRUMENT.id) == {"crossed_book": 2, "locked_book": 1}
    assert detector.counts(eth.id) == {"off_tick": 1}
    assert detector.counts(make_instrument(symbol="X").id) == {}
    assert detector.total() == 4


def test_recorded_anomalies_from_elsewhere_are_counted() -> None:
    detector = AnomalyDetector()
    anomaly = Anomaly(
        INSTRUMENT.id, AnomalyKind.INVALID_PAYLOAD, "SIM payload: bp: must be a number"
    )

    assert detector.record(anomaly) is anomaly
    assert detector.counts(INSTRUMENT.id) == {"invalid_payload": 1}


# -- configuration and the robust window -------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"jump_k": 0}, "jump_k"),
        ({"volume_k": float("nan")}, "volume_k"),
        ({"min_jump": -1.0}, "min_jump"),
        ({"window": 2}, "window"),
        ({"min_history": 101}, "min_history"),
        ({"stale_after_ns": 0}, "stale_after_ns"),
        ({"level_shift_after": 1}, "level_shift_after"),
    ],
)
def test_config_refuses_nonsense_naming_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AnomalyConfig(**changes)  # type: ignore[arg-type]

    assert caught.value.field == field


def reference_mad(values: list[float]) -> float:
    middle = statistics.median(values)
    return statistics.median(abs(v - middle) for v in values)


@given(
    values=st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda x: round(x, 3)),
        min_size=1,
        max_size=60,
    ),
    size=st.integers(min_value=3, max_value=25),
)
def test_robust_window_median_and_mad_match_a_straightforward_computation(
    values: list[float], size: int
) -> None:
    window = RobustWindow(size)
    for value in values:
        window.push(value)
    recent = values[-size:]

    assert len(window) == len(recent)
    assert window.median() == statistics.median(recent)
    expected = reference_mad(recent) if len(recent) >= 2 else 0.0
    assert window.mad() == pytest.approx(expected, abs=1e-9)
