"""Normalization: venue payloads (decoded JSON) into model objects with exact Decimals.

One :class:`Normalizer` serves every venue. What differs between venues is
data, a :class:`PayloadFormat`: which key holds what, the timestamp unit, how
the kind of payload and the aggressor side are written. Two formats ship:
:data:`SYNTHETIC` (the synthetic venue's own dicts) and :data:`CCXT` (ccxt's
unified ticker, trade, order book and OHLCV structures).

Numbers: strings and ints become Decimals exactly. A float, which is what a
JSON parser makes of an unquoted number, goes through its shortest repr
(``Decimal(repr(x))``), so ``0.1`` becomes ``Decimal("0.1")`` and not the
binary expansion ``0.1000000000000000055511...``; venues that quote numbers
as strings avoid floats altogether. Prices are kept exactly as sent: the
:class:`~omoitrade.data.anomalies.AnomalyDetector` then checks them against
the instrument's tick, and a price off the grid is flagged ``off_tick``,
never silently rounded.

A payload that cannot be normalized raises a :class:`PayloadError` (a
``ValidationError``) naming the payload field, e.g. ``bp: must be a number``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from omoitrade.core.errors import Conflict, ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.model.enums import OrderSide, Timeframe
from omoitrade.model.identifiers import BarId, InstrumentId, VenueTradeId
from omoitrade.model.instruments import Instrument
from omoitrade.model.market_data import Bar, BookLevel, OrderBook, Quote, TradeTick
from omoitrade.model.money import to_decimal

__all__ = [
    "CCXT",
    "SYNTHETIC",
    "BarLayout",
    "BookLayout",
    "InvalidPrice",
    "MarketData",
    "Normalizer",
    "PayloadError",
    "PayloadFormat",
    "PayloadKind",
    "QuoteLayout",
    "SymbolMap",
    "TradeLayout",
    "UnknownSymbol",
]

MarketData = Quote | TradeTick | OrderBook | Bar
"""Any normalized market-data update."""

Key = str | int
"""Where a value sits in a payload: a dict key, or an index into a row (a list)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PayloadError(ValidationError):
    """A venue payload that cannot become a model object; ``field`` names the payload field.

    ``instrument_id`` is set once the symbol was resolved (None before that).
    """

    code = "invalid-payload"

    def __init__(
        self, field: str, rule: str, value: Any = None, *, instrument_id: InstrumentId | None = None
    ) -> None:
        super().__init__(field, rule, value)
        self.instrument_id = instrument_id


class UnknownSymbol(PayloadError):
    """No instrument is mapped to the venue symbol.

    ``instrument_id`` is the id the symbol would have on that venue
    (``InstrumentId.of(venue, symbol)``), so the anomaly can still be filed.
    """

    code = "unknown-symbol"


class InvalidPrice(PayloadError):
    """A price that is not a finite number greater than zero."""

    code = "invalid-price"


class PayloadKind(StrEnum):
    QUOTE = "quote"
    TRADE = "trade"
    BOOK = "book"
    BAR = "bar"


@dataclass(frozen=True, slots=True)
class QuoteLayout:
    bid_price: Key
    bid_size: Key
    ask_price: Key
    ask_size: Key


@dataclass(frozen=True, slots=True)
class TradeLayout:
    """``sides`` maps the venue's aggressor codes; a missing or null side means unknown."""

    price: Key
    size: Key
    trade_id: Key
    side: Key
    sides: Mapping[str, OrderSide]


@dataclass(frozen=True, slots=True)
class BookLayout:
    """Each side is a list of ``[price, size, ...]`` levels, best first."""

    bids: Key
    asks: Key


@dataclass(frozen=True, slots=True)
class BarLayout:
    """``timeframe`` None: the caller names it; ``timestamp`` None: the format's timestamp key."""

    open: Key
    high: Key
    low: Key
    close: Key
    volume: Key
    timeframe: Key | None = None
    timestamp: Key | None = None


@dataclass(frozen=True, slots=True)
class PayloadFormat:
    """How one venue lays out its payloads (the strategy the :class:`Normalizer` follows).

    The kind of a dict payload is read from ``kind_field`` (through ``kinds``)
    or, without one, from the first of ``markers`` whose key is present. With
    ``rows`` a list payload is a bar row whose symbol (and timeframe) the
    caller gives. Timestamps are integers in units of ``timestamp_unit_ns``.
    """

    name: str
    symbol: str
    timestamp: Key
    timestamp_unit_ns: int
    quote: QuoteLayout
    trade: TradeLayout
    book: BookLayout
    bar: BarLayout
    kind_field: str | None = None
    kinds: Mapping[str, PayloadKind] = field(default_factory=dict)
    markers: tuple[tuple[str, PayloadKind], ...] = ()
    rows: bool = False

    def kind_of(self, payload: object) -> PayloadKind:
        """Quote, trade, book or bar; a payload of no known kind raises PayloadError."""
        if type(payload) is dict or isinstance(payload, Mapping):
            if self.kind_field is not None:
                value = payload.get(self.kind_field)
                kind = self.kinds.get(value) if isinstance(value, str) else None
                if kind is None:
                    allowed = ", ".join(self.kinds)
                    raise PayloadError(self.kind_field, f"must be one of {allowed}", value)
                return kind
            for key, marked in self.markers:
                if key in payload:
                    return marked
            keys = " or ".join(key for key, _ in self.markers)
            raise PayloadError("payload", f"has none of the keys {keys} ({self.name} format)")
        if self.rows and isinstance(payload, list | tuple):
            return PayloadKind.BAR
        shape = "a JSON object or an OHLCV row" if self.rows else "a JSON object"
        raise PayloadError("payload", f"must be {shape}", type(payload).__name__)


SYNTHETIC = PayloadFormat(
    name="synthetic",
    symbol="sym",
    timestamp="ts",
    timestamp_unit_ns=1,
    quote=QuoteLayout(bid_price="bp", bid_size="bq", ask_price="ap", ask_size="aq"),
    trade=TradeLayout(
        price="px",
        size="qty",
        trade_id="id",
        side="side",
        sides={"B": OrderSide.BUY, "S": OrderSide.SELL},
    ),
    book=BookLayout(bids="bids", asks="asks"),
    bar=BarLayout(open="o", high="h", low="l", close="c", volume="v", timeframe="tf"),
    kind_field="type",
    kinds={kind.value: kind for kind in PayloadKind},
)
"""The synthetic venue: ``{"type": "quote", "sym": "BTCUSD", "ts": <ns>, "bp": ..., ...}``."""

CCXT = PayloadFormat(
    name="ccxt",
    symbol="symbol",
    timestamp="timestamp",
    timestamp_unit_ns=1_000_000,
    quote=QuoteLayout(bid_price="bid", bid_size="bidVolume", ask_price="ask", ask_size="askVolume"),
    trade=TradeLayout(
        price="price",
        size="amount",
        trade_id="id",
        side="side",
        sides={"buy": OrderSide.BUY, "sell": OrderSide.SELL},
    ),
    book=BookLayout(bids="bids", asks="asks"),
    bar=BarLayout(open=1, high=2, low=3, close=4, volume=5, timestamp=0),
    markers=(("bids", PayloadKind.BOOK), ("price", PayloadKind.TRADE), ("bid", PayloadKind.QUOTE)),
    rows=True,
)
"""ccxt's unified structures: ticker, trade, order book (timestamps in ms) and OHLCV rows
``[ms, open, high, low, close, volume]`` whose symbol and timeframe the caller gives."""


class SymbolMap:
    """Venue code + venue symbol -> :class:`Instrument`."""

    def __init__(self, entries: Iterable[tuple[str, str, Instrument]] = ()) -> None:
        self._by_venue: dict[str, dict[str, Instrument]] = {}
        for venue, venue_symbol, instrument in entries:
            self.add(venue, venue_symbol, instrument)

    def add(self, venue: str, venue_symbol: str, instrument: Instrument) -> None:
        """Map ``venue_symbol`` on ``venue``; mapping it to another instrument is a Conflict."""
        symbols = self._by_venue.setdefault(venue, {})
        existing = symbols.get(venue_symbol)
        if existing is not None and existing.id != instrument.id:
            raise Conflict(f"{venue_symbol} on {venue} is already mapped to {existing}")
        symbols[venue_symbol] = instrument

    def resolve(self, venue: str, venue_symbol: object, field: str = "symbol") -> Instrument:
        """The instrument of ``venue_symbol``; raises UnknownSymbol naming ``field``."""
        if type(venue_symbol) is not str or not venue_symbol:
            raise PayloadError(field, "must be a non-empty string", venue_symbol)
        instrument = self._by_venue.get(venue, {}).get(venue_symbol)
        if instrument is not None:
            return instrument
        raise UnknownSymbol(
            field,
            f"no instrument is mapped to {venue_symbol!r} on {venue}",
            venue_symbol,
            instrument_id=InstrumentId.of(venue, venue_symbol),
        )

    def instruments(self) -> list[Instrument]:
        """Every mapped instrument once, in the order first mapped."""
        seen: dict[InstrumentId, Instrument] = {}
        for symbols in self._by_venue.values():
            for instrument in symbols.values():
                seen.setdefault(instrument.id, instrument)
        return list(seen.values())


class Normalizer:
    """Turns a venue's payload into a Quote, TradeTick, OrderBook or Bar.

    ``formats`` maps venue codes to their :class:`PayloadFormat`; ``ids`` makes
    the ids of bars that venues send (inject a seeded one for reproducible runs).
    """

    def __init__(
        self,
        symbols: SymbolMap,
        formats: Mapping[str, PayloadFormat],
        ids: IdGenerator,
    ) -> None:
        self.symbols = symbols
        self._formats = dict(formats)
        self._ids = ids

    def normalize(
        self,
        venue: str,
        payload: Any,
        *,
        symbol: str | None = None,
        timeframe: Timeframe | str | None = None,
    ) -> MarketData:
        """The model object of ``payload`` from ``venue``.

        ``symbol`` and ``timeframe`` are for payloads that do not carry them
        (ccxt OHLCV rows); given for others they take precedence.
        """
        fmt = self._formats.get(venue)
        if fmt is None:
            raise PayloadError("venue", "has no payload format registered", venue)
        kind = fmt.kind_of(payload)
        if symbol is None:
            if type(payload) is not dict and not isinstance(payload, Mapping):
                raise PayloadError("symbol", "must be given by the caller for a row payload")
            symbol = _get(payload, fmt.symbol)
        instrument_id = self.symbols.resolve(venue, symbol, fmt.symbol).id
        if type(payload) is dict:  # the hot kinds first try a fast path; None: take the careful one
            fast: Quote | TradeTick | None = None
            if kind is PayloadKind.QUOTE:
                fast = _fast_quote(fmt, payload, instrument_id)
            elif kind is PayloadKind.TRADE:
                fast = _fast_trade(fmt, payload, instrument_id)
            if fast is not None:
                return fast
        try:
            if kind is PayloadKind.QUOTE:
                return self._quote(fmt, payload, instrument_id)
            if kind is PayloadKind.TRADE:
                return self._trade(fmt, payload, instrument_id)
            if kind is PayloadKind.BOOK:
                return self._book(fmt, payload, instrument_id)
            return self._bar(fmt, payload, instrument_id, timeframe)
        except PayloadError as error:
            error.instrument_id = instrument_id
            raise
        except ValidationError as error:  # a rule across fields (bar OHLC, book order)
            raise PayloadError(
                error.field, error.rule, error.value, instrument_id=instrument_id
            ) from error

    def _quote(self, fmt: PayloadFormat, payload: Any, instrument_id: InstrumentId) -> Quote:
        layout = fmt.quote
        return Quote(
            instrument_id,
            _timestamp(payload, fmt.timestamp, fmt.timestamp_unit_ns),
            _price(payload, layout.bid_price),
            _price(payload, layout.ask_price),
            _size(payload, layout.bid_size),
            _size(payload, layout.ask_size),
        )

    def _trade(self, fmt: PayloadFormat, payload: Any, instrument_id: InstrumentId) -> TradeTick:
        layout = fmt.trade
        size = _size(payload, layout.size)
        if not size:
            raise PayloadError(_name(layout.size), "must be greater than 0", size)
        raw_id = _get(payload, layout.trade_id)
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
            raise PayloadError(_name(layout.trade_id), "must be a string or an integer", raw_id)
        try:
            trade_id = VenueTradeId(str(raw_id))
        except ValidationError as error:
            raise PayloadError(_name(layout.trade_id), error.rule, raw_id) from None
        raw_side = payload.get(layout.side) if isinstance(payload, Mapping) else None
        side = None
        if raw_side is not None:
            side = layout.sides.get(raw_side) if isinstance(raw_side, str) else None
            if side is None:
                allowed = ", ".join(layout.sides)
                raise PayloadError(_name(layout.side), f"must be one of {allowed}", raw_side)
        return TradeTick(
            instrument_id,
            _timestamp(payload, fmt.timestamp, fmt.timestamp_unit_ns),
            _price(payload, layout.price),
            size,
            trade_id,
            side,
        )

    def _book(self, fmt: PayloadFormat, payload: Any, instrument_id: InstrumentId) -> OrderBook:
        layout = fmt.book
        return OrderBook(
            instrument_id,
            _timestamp(payload, fmt.timestamp, fmt.timestamp_unit_ns),
            _levels(payload, layout.bids),
            _levels(payload, layout.asks),
        )

    def _bar(
        self,
        fmt: PayloadFormat,
        payload: Any,
        instrument_id: InstrumentId,
        timeframe: Timeframe | str | None,
    ) -> Bar:
        layout = fmt.bar
        tf_key = layout.timeframe
        if timeframe is None:
            if tf_key is None:
                raise PayloadError("timeframe", "must be given by the caller for this payload")
            timeframe = _get(payload, tf_key)
        try:
            frame = Timeframe(timeframe)
        except ValueError:
            allowed = ", ".join(tf.value for tf in Timeframe)
            name = "timeframe" if tf_key is None else _name(tf_key)
            raise PayloadError(name, f"must be one of {allowed}", timeframe) from None
        ts_key = fmt.timestamp if layout.timestamp is None else layout.timestamp
        return Bar(
            BarId.new(self._ids),
            instrument_id,
            _timestamp(payload, ts_key, fmt.timestamp_unit_ns),
            frame,
            _price(payload, layout.open),
            _price(payload, layout.high),
            _price(payload, layout.low),
            _price(payload, layout.close),
            _size(payload, layout.volume),
        )


# -- fast paths: well-formed payloads with numbers as strings -------------------------------
# They accept a subset of what the careful readers below accept, and give up (None) on
# anything else, so that the careful path names the field in its error.

_GIVE_UP = (LookupError, TypeError, InvalidOperation, ValidationError, OverflowError)


def _fast_quote(
    fmt: PayloadFormat, payload: dict[Any, Any], instrument_id: InstrumentId
) -> Quote | None:
    layout = fmt.quote
    try:
        bid_text, ask_text = payload[layout.bid_price], payload[layout.ask_price]
        bid_size_text, ask_size_text = payload[layout.bid_size], payload[layout.ask_size]
        ts = payload[fmt.timestamp]
        if not (
            type(bid_text) is str
            and type(ask_text) is str
            and type(bid_size_text) is str
            and type(ask_size_text) is str
            and type(ts) is int
        ):
            return None
        bid, ask = Decimal(bid_text), Decimal(ask_text)
        bid_size, ask_size = Decimal(bid_size_text), Decimal(ask_size_text)
        if not (
            bid.is_finite() and ask.is_finite() and bid_size.is_finite() and ask_size.is_finite()
        ):
            return None
        timestamp = _EPOCH + timedelta(0, 0, ts * fmt.timestamp_unit_ns // 1000)
        return Quote(instrument_id, timestamp, bid, ask, bid_size, ask_size)
    except _GIVE_UP:
        return None


def _fast_trade(
    fmt: PayloadFormat, payload: dict[Any, Any], instrument_id: InstrumentId
) -> TradeTick | None:
    layout = fmt.trade
    try:
        price_text, size_text = payload[layout.price], payload[layout.size]
        raw_id, ts, raw_side = (
            payload[layout.trade_id],
            payload[fmt.timestamp],
            payload.get(layout.side),
        )
        if not (
            type(price_text) is str
            and type(size_text) is str
            and type(raw_id) is str
            and type(ts) is int
        ):
            return None
        side = None if raw_side is None else layout.sides.get(raw_side)
        if side is None and raw_side is not None:
            return None
        price, size = Decimal(price_text), Decimal(size_text)
        if not (price.is_finite() and size.is_finite()):
            return None
        timestamp = _EPOCH + timedelta(0, 0, ts * fmt.timestamp_unit_ns // 1000)
        return TradeTick(instrument_id, timestamp, price, size, VenueTradeId(raw_id), side)
    except _GIVE_UP:
        return None


# -- careful field readers: each names the payload field in its error ------------------------


def _name(key: Key) -> str:
    return key if isinstance(key, str) else f"row[{key}]"


def _get(payload: Any, key: Key, name: str | None = None) -> Any:
    try:
        value = payload[key]
    except (KeyError, IndexError, TypeError):
        raise PayloadError(name or _name(key), "is required") from None
    if value is None:
        raise PayloadError(name or _name(key), "is required")
    return value


def _number(value: Any, field: str) -> Decimal:
    kind = type(value)
    if kind is str:
        try:
            return Decimal(value)
        except InvalidOperation:
            raise PayloadError(field, "must be a number", value) from None
    if kind is int:
        return Decimal(value)
    if kind is float:
        return Decimal(repr(value))  # the shortest repr: 0.1 -> Decimal("0.1")
    if kind is Decimal:
        return value  # type: ignore[no-any-return]
    raise PayloadError(field, "must be a number (string, integer or float)", value)


def _price(payload: Any, key: Key, name: str | None = None) -> Decimal:
    name = name or _name(key)
    value = _number(_get(payload, key, name), name)
    if not (value.is_finite() and value > 0):
        raise InvalidPrice(name, "must be a finite number greater than 0", value)
    try:
        return to_decimal(name, value)  # the model's own bounds on a Decimal from outside
    except ValidationError as error:
        raise InvalidPrice(name, error.rule, value) from None


def _size(payload: Any, key: Key, name: str | None = None) -> Decimal:
    name = name or _name(key)
    value = _number(_get(payload, key, name), name)
    if not (value.is_finite() and value >= 0):
        raise PayloadError(name, "must be a finite number, not negative", value)
    try:
        return to_decimal(name, value)
    except ValidationError as error:
        raise PayloadError(name, error.rule, value) from None


def _timestamp(payload: Any, key: Key, unit_ns: int) -> datetime:
    value = _get(payload, key)
    if type(value) is not int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif not isinstance(value, int) or isinstance(value, bool):
            raise PayloadError(_name(key), "must be an integer timestamp", value)
    try:
        # positional (days, seconds, microseconds): keywords cost a third more per call
        return _EPOCH + timedelta(0, 0, value * unit_ns // 1000)
    except OverflowError:
        raise PayloadError(_name(key), "is out of range", value) from None


def _levels(payload: Any, key: Key) -> tuple[BookLevel, ...]:
    raw = _get(payload, key)
    name = _name(key)
    if not isinstance(raw, list | tuple):
        raise PayloadError(name, "must be a list of [price, size] levels", raw)
    levels = []
    for index, level in enumerate(raw):
        where = f"{name}[{index}]"
        if not isinstance(level, list | tuple) or len(level) < 2:
            raise PayloadError(where, "must be a [price, size] pair", level)
        price = _price(level, 0, f"{where}[0]")
        size = _size(level, 1, f"{where}[1]")
        if not size:
            raise PayloadError(f"{where}[1]", "must be greater than 0", size)
        levels.append(BookLevel(price, size))
    return tuple(levels)
