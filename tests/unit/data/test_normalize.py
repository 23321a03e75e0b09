"""Tests for normalization: two venue formats, exact Decimals, errors that name the field."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omoitrade.core.errors import Conflict, ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.data.normalize import (
    CCXT,
    SYNTHETIC,
    InvalidPrice,
    Normalizer,
    PayloadError,
    SymbolMap,
    UnknownSymbol,
)
from omoitrade.model import (
    Bar,
    BookLevel,
    Instrument,
    InstrumentId,
    OrderBook,
    OrderSide,
    Quote,
    Timeframe,
    TradeTick,
    VenueTradeId,
)
from omoitrade.testing.factories import make_instrument

D = Decimal
TS = datetime(2024, 1, 2, 9, 30, 15, 250000, tzinfo=UTC)
TS_NS = 1_704_187_815_250_000_000
TS_MS = TS_NS // 1_000_000


@pytest.fixture
def instrument() -> Instrument:
    return make_instrument()


@pytest.fixture
def normalizer(instrument: Instrument) -> Normalizer:
    symbols = SymbolMap([("SIM", "BTCUSD", instrument), ("EXCH", "BTC/USD", instrument)])
    return Normalizer(symbols, {"SIM": SYNTHETIC, "EXCH": CCXT}, IdGenerator(seed=7))


def synthetic_quote(**overrides: Any) -> dict[str, Any]:
    payload = {
        "type": "quote",
        "sym": "BTCUSD",
        "ts": TS_NS,
        "bp": "42000.00",
        "bq": "1.5",
        "ap": "42000.50",
        "aq": "2",
    }
    return payload | overrides


def synthetic_trade(**overrides: Any) -> dict[str, Any]:
    payload = {
        "type": "trade",
        "sym": "BTCUSD",
        "ts": TS_NS,
        "px": "42000.25",
        "qty": "0.75",
        "side": "B",
        "id": "t-1",
    }
    return payload | overrides


def synthetic_book(**overrides: Any) -> dict[str, Any]:
    payload = {
        "type": "book",
        "sym": "BTCUSD",
        "ts": TS_NS,
        "bids": [["42000.00", "1.5"], ["41999.50", "3"]],
        "asks": [["42000.50", "2"], ["42001.00", "0.25"]],
    }
    return payload | overrides


def synthetic_bar(**overrides: Any) -> dict[str, Any]:
    payload = {
        "type": "bar",
        "sym": "BTCUSD",
        "ts": 1_704_187_800_000_000_000,
        "tf": "1m",
        "o": "42000.00",
        "h": "42010.50",
        "l": "41990.25",
        "c": "42005.00",
        "v": "12.5",
    }
    return payload | overrides


# -- both formats, one model -----------------------------------------------------------------


def test_synthetic_and_ccxt_tickers_normalize_to_equal_quotes(
    normalizer: Normalizer, instrument: Instrument
) -> None:
    ticker = {
        "symbol": "BTC/USD",
        "timestamp": TS_MS,
        "datetime": "2024-01-02T09:30:15.250Z",
        "bid": 42000.0,
        "bidVolume": 1.5,
        "ask": 42000.5,
        "askVolume": 2,
        "last": 42000.25,
    }

    synthetic = normalizer.normalize("SIM", synthetic_quote())
    unified = normalizer.normalize("EXCH", ticker)

    expected = Quote(instrument.id, TS, D("42000.00"), D("42000.50"), D("1.5"), D("2"))
    assert synthetic == unified == expected


def test_synthetic_and_ccxt_trades_normalize_to_equal_trade_ticks(
    normalizer: Normalizer, instrument: Instrument
) -> None:
    trade = {
        "symbol": "BTC/USD",
        "timestamp": TS_MS,
        "price": "42000.25",
        "amount": 0.75,
        "side": "buy",
        "id": "t-1",
        "takerOrMaker": "taker",
        "cost": 31500.1875,
    }

    synthetic = normalizer.normalize("SIM", synthetic_trade())
    unified = normalizer.normalize("EXCH", trade)

    expected = TradeTick(
        instrument.id, TS, D("42000.25"), D("0.75"), VenueTradeId("t-1"), OrderSide.BUY
    )
    assert synthetic == unified == expected


def test_synthetic_and_ccxt_order_books_normalize_to_equal_books(
    normalizer: Normalizer, instrument: Instrument
) -> None:
    book = {
        "symbol": "BTC/USD",
        "timestamp": TS_MS,
        "bids": [[42000.0, 1.5], [41999.5, 3]],
        "asks": [[42000.5, 2], [42001.0, 0.25]],
        "nonce": None,
    }

    synthetic = normalizer.normalize("SIM", synthetic_book())
    unified = normalizer.normalize("EXCH", book)

    expected = OrderBook(
        instrument.id,
        TS,
        (BookLevel(D("42000.00"), D("1.5")), BookLevel(D("41999.50"), D("3"))),
        (BookLevel(D("42000.50"), D("2")), BookLevel(D("42001.00"), D("0.25"))),
    )
    assert synthetic == unified == expected


def test_synthetic_bar_and_ccxt_ohlcv_row_normalize_to_equal_bars(
    normalizer: Normalizer, instrument: Instrument
) -> None:
    row = [1_704_187_800_000, 42000.0, 42010.5, 41990.25, 42005, "12.5"]

    synthetic = normalizer.normalize("SIM", synthetic_bar())
    unified = normalizer.normalize("EXCH", row, symbol="BTC/USD", timeframe=Timeframe.M1)

    assert isinstance(synthetic, Bar) and isinstance(unified, Bar)
    assert synthetic.id != unified.id  # each bar gets its own id
    assert dataclasses.replace(unified, id=synthetic.id) == synthetic
    assert synthetic.timestamp == datetime(2024, 1, 2, 9, 30, tzinfo=UTC)
    assert (synthetic.open, synthetic.high, synthetic.low, synthetic.close, synthetic.volume) == (
        D("42000.00"),
        D("42010.50"),
        D("41990.25"),
        D("42005.00"),
        D("12.5"),
    )
    assert synthetic.instrument_id == instrument.id


def test_bar_ids_come_from_the_injected_generator(instrument: Instrument) -> None:
    def build() -> Bar:
        symbols = SymbolMap([("SIM", "BTCUSD", instrument)])
        normalizer = Normalizer(symbols, {"SIM": SYNTHETIC}, IdGenerator(lambda: 0, seed=3))
        bar = normalizer.normalize("SIM", synthetic_bar())
        assert isinstance(bar, Bar)
        return bar

    assert build() == build()


# -- numbers ----------------------------------------------------------------------------------


def test_json_floats_become_the_decimal_of_their_shortest_repr(normalizer: Normalizer) -> None:
    ticker = {
        "symbol": "BTC/USD",
        "timestamp": TS_MS,
        "bid": 0.1 + 0.2,  # 0.30000000000000004: the float itself, not 0.3
        "bidVolume": 0.1,
        "ask": 41999.99,
        "askVolume": 1e-05,
    }

    quote = normalizer.normalize("EXCH", ticker)

    assert isinstance(quote, Quote)
    assert str(quote.bid_size) == "0.1"  # not 0.1000000000000000055511151231257827...
    assert str(quote.bid_price) == "0.30000000000000004"
    assert str(quote.ask_price) == "41999.99"
    assert quote.ask_size == D("0.00001")


def test_integers_and_strings_are_exact(normalizer: Normalizer) -> None:
    quote = normalizer.normalize("SIM", synthetic_quote(bp=42000, bq="0.00000001"))

    assert isinstance(quote, Quote)
    assert quote.bid_price == D(42000)
    assert quote.bid_size.as_tuple() == D("0.00000001").as_tuple()


def test_price_off_the_tick_is_kept_exactly_not_rounded(normalizer: Normalizer) -> None:
    quote = normalizer.normalize("SIM", synthetic_quote(bp="42000.005"))

    assert isinstance(quote, Quote)
    assert str(quote.bid_price) == "42000.005"  # the detector flags it off_tick


def test_trade_without_side_has_unknown_aggressor(normalizer: Normalizer) -> None:
    trade = {"symbol": "BTC/USD", "timestamp": TS_MS, "price": 1, "amount": 1, "id": 7}

    tick = normalizer.normalize("EXCH", trade | {"side": None})

    assert isinstance(tick, TradeTick)
    assert tick.aggressor_side is None
    assert tick.trade_id == "7"


@given(
    bid=st.decimals(min_value=D("0.01"), max_value=D("1e9"), places=2),
    spread=st.decimals(min_value=D("0.01"), max_value=D("100"), places=2),
    size=st.decimals(min_value=D(0), max_value=D("1e6"), places=8),
    ts=st.integers(min_value=0, max_value=4_000_000_000 * 10**9),
)
def test_fast_and_careful_paths_give_the_same_quote(
    bid: Decimal, spread: Decimal, size: Decimal, ts: int
) -> None:
    instrument = make_instrument()
    symbols = SymbolMap([("SIM", "BTCUSD", instrument)])
    normalizer = Normalizer(symbols, {"SIM": SYNTHETIC}, IdGenerator(seed=1))
    ask = bid + spread
    as_text = synthetic_quote(ts=ts, bp=str(bid), ap=str(ask), bq=str(size), aq=str(size))
    as_decimals = as_text | {"bp": bid, "ap": ask, "bq": size, "aq": size}  # careful path

    fast = normalizer.normalize("SIM", as_text)
    careful = normalizer.normalize("SIM", as_decimals)

    assert fast == careful
    assert isinstance(fast, Quote)
    assert str(fast.bid_price) == str(bid)
    assert fast.timestamp == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ts // 1000)


# -- errors name the field ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "error_type", "field", "rule"),
    [
        (synthetic_quote(bp=None), PayloadError, "bp", "is required"),
        ({k: v for k, v in synthetic_quote().items() if k != "aq"}, PayloadError, "aq", "required"),
        (synthetic_quote(bp="42,000.00"), PayloadError, "bp", "must be a number"),
        (synthetic_quote(bp=True), PayloadError, "bp", "must be a number"),
        (synthetic_quote(bp=[1]), PayloadError, "bp", "must be a number"),
        (synthetic_quote(bp="-1"), InvalidPrice, "bp", "greater than 0"),
        (synthetic_quote(ap="0"), InvalidPrice, "ap", "greater than 0"),
        (synthetic_quote(bp="NaN"), InvalidPrice, "bp", "finite"),
        (synthetic_quote(ap="Infinity"), InvalidPrice, "ap", "finite"),
        (synthetic_quote(bq="-1"), PayloadError, "bq", "not negative"),
        (synthetic_quote(aq="inf"), PayloadError, "aq", "finite"),
        (synthetic_quote(bp="1e50"), InvalidPrice, "bp", "magnitude"),
        (synthetic_quote(bq="1e-50"), PayloadError, "bq", "magnitude"),
        (synthetic_quote(ts="1704187815"), PayloadError, "ts", "integer timestamp"),
        (synthetic_quote(ts=10**30), PayloadError, "ts", "out of range"),
        (synthetic_quote(sym="ETHUSD"), UnknownSymbol, "sym", "no instrument is mapped"),
        (synthetic_quote(sym=None), PayloadError, "sym", "is required"),
        (synthetic_quote(sym=["BTCUSD"]), PayloadError, "sym", "non-empty string"),
        (synthetic_quote(type="ticker"), PayloadError, "type", "must be one of quote"),
        (synthetic_trade(qty="0"), PayloadError, "qty", "greater than 0"),
        (synthetic_trade(side="X"), PayloadError, "side", "must be one of B, S"),
        (synthetic_trade(id=""), PayloadError, "id", "non-empty"),
        (synthetic_trade(id=1.5), PayloadError, "id", "string or an integer"),
        (synthetic_book(bids="none"), PayloadError, "bids", "list of [price, size]"),
        (synthetic_book(bids=[["1", "1"], "2"]), PayloadError, "bids[1]", "pair"),
        (synthetic_book(asks=[["42000.50", "x"]]), PayloadError, "asks[0][1]", "number"),
        (synthetic_book(asks=[["-42000.50", "1"]]), InvalidPrice, "asks[0][0]", "than 0"),
        (synthetic_book(asks=[["42000.50", "0"]]), PayloadError, "asks[0][1]", "than 0"),
        (synthetic_book(bids=[["1", "1"], ["2", "1"]]), PayloadError, "bids", "descending"),
        (synthetic_bar(tf="2m"), PayloadError, "tf", "must be one of 1m, 5m"),
        (synthetic_bar(h="41000"), PayloadError, "high", "at least open"),
        (synthetic_bar(v="-3"), PayloadError, "v", "not negative"),
        (["not", "an", "object"], PayloadError, "payload", "JSON object"),
    ],
)
def test_bad_synthetic_payload_raises_an_error_naming_the_field(
    normalizer: Normalizer, payload: Any, error_type: type[PayloadError], field: str, rule: str
) -> None:
    with pytest.raises(error_type) as caught:
        normalizer.normalize("SIM", payload)

    assert caught.value.field == field
    assert rule in caught.value.rule


@pytest.mark.parametrize(
    ("payload", "kwargs", "field", "rule"),
    [
        ({"symbol": "BTC/USD", "timestamp": TS_MS, "bid": 1, "ask": 2}, {}, "bidVolume", "req"),
        ({"symbol": "BTC/USD", "timestamp": TS_MS}, {}, "payload", "bids or price or bid"),
        ({"symbol": "BTC/USD", "price": 1, "amount": 1, "id": "a"}, {}, "timestamp", "req"),
        ([TS_MS, 1, 2, 1, 2, 3], {"timeframe": "1m"}, "symbol", "given by the caller"),
        ([TS_MS, 1, 2, 1, 2, 3], {"symbol": "BTC/USD"}, "timeframe", "given by the caller"),
        ([TS_MS, 1, 2, 1, 2], {"symbol": "BTC/USD", "timeframe": "1m"}, "row[5]", "required"),
        ([TS_MS, 1, "x", 1, 2, 3], {"symbol": "BTC/USD", "timeframe": "1m"}, "row[2]", "number"),
        ("text", {}, "payload", "JSON object or an OHLCV row"),
    ],
)
def test_bad_ccxt_payload_raises_an_error_naming_the_field(
    normalizer: Normalizer, payload: Any, kwargs: dict[str, Any], field: str, rule: str
) -> None:
    with pytest.raises(PayloadError) as caught:
        normalizer.normalize("EXCH", payload, **kwargs)

    assert caught.value.field == field
    assert rule in caught.value.rule


def test_errors_after_the_symbol_resolved_carry_the_instrument(
    normalizer: Normalizer, instrument: Instrument
) -> None:
    with pytest.raises(PayloadError) as caught:
        normalizer.normalize("SIM", synthetic_quote(bp="x"))

    assert caught.value.instrument_id == instrument.id


def test_unknown_symbol_carries_the_id_it_would_have_on_that_venue(
    normalizer: Normalizer,
) -> None:
    with pytest.raises(UnknownSymbol) as caught:
        normalizer.normalize("SIM", synthetic_quote(sym="ETHUSD"))

    assert caught.value.instrument_id == InstrumentId.of("SIM", "ETHUSD")
    assert isinstance(caught.value, ValidationError)


def test_unknown_venue_is_refused(normalizer: Normalizer) -> None:
    with pytest.raises(PayloadError) as caught:
        normalizer.normalize("NOPE", synthetic_quote())

    assert caught.value.field == "venue"


# -- symbol map ----------------------------------------------------------------------------


def test_symbol_map_refuses_to_remap_a_symbol_to_another_instrument(
    instrument: Instrument,
) -> None:
    symbols = SymbolMap([("SIM", "BTCUSD", instrument)])
    other = make_instrument(symbol="ETH/USD")

    symbols.add("SIM", "BTCUSD", instrument)  # the same mapping again is harmless
    with pytest.raises(Conflict):
        symbols.add("SIM", "BTCUSD", other)


def test_symbol_map_lists_each_instrument_once(instrument: Instrument) -> None:
    other = make_instrument(symbol="ETH/USD")
    symbols = SymbolMap(
        [("SIM", "BTCUSD", instrument), ("EXCH", "BTC/USD", instrument), ("SIM", "ETHUSD", other)]
    )

    assert symbols.instruments() == [instrument, other]
