"""Tests for bar aggregation: exact OHLCV across interval boundaries, several timeframes."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.data.bars import BarAggregator
from omoitrade.model import Bar, Instrument, Quote, Timeframe, TradeTick, VenueTradeId
from omoitrade.testing.factories import make_instrument

D = Decimal
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY = datetime(2024, 1, 2, tzinfo=UTC)
INSTRUMENT = make_instrument()


def at(clock: str) -> datetime:
    """``"10:00:05.250"`` on 2024-01-02, UTC."""
    hours, minutes, seconds = clock.split(":")
    return DAY + timedelta(hours=int(hours), minutes=int(minutes), seconds=float(seconds))


def ns(clock: str) -> int:
    return (at(clock) - EPOCH) // timedelta(microseconds=1) * 1000


def trade(clock: str, price: str, size: str, instrument: Instrument = INSTRUMENT) -> TradeTick:
    return TradeTick(instrument.id, at(clock), D(price), D(size), VenueTradeId(f"t-{clock}"))


def quote(clock: str, bid: str, ask: str) -> Quote:
    return Quote(INSTRUMENT.id, at(clock), D(bid), D(ask), D(1), D(1))


def aggregator(*timeframes: Timeframe) -> BarAggregator:
    return BarAggregator(IdGenerator(lambda: 0, seed=1), timeframes or tuple(Timeframe))


def ohlcv(bar: Bar) -> tuple[str, str, str, str, str, str, str]:
    return (
        bar.timeframe.value,
        bar.timestamp.strftime("%H:%M"),
        str(bar.open),
        str(bar.high),
        str(bar.low),
        str(bar.close),
        str(bar.volume),
    )


def test_a_minute_bar_has_the_exact_ohlcv_of_its_trades_and_closes_on_the_next_interval() -> None:
    bars = aggregator(Timeframe.M1)

    emitted = [
        bars.on_trade(trade("10:00:10", "100.00", "1")),
        bars.on_trade(trade("10:00:30", "105.50", "2.5")),
        bars.on_trade(trade("10:00:45", "95.25", "0.5")),
        bars.on_trade(trade("10:00:59.999999", "99.00", "0.0001")),
    ]
    closed = bars.on_trade(trade("10:01:00", "101.00", "1"))

    assert emitted == [[], [], [], []]
    assert [ohlcv(bar) for bar in closed] == [
        ("1m", "10:00", "100.00", "105.50", "95.25", "99.00", "4.0001")
    ]
    assert closed[0].timestamp == at("10:00:00")
    assert closed[0].instrument_id == INSTRUMENT.id
    assert (closed[0].bid, closed[0].ask) == (None, None)


def test_several_timeframes_are_built_from_the_same_trades() -> None:
    bars = aggregator(Timeframe.M1, Timeframe.M5, Timeframe.H1)
    for clock, price, size in [
        ("10:00:10", "100", "1"),
        ("10:00:50", "102", "1"),
        ("10:03:00", "98", "2"),
        ("10:04:59", "99", "1"),
        ("10:05:00", "110", "3"),
        ("10:59:59", "104", "1"),
    ]:
        assert all(
            bar.timeframe is not Timeframe.H1 for bar in bars.on_trade(trade(clock, price, size))
        )

    closed = bars.on_trade(trade("11:00:00", "90", "1"))

    assert [ohlcv(bar) for bar in closed] == [
        ("1m", "10:59", "104", "104", "104", "104", "1"),
        ("5m", "10:55", "104", "104", "104", "104", "1"),
        ("1h", "10:00", "100", "110", "98", "104", "9"),
    ]


def test_five_minute_bar_closes_when_a_trade_arrives_in_the_next_five_minutes() -> None:
    bars = aggregator(Timeframe.M1, Timeframe.M5)
    bars.on_trade(trade("10:00:10", "100", "1"))
    bars.on_trade(trade("10:03:00", "98", "2"))

    closed = bars.on_trade(trade("10:07:30", "101", "1"))

    assert [ohlcv(bar) for bar in closed] == [
        ("1m", "10:03", "98", "98", "98", "98", "2"),
        ("5m", "10:00", "100", "100", "98", "98", "3"),
    ]


def test_four_hour_and_daily_bars_are_aligned_to_utc_midnight() -> None:
    bars = aggregator(Timeframe.H4, Timeframe.D1)
    bars.on_trade(trade("05:30:00", "100", "1"))
    bars.on_trade(trade("07:59:59", "101", "1"))

    closed = bars.on_trade(
        TradeTick(
            INSTRUMENT.id, DAY + timedelta(days=1, seconds=1), D(102), D(1), VenueTradeId("x")
        )
    )

    assert [(bar.timeframe, bar.timestamp) for bar in closed] == [
        (Timeframe.H4, at("04:00:00")),
        (Timeframe.D1, DAY),
    ]
    assert [str(bar.volume) for bar in closed] == ["2", "2"]


def test_flush_emits_a_bar_at_its_interval_end_and_not_before() -> None:
    bars = aggregator(Timeframe.M1, Timeframe.M5)
    bars.on_trade(trade("10:00:10", "100", "1"))

    early = bars.flush(ns("10:00:59.999999"))
    on_time = bars.flush(ns("10:01:00"))
    five = bars.flush(ns("10:05:00"))

    assert early == []
    assert [ohlcv(bar) for bar in on_time] == [("1m", "10:00", "100", "100", "100", "100", "1")]
    assert [ohlcv(bar) for bar in five] == [("5m", "10:00", "100", "100", "100", "100", "1")]
    assert bars.flush(ns("11:00:00")) == []  # emitted once


def test_intervals_without_trades_emit_no_bar() -> None:
    bars = aggregator(Timeframe.M1)
    bars.on_trade(trade("10:00:10", "100", "1"))

    closed = bars.on_trade(trade("10:03:10", "101", "1"))
    flushed = bars.flush(ns("10:10:00"))

    assert [bar.timestamp for bar in closed] == [at("10:00:00")]
    assert [bar.timestamp for bar in flushed] == [at("10:03:00")]
    assert bars.flush(ns("12:00:00")) == []


def test_bid_and_ask_are_the_last_quote_seen_within_the_interval() -> None:
    bars = aggregator(Timeframe.M1, Timeframe.M5)
    emitted = [
        *bars.on_quote(quote("09:59:59", "1.00", "2.00")),  # an earlier interval: not carried
        *bars.on_trade(trade("10:00:10", "100", "1")),
        *bars.on_quote(quote("10:00:20", "99.50", "100.50")),
        *bars.on_quote(quote("10:00:40", "99.75", "100.25")),
        *bars.on_trade(trade("10:02:00", "101", "1")),
        *bars.on_quote(quote("10:04:30", "100.75", "101.25")),  # a minute with quotes only
        *bars.flush(ns("10:05:00")),
    ]

    assert [(bar.timeframe, bar.timestamp, bar.bid, bar.ask) for bar in emitted] == [
        (Timeframe.M1, at("10:00:00"), D("99.75"), D("100.25")),
        (Timeframe.M1, at("10:02:00"), None, None),
        (Timeframe.M5, at("10:00:00"), D("100.75"), D("101.25")),
    ]


def test_a_quote_in_a_later_interval_closes_the_bars_before_it() -> None:
    bars = aggregator(Timeframe.M1)
    bars.on_trade(trade("10:00:10", "100", "1"))

    closed = bars.on_quote(quote("10:01:05", "99", "101"))

    assert [bar.timestamp for bar in closed] == [at("10:00:00")]
    assert closed[0].bid is None  # the 10:01 quote belongs to the next interval


def test_a_crossed_quote_is_not_taken_as_a_closing_bid_and_ask() -> None:
    bars = aggregator(Timeframe.M1)
    bars.on_trade(trade("10:00:10", "100", "1"))
    bars.on_quote(quote("10:00:20", "99", "101"))
    bars.on_quote(quote("10:00:30", "102", "101"))

    (bar,) = bars.flush(ns("10:01:00"))

    assert (bar.bid, bar.ask) == (D(99), D(101))


def test_a_trade_for_an_interval_already_flushed_is_dropped_and_counted() -> None:
    bars = aggregator(Timeframe.M1, Timeframe.M5)
    bars.on_trade(trade("10:00:10", "100", "1"))
    bars.flush(ns("10:01:00"))

    late = bars.on_trade(trade("10:00:59", "200", "5"))
    bars.on_trade(trade("10:01:30", "101", "1"))

    assert late == []
    assert bars.late_trades == 1
    five = [bar for bar in bars.flush(ns("10:05:00")) if bar.timeframe is Timeframe.M5]
    assert [ohlcv(bar) for bar in five] == [("5m", "10:00", "100", "101", "100", "101", "2")]


def test_a_flush_with_no_open_interval_still_closes_the_past() -> None:
    bars = aggregator(Timeframe.M1)
    bars.on_trade(trade("10:00:10", "100", "1"))
    bars.flush(ns("10:01:00"))
    bars.flush(ns("10:03:00"))

    bars.on_trade(trade("10:02:30", "100", "1"))  # its minute ended at the last flush

    assert bars.late_trades == 1


def test_instruments_are_aggregated_separately() -> None:
    eth = make_instrument(symbol="ETH/USD")
    bars = aggregator(Timeframe.M1)
    bars.on_trade(trade("10:00:10", "100", "1"))
    bars.on_trade(trade("10:00:20", "2000", "3", instrument=eth))

    closed = bars.flush(ns("10:01:00"))

    assert [(bar.instrument_id, str(bar.volume)) for bar in closed] == [
        (INSTRUMENT.id, "1"),
        (eth.id, "3"),
    ]


def test_bar_ids_come_from_the_injected_generator() -> None:
    def run() -> list[Bar]:
        bars = aggregator(Timeframe.M1, Timeframe.M5)
        bars.on_trade(trade("10:00:10", "100", "1"))
        return bars.flush(ns("10:05:00"))

    first, second = run(), run()

    assert first == second
    assert len({bar.id for bar in first}) == 2


def test_at_least_one_timeframe_is_required() -> None:
    with pytest.raises(ValidationError) as caught:
        BarAggregator(IdGenerator(seed=1), ())

    assert caught.value.field == "timeframes"


# -- property: the aggregator agrees with a straightforward reference ---------------------------

TICKS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3 * 3600 * 10**6),  # microseconds after 10:00
        st.integers(min_value=1, max_value=10**7),  # price in cents
        st.integers(min_value=1, max_value=10**6),  # size in 1e-4 lots
    ),
    max_size=200,
)


def reference(
    ticks: list[tuple[int, int, int]], minutes: int
) -> dict[datetime, tuple[Decimal, ...]]:
    buckets: dict[datetime, list[tuple[Decimal, Decimal]]] = defaultdict(list)
    length = minutes * 60 * 10**6
    for offset, cents, lots in ticks:
        start = at("10:00:00") + timedelta(microseconds=offset - offset % length)
        buckets[start].append((D(cents) / 100, D(lots) / 10_000))
    return {
        start: (
            trades[0][0],
            max(price for price, _ in trades),
            min(price for price, _ in trades),
            trades[-1][0],
            sum((size for _, size in trades), D(0)),
        )
        for start, trades in buckets.items()
    }


@settings(max_examples=150, deadline=None)
@given(ticks=TICKS)
def test_aggregated_bars_match_a_straightforward_reference(
    ticks: list[tuple[int, int, int]],
) -> None:
    ticks = sorted(ticks, key=lambda tick: tick[0])
    bars = aggregator(Timeframe.M1, Timeframe.M5, Timeframe.H1)
    emitted: list[Bar] = []
    for index, (offset, cents, lots) in enumerate(ticks):
        ts = at("10:00:00") + timedelta(microseconds=offset)
        tick = TradeTick(
            INSTRUMENT.id, ts, D(cents) / 100, D(lots) / 10_000, VenueTradeId(f"t{index}")
        )
        emitted.extend(bars.on_trade(tick))
    emitted.extend(bars.flush(ns("23:59:59")))

    for timeframe, minutes in ((Timeframe.M1, 1), (Timeframe.M5, 5), (Timeframe.H1, 60)):
        built = {
            bar.timestamp: (bar.open, bar.high, bar.low, bar.close, bar.volume)
            for bar in emitted
            if bar.timeframe is timeframe
        }
        assert built == reference(ticks, minutes)
        assert len(built) == sum(1 for bar in emitted if bar.timeframe is timeframe)
    assert sum(bar.volume for bar in emitted if bar.timeframe is Timeframe.M1) == sum(
        (D(lots) / 10_000 for _, _, lots in ticks), D(0)
    )
