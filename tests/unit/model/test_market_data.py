"""Tests for market data values: bars, quotes, trade ticks and order books."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.model import (
    BookLevel,
    Instrument,
    OrderBook,
    OrderSide,
    Quote,
    Timeframe,
    TradeTick,
    VenueTradeId,
)
from omoitrade.testing.factories import T0, make_bar, make_instrument

D = Decimal
NAIVE = datetime(2024, 1, 2, 9, 30)


@pytest.fixture
def instrument() -> Instrument:
    return make_instrument()


def quote(instrument: Instrument, **overrides: object) -> Quote:
    fields: dict[str, object] = {
        "instrument_id": instrument.id,
        "timestamp": T0,
        "bid_price": D("42000.00"),
        "ask_price": D("42000.50"),
        "bid_size": D("1.5"),
        "ask_size": D("2"),
    }
    return Quote(**(fields | overrides))  # type: ignore[arg-type]


def book(
    instrument: Instrument, bids: list[str], asks: list[str], **overrides: object
) -> OrderBook:
    fields: dict[str, object] = {
        "instrument_id": instrument.id,
        "timestamp": T0,
        "bids": tuple(BookLevel(D(p), D("1")) for p in bids),
        "asks": tuple(BookLevel(D(p), D("1")) for p in asks),
    }
    return OrderBook(**(fields | overrides))  # type: ignore[arg-type]


def error_of(call: object, *args: object, **kwargs: object) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.field, caught.value.rule


# -- timestamps --------------------------------------------------------------------------------


def test_naive_timestamps_are_refused_everywhere(instrument: Instrument) -> None:
    assert error_of(make_bar, instrument, timestamp=NAIVE) == (
        "timestamp",
        "must be timezone-aware UTC",
    )
    assert error_of(quote, instrument, timestamp=NAIVE) == (
        "timestamp",
        "must be timezone-aware UTC",
    )
    assert error_of(book, instrument, [], [], timestamp=NAIVE) == (
        "timestamp",
        "must be timezone-aware UTC",
    )
    with pytest.raises(ValidationError) as caught:
        TradeTick(instrument.id, NAIVE, D("1"), D("1"), VenueTradeId("t-1"))
    assert str(caught.value) == "timestamp: must be timezone-aware UTC"


def test_timestamps_in_another_zone_are_refused(instrument: Instrument) -> None:
    paris = datetime(2024, 1, 2, 10, 30, tzinfo=timezone(timedelta(hours=1)))

    assert error_of(make_bar, instrument, timestamp=paris) == (
        "timestamp",
        "must be timezone-aware UTC",
    )
    summer_in_new_york = datetime(2024, 7, 2, 9, 30, tzinfo=ZoneInfo("America/New_York"))
    assert error_of(make_bar, instrument, timestamp=summer_in_new_york)[0] == "timestamp"


def test_a_timestamp_that_is_not_a_datetime_is_refused(instrument: Instrument) -> None:
    assert error_of(make_bar, instrument, timestamp="2024-01-02T09:30:00Z") == (
        "timestamp",
        "must be a datetime",
    )


def test_any_utc_tzinfo_is_accepted(instrument: Instrument) -> None:
    stamp = datetime(2024, 1, 2, 9, 30, tzinfo=timezone.utc)  # noqa: UP017

    assert make_bar(instrument, timestamp=stamp).timestamp == T0
    assert make_bar(instrument, timestamp=T0.astimezone(ZoneInfo("UTC"))).timestamp == T0


# -- bars ---------------------------------------------------------------------------------------


def test_factory_bar_is_valid(instrument: Instrument) -> None:
    bar = make_bar(instrument)

    assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
    assert bar.timeframe is Timeframe.M1


def test_a_flat_bar_is_valid(instrument: Instrument) -> None:
    price = D("42000.00")

    bar = make_bar(instrument, open=price, high=price, low=price, close=price, volume=D("0"))

    assert bar.volume == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"open": D("42100.51")},  # open above high
        {"close": D("42100.51")},  # close above high
        {"high": D("41999.99")},  # high below open
        {"high": D("41950.00"), "open": D("41950.00"), "close": D("41950.00")},  # below low
    ],
)
def test_high_must_be_at_least_open_close_and_low(instrument: Instrument, overrides: dict) -> None:
    assert error_of(make_bar, instrument, **overrides) == (
        "high",
        "must be at least open, close and low",
    )


@pytest.mark.parametrize("overrides", [{"low": D("42000.01")}, {"close": D("41950.24")}])
def test_low_must_be_at_most_open_and_close(instrument: Instrument, overrides: dict) -> None:
    assert error_of(make_bar, instrument, **overrides) == ("low", "must be at most open and close")


@pytest.mark.parametrize("field", ["open", "high", "low", "close"])
def test_prices_must_be_positive(instrument: Instrument, field: str) -> None:
    zero = {"open": D("0"), "high": D("0"), "low": D("0"), "close": D("0")}

    assert error_of(make_bar, instrument, **zero) == ("open", "must be greater than 0")
    assert error_of(make_bar, instrument, **{field: D("-1")}) == (field, "must be greater than 0")


def test_volume_must_not_be_negative(instrument: Instrument) -> None:
    assert error_of(make_bar, instrument, volume=D("-0.0001")) == (
        "volume",
        "must not be negative",
    )


def test_closing_bid_must_not_exceed_the_ask(instrument: Instrument) -> None:
    assert error_of(make_bar, instrument, bid=D("42051.01"), ask=D("42051.00")) == (
        "bid",
        "must not exceed ask",
    )


def test_closing_bid_and_ask_are_optional_and_may_be_equal(instrument: Instrument) -> None:
    make_bar(instrument, bid=D("42051.00"), ask=D("42051.00"))
    make_bar(instrument, bid=None, ask=None)
    make_bar(instrument, bid=D("50000"), ask=None)


def test_bars_are_immutable(instrument: Instrument) -> None:
    bar = make_bar(instrument)

    with pytest.raises(dataclasses.FrozenInstanceError):
        bar.close = D("1")  # type: ignore[misc]


@pytest.mark.parametrize(
    ("timeframe", "minutes"),
    [
        (Timeframe.M1, 1),
        (Timeframe.M5, 5),
        (Timeframe.M15, 15),
        (Timeframe.H1, 60),
        (Timeframe.H4, 240),
        (Timeframe.D1, 1440),
    ],
)
def test_timeframe_length_in_nanoseconds(timeframe: Timeframe, minutes: int) -> None:
    assert timeframe.nanos == minutes * 60 * 1_000_000_000


# -- quotes and ticks --------------------------------------------------------------------------


def test_quote_mid_and_spread(instrument: Instrument) -> None:
    q = quote(instrument, bid_price=D("42000.00"), ask_price=D("42000.50"))

    assert q.mid == D("42000.25")
    assert q.spread == D("0.50")


def test_quote_mid_keeps_precision_below_the_tick(instrument: Instrument) -> None:
    q = quote(instrument, bid_price=D("42000.00"), ask_price=D("42000.01"))

    assert q.mid == D("42000.005")
    assert q.spread == D("0.01")


def test_a_crossed_quote_has_a_negative_spread(instrument: Instrument) -> None:
    q = quote(instrument, bid_price=D("42001.00"), ask_price=D("42000.00"))

    assert q.spread == D("-1.00")


@pytest.mark.parametrize("field", ["bid_size", "ask_size"])
def test_quote_sizes_must_not_be_negative(instrument: Instrument, field: str) -> None:
    assert error_of(quote, instrument, **{field: D("-1")}) == (field, "must not be negative")


def test_trade_tick_size_must_be_positive(instrument: Instrument) -> None:
    tick = TradeTick(instrument.id, T0, D("42000"), D("0.1"), VenueTradeId("t-1"), OrderSide.BUY)
    assert tick.aggressor_side is OrderSide.BUY

    with pytest.raises(ValidationError) as caught:
        TradeTick(instrument.id, T0, D("42000"), D("0"), VenueTradeId("t-2"))

    assert (caught.value.field, caught.value.rule) == ("size", "must be greater than 0")


# -- order books -------------------------------------------------------------------------------


def test_book_level_size_must_be_positive() -> None:
    assert BookLevel(D("1"), D("2")).order_count == 1
    with pytest.raises(ValidationError) as caught:
        BookLevel(D("1"), D("0"))

    assert (caught.value.field, caught.value.rule) == ("size", "must be greater than 0")


def test_book_with_bids_best_first_and_asks_best_first(instrument: Instrument) -> None:
    b = book(instrument, ["100.00", "99.50", "99.00"], ["100.50", "101.00"])

    assert b.best_bid == BookLevel(D("100.00"), D("1"))
    assert b.best_ask == BookLevel(D("100.50"), D("1"))
    assert b.mid == D("100.25")


def test_bids_must_be_strictly_descending(instrument: Instrument) -> None:
    with pytest.raises(ValidationError) as caught:
        book(instrument, ["99.00", "100.00"], [])

    assert (caught.value.field, caught.value.rule) == ("bids", "prices must be strictly descending")
    assert caught.value.value == D("100.00")


def test_asks_must_be_strictly_ascending(instrument: Instrument) -> None:
    with pytest.raises(ValidationError) as caught:
        book(instrument, [], ["101.00", "100.50"])

    assert (caught.value.field, caught.value.rule) == ("asks", "prices must be strictly ascending")
    assert caught.value.value == D("100.50")


@pytest.mark.parametrize(("bids", "asks"), [(["100", "100"], []), ([], ["100", "100.00"])])
def test_repeated_price_levels_are_refused(
    instrument: Instrument, bids: list[str], asks: list[str]
) -> None:
    with pytest.raises(ValidationError) as caught:
        book(instrument, bids, asks)

    assert caught.value.rule.startswith("prices must be strictly")


def test_a_crossed_book_is_representable(instrument: Instrument) -> None:
    crossed = book(instrument, ["101.00", "100.00"], ["100.50", "102.00"])

    assert crossed.best_bid is not None and crossed.best_ask is not None
    assert crossed.best_bid.price > crossed.best_ask.price
    assert crossed.mid == D("100.75")


def test_a_locked_book_is_representable(instrument: Instrument) -> None:
    locked = book(instrument, ["100.00"], ["100.00"])

    assert locked.mid == D("100.00")


def test_an_empty_or_one_sided_book_has_no_mid(instrument: Instrument) -> None:
    empty = book(instrument, [], [])
    bids_only = book(instrument, ["100.00"], [])

    assert (empty.best_bid, empty.best_ask, empty.mid) == (None, None, None)
    assert bids_only.best_bid is not None
    assert bids_only.best_ask is None
    assert bids_only.mid is None


def test_books_are_values(instrument: Instrument) -> None:
    assert book(instrument, ["100"], ["101"]) == book(instrument, ["100"], ["101"])
    assert book(instrument, ["100"], ["101"]) != book(instrument, ["100"], ["102"])
