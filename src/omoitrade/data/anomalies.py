"""Anomaly detection on market data: bad prices, crossed books, jumps, stale feeds.

The :class:`AnomalyDetector` checks every update before strategies see it.
An update that fails a check comes back as an :class:`Anomaly` (a kind and a
human reason) and is kept out of the rolling statistics, so one bad print
neither reaches a strategy nor widens the band the next one is judged by.

Jumps and volume outliers are judged robustly, per instrument and stream: by
the median and the MAD (times 1.4826, which makes it a standard deviation for
normal data) of the last ``window`` log returns or log sizes. Each window is
kept sorted (bisect insert and remove), so the median is an index and the MAD
a k-th smallest of two sorted runs: O(log n) per update, no sorting per tick.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from omoitrade.core.errors import ValidationError
from omoitrade.model.identifiers import InstrumentId
from omoitrade.model.instruments import Instrument
from omoitrade.model.market_data import Bar, OrderBook, Quote, TradeTick
from omoitrade.model.money import is_multiple

__all__ = ["Anomaly", "AnomalyConfig", "AnomalyDetector", "AnomalyKind", "RobustWindow"]

MAD_SCALE = 1.4826
_INF = math.inf
_TINY = 1e-12  # the sigma of a window whose MAD is 0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class AnomalyKind(StrEnum):
    """Why an update was held back."""

    INVALID_PRICE = "invalid_price"  # not a finite number > 0
    CROSSED_BOOK = "crossed_book"  # best bid above best ask
    LOCKED_BOOK = "locked_book"  # best bid equal to best ask
    PRICE_JUMP = "price_jump"  # a return far outside the recent robust band
    STALE_FEED = "stale_feed"  # no clean update within stale_after_ns
    TIME_BACKWARDS = "time_backwards"  # earlier than the previous update of its stream
    VOLUME_OUTLIER = "volume_outlier"  # a size far above the recent robust band
    OFF_TICK = "off_tick"  # a price that is not a multiple of the instrument's tick
    INVALID_PAYLOAD = "invalid_payload"  # the venue payload could not be normalized
    UNKNOWN_SYMBOL = "unknown_symbol"  # no instrument is mapped to the venue symbol


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One held-back update (or one silent feed): what, why, and the data's own time."""

    instrument_id: InstrumentId
    kind: AnomalyKind
    reason: str
    data_timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class AnomalyConfig:
    """Thresholds of the :class:`AnomalyDetector`.

    ``jump_k`` and ``volume_k`` are in robust standard deviations. A price is a
    jump only if its log return is also above ``min_jump`` (0.5% by default):
    tick-by-tick returns are fat-tailed (streams are sampled irregularly, so
    one return may span many moves), and without an absolute floor a quiet or
    tick-quantized stream, whose MAD may be 0, would flag ordinary moves. The
    robust sigma of log sizes is never taken below ``min_volume_sigma`` (lots
    make many sizes equal). Jump and volume checks start after ``min_history``
    accepted values; after flagged prices the band widens by sqrt(steps since
    the last accepted one). ``level_shift_after`` consecutive jump-flagged
    prices that agree with each other are a genuine new level: the last is
    accepted and re-anchors the stream, which is never stuck on an old price.
    A feed is stale when no clean update came for over ``stale_after_ns``.
    """

    jump_k: float = 5.0
    window: int = 100
    min_history: int = 20
    stale_after_ns: int = 60_000_000_000
    volume_k: float = 8.0
    min_jump: float = 0.005
    min_volume_sigma: float = 0.5
    level_shift_after: int = 3

    def __post_init__(self) -> None:
        for name in ("jump_k", "volume_k", "min_jump", "min_volume_sigma"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 < value < _INF):
                raise ValidationError(name, "must be a finite number greater than 0", value)
        if self.window < 3:
            raise ValidationError("window", "must be at least 3", self.window)
        if not 2 <= self.min_history <= self.window:
            raise ValidationError("min_history", "must be between 2 and window", self.min_history)
        if self.stale_after_ns <= 0:
            raise ValidationError("stale_after_ns", "must be greater than 0", self.stale_after_ns)
        if self.level_shift_after < 2:
            raise ValidationError("level_shift_after", "must be at least 2", self.level_shift_after)


class RobustWindow:
    """The last ``size`` values, kept sorted too, with their median and MAD."""

    __slots__ = ("_recent", "ordered")  # ordered: the values, ascending (read-only)

    def __init__(self, size: int) -> None:
        self._recent: deque[float] = deque(maxlen=size)
        self.ordered: list[float] = []

    def __len__(self) -> int:
        return len(self.ordered)

    def push(self, value: float) -> None:
        """Add a finite value, dropping the oldest once full."""
        recent = self._recent
        if len(recent) == recent.maxlen:
            ordered = self.ordered
            del ordered[bisect_left(ordered, recent[0])]
        recent.append(value)
        insort(self.ordered, value)

    def median(self) -> float:
        xs = self.ordered
        n = len(xs)
        if not n:
            return 0.0
        half = n // 2
        return xs[half] if n % 2 else (xs[half - 1] + xs[half]) / 2

    def mad(self) -> float:
        """Median absolute deviation from the median (unscaled).

        The deviations left of the median (``m - xs[half-1-i]``) and right of it
        (``xs[half+j] - m``) are two ascending runs; their median is found by
        a binary search over how many of the smallest come from the left run.
        """
        xs = self.ordered
        n = len(xs)
        if n < 2:
            return 0.0
        half = n // 2
        m = xs[half] if n % 2 else (xs[half - 1] + xs[half]) / 2
        left, right = half, n - half  # lengths of the two runs
        k = (n - 1) // 2  # 0-based rank of the (lower) median deviation
        lo, hi = max(0, k + 1 - right), min(left, k + 1)
        while lo < hi:  # smallest i with left[i] >= right[k - i]
            i = (lo + hi) // 2
            if m - xs[half - 1 - i] < xs[half + k - i] - m:
                lo = i + 1
            else:
                hi = i
        i, j = lo, k + 1 - lo  # the k+1 smallest: i from the left run, j from the right
        kth = max(m - xs[half - i] if i else -_INF, xs[half + j - 1] - m if j else -_INF)
        if n % 2:
            return kth
        following = min(
            m - xs[half - 1 - i] if i < left else _INF, xs[half + j] - m if j < right else _INF
        )
        return (kth + following) / 2


class _Stream:
    """What one stream (quotes, trades, books, or bars of one timeframe) last looked like."""

    __slots__ = (
        "gap",
        "last_item",
        "last_log",
        "last_ts",
        "returns",
        "shift_count",
        "shift_log",
        "volumes",
    )

    def __init__(self, window: int) -> None:
        self.last_ts: datetime | None = None
        self.last_item: Quote | TradeTick | OrderBook | Bar | None = None  # last accepted
        self.last_log = 0.0  # log of the last accepted price
        self.returns = RobustWindow(window)
        self.volumes = RobustWindow(window)
        self.shift_count = 0  # consecutive jump-flagged prices that agree with each other
        self.shift_log = 0.0
        self.gap = 0  # jump-flagged prices since the last accepted one


class _Instrument:
    __slots__ = (
        "bars",
        "book",
        "instrument_id",
        "last_data_ts",
        "last_seen_ns",
        "quote",
        "stale_reported",
        "tick",
        "trade",
    )

    def __init__(self, instrument_id: InstrumentId, window: int) -> None:
        self.instrument_id = instrument_id
        self.tick: Decimal | None = None
        self.quote = _Stream(window)
        self.trade = _Stream(window)
        self.book = _Stream(window)
        self.bars: dict[str, _Stream] = {}
        self.last_seen_ns: int | None = None  # receipt time of the last clean update
        self.last_data_ts: datetime | None = None
        self.stale_reported = False


class AnomalyDetector:
    """Checks market-data updates and counts anomalies per instrument and kind."""

    def __init__(
        self, config: AnomalyConfig | None = None, instruments: Iterable[Instrument] = ()
    ) -> None:
        self.config = config = config or AnomalyConfig()
        # Keyed by the id's int: hashing a UUID is a Python-level call, hashing an int is not.
        self._states: dict[int, _Instrument] = {}
        self._counts: dict[InstrumentId, dict[str, int]] = {}
        self._total = 0
        self._min_jump = config.min_jump
        self._volume_floor = config.volume_k * config.min_volume_sigma
        self._min_history = config.min_history
        for instrument in instruments:
            self.add_instrument(instrument)

    # -- registration and queries -----------------------------------------------------------

    def add_instrument(self, instrument: Instrument) -> None:
        """Know ``instrument``'s tick, so its prices are checked against it."""
        self._state(instrument.id).tick = instrument.tick_size

    def watch(self, instrument_id: InstrumentId, since_ns: int) -> None:
        """Expect updates for ``instrument_id`` from ``since_ns`` on (stale if none come)."""
        state = self._state(instrument_id)
        if state.last_seen_ns is None:
            state.last_seen_ns = since_ns

    def counts(self, instrument_id: InstrumentId) -> dict[str, int]:
        """Anomalies recorded for ``instrument_id``, by kind."""
        return dict(self._counts.get(instrument_id, {}))

    def total(self) -> int:
        """Anomalies recorded over all instruments."""
        return self._total

    def record(self, anomaly: Anomaly) -> Anomaly:
        """Count an anomaly found elsewhere (e.g. a payload that failed normalization)."""
        counts = self._counts.get(anomaly.instrument_id)
        if counts is None:
            counts = self._counts[anomaly.instrument_id] = {}
        kind = anomaly.kind.value
        counts[kind] = counts.get(kind, 0) + 1
        self._total += 1
        return anomaly

    # -- checks -----------------------------------------------------------------------------

    def check(
        self, item: Quote | TradeTick | OrderBook | Bar, received_ns: int | None = None
    ) -> Anomaly | None:
        """The anomaly of ``item``, recorded, or None when it is clean (and then learned from).

        ``received_ns`` is when the update arrived (the staleness clock); by
        default its own timestamp.
        """
        state = self._states.get(item.instrument_id.int)
        if state is None:
            state = self._state(item.instrument_id)
        kind = type(item)
        if kind is Quote:
            anomaly = self._check_quote(state, item)  # type: ignore[arg-type]
        elif kind is TradeTick:
            anomaly = self._check_trade(state, item)  # type: ignore[arg-type]
        elif kind is OrderBook:
            anomaly = self._check_book(state, item)  # type: ignore[arg-type]
        elif kind is Bar:
            anomaly = self._check_bar(state, item)  # type: ignore[arg-type]
        else:
            raise ValidationError("item", "must be a Quote, TradeTick, OrderBook or Bar", item)
        if anomaly is not None:
            return self.record(anomaly)
        state.last_seen_ns = _to_ns(item.timestamp) if received_ns is None else received_ns
        state.last_data_ts = item.timestamp
        state.stale_reported = False
        return None

    def check_stale(self, now_ns: int) -> list[Anomaly]:
        """A ``stale_feed`` anomaly for each instrument silent for over ``stale_after_ns``.

        Reported once per silence; the next clean update re-arms it.
        """
        limit = self.config.stale_after_ns
        found = []
        for state in self._states.values():
            seen = state.last_seen_ns
            if seen is None or state.stale_reported or now_ns - seen <= limit:
                continue
            state.stale_reported = True
            reason = f"no update for {(now_ns - seen) / 1e9:.1f} s (limit {limit / 1e9:.1f} s)"
            anomaly = Anomaly(
                state.instrument_id, AnomalyKind.STALE_FEED, reason, state.last_data_ts
            )
            found.append(self.record(anomaly))
        return found

    def _check_quote(self, state: _Instrument, quote: Quote) -> Anomaly | None:
        stream = state.quote
        if stream.last_ts is not None and quote.timestamp < stream.last_ts:
            return _backwards("quote", quote, stream.last_ts)
        bid_price, ask_price = quote.bid_price, quote.ask_price
        if not (bid_price.is_finite() and bid_price > 0):
            return _invalid("bid", bid_price, quote)
        if not (ask_price.is_finite() and ask_price > 0):
            return _invalid("ask", ask_price, quote)
        if bid_price >= ask_price:
            return _crossed_or_locked(bid_price, ask_price, quote)
        tick = state.tick
        if tick is not None:
            if not _on_tick(bid_price, tick):
                return _off_tick("bid", bid_price, tick, quote)
            if not _on_tick(ask_price, tick):
                return _off_tick("ask", ask_price, tick, quote)
        mid = float(bid_price + ask_price) * 0.5
        if not mid < _INF:
            return _invalid("mid", quote.mid, quote)
        z = self._settle(stream, quote, math.log(mid))
        return self._jumped("mid", quote.mid, stream, z, quote) if z else None

    def _check_trade(self, state: _Instrument, trade: TradeTick) -> Anomaly | None:
        stream = state.trade
        if stream.last_ts is not None and trade.timestamp < stream.last_ts:
            return _backwards("trade", trade, stream.last_ts)
        price_d = trade.price
        price = float(price_d)
        if not (0.0 < price < _INF):
            return _invalid("price", price_d, trade)
        tick = state.tick
        if tick is not None and not _on_tick(price_d, tick):
            return _off_tick("price", price_d, tick, trade)
        log_size, z = self._volume(stream, trade.size)
        if z:
            return self._outsized("size", trade.size, stream, z, trade)
        z = self._settle(stream, trade, math.log(price), log_size)
        return self._jumped("price", price_d, stream, z, trade) if z else None

    def _check_book(self, state: _Instrument, book: OrderBook) -> Anomaly | None:
        stream = state.book
        if stream.last_ts is not None and book.timestamp < stream.last_ts:
            return _backwards("book", book, stream.last_ts)
        tick = state.tick
        for side, levels in (("bid", book.bids), ("ask", book.asks)):
            for level in levels:
                price = level.price
                if not (price.is_finite() and price > 0):
                    return _invalid(side, price, book)
                if tick is not None and not _on_tick(price, tick):
                    return _off_tick(side, price, tick, book)
        if not (book.bids and book.asks):
            stream.last_ts = book.timestamp
            return None
        bid_price, ask_price = book.bids[0].price, book.asks[0].price
        if bid_price >= ask_price:
            return _crossed_or_locked(bid_price, ask_price, book)
        z = self._settle(stream, book, math.log(float(bid_price + ask_price) * 0.5))
        return self._jumped("mid", (bid_price + ask_price) / 2, stream, z, book) if z else None

    def _check_bar(self, state: _Instrument, bar: Bar) -> Anomaly | None:
        stream = state.bars.get(bar.timeframe.value)
        if stream is None:
            stream = state.bars[bar.timeframe.value] = _Stream(self.config.window)
        if stream.last_ts is not None and bar.timestamp < stream.last_ts:
            return _backwards(f"{bar.timeframe.value} bar", bar, stream.last_ts)
        tick = state.tick
        for name in ("open", "high", "low", "close"):
            price: Decimal = getattr(bar, name)
            if not (price.is_finite() and price > 0):
                return _invalid(name, price, bar)
            if tick is not None and not _on_tick(price, tick):
                return _off_tick(name, price, tick, bar)
        log_volume, z = self._volume(stream, bar.volume)
        if z:
            return self._outsized("volume", bar.volume, stream, z, bar)
        z = self._settle(stream, bar, math.log(float(bar.close)), log_volume)
        return self._jumped("close", bar.close, stream, z, bar) if z else None

    # -- robust statistics ------------------------------------------------------------------

    def _settle(
        self, stream: _Stream, item: _Item, log_price: float, log_size: float | None = None
    ) -> float:
        """The last check of a price: its robust z if it jumped (nothing is learned), else 0.0
        after learning the update (a confirmed new level re-anchors without a return)."""
        returns = stream.returns
        learn_return = stream.last_item is not None
        ordered = returns.ordered
        n = len(ordered)
        if learn_return and n >= self._min_history:
            half = n // 2  # the median, inline: this runs on every update
            median = ordered[half] if n % 2 else (ordered[half - 1] + ordered[half]) * 0.5
            deviation = abs(log_price - stream.last_log - median)
            if deviation > self._min_jump:  # below min_jump the MAD is not even needed
                z = self._jump_z(stream, log_price, deviation)
                if z > 0.0:
                    return z
                learn_return = z == 0.0
        if learn_return:
            returns.push(log_price - stream.last_log)
        stream.last_ts = item.timestamp
        stream.last_log = log_price
        stream.last_item = item
        stream.gap = stream.shift_count = 0
        if log_size is not None:
            stream.volumes.push(log_size)
        return 0.0

    def _jump_z(self, stream: _Stream, log_price: float, deviation: float) -> float:
        """Robust z of a jump (> 0), 0.0 within the band, -1.0 for a confirmed new level."""
        config = self.config
        sigma = max(MAD_SCALE * stream.returns.mad(), _TINY)
        gap = stream.gap  # prices flagged since the last accepted one
        z = deviation / (sigma * math.sqrt(gap + 1))  # a return over n steps spreads by sqrt(n)
        if z <= config.jump_k:
            return 0.0
        stream.gap = gap + 1
        # Consecutive flagged prices close to each other are a new level, not a bad print.
        band = max(config.jump_k * sigma, config.min_jump)
        agrees = stream.shift_count > 0 and abs(log_price - stream.shift_log) <= band
        stream.shift_count = stream.shift_count + 1 if agrees else 1
        stream.shift_log = log_price
        return -1.0 if stream.shift_count >= config.level_shift_after else z

    def _volume(self, stream: _Stream, size: Decimal) -> tuple[float | None, float]:
        """(log size, robust z if above ``volume_k`` else 0.0); a zero size is not judged."""
        value = float(size)
        if not 0.0 < value < _INF:
            return None, 0.0
        log_size = math.log(value)
        volumes = stream.volumes
        if len(volumes) < self.config.min_history:
            return log_size, 0.0
        deviation = log_size - volumes.median()
        if deviation <= self._volume_floor:
            return log_size, 0.0
        sigma = max(MAD_SCALE * volumes.mad(), self.config.min_volume_sigma)
        z = deviation / sigma
        return log_size, (z if z > self.config.volume_k else 0.0)

    def _jumped(
        self, label: str, price: Decimal, stream: _Stream, z: float, item: _Item
    ) -> Anomaly:
        before = _display_price(stream.last_item)
        reason = (
            f"{label} {price} jumped {z:.1f} robust std devs from {before} "
            f"(limit {self.config.jump_k})"
        )
        return Anomaly(item.instrument_id, AnomalyKind.PRICE_JUMP, reason, item.timestamp)

    def _outsized(
        self, label: str, size: Decimal, stream: _Stream, z: float, item: _Item
    ) -> Anomaly:
        typical = math.exp(stream.volumes.median())
        reason = (
            f"{label} {size} is {z:.1f} robust std devs above the typical {typical:.6g} "
            f"(limit {self.config.volume_k})"
        )
        return Anomaly(item.instrument_id, AnomalyKind.VOLUME_OUTLIER, reason, item.timestamp)

    def _state(self, instrument_id: InstrumentId) -> _Instrument:
        state = self._states.get(instrument_id.int)
        if state is None:
            state = self._states[instrument_id.int] = _Instrument(instrument_id, self.config.window)
        return state


_Item = Quote | TradeTick | OrderBook | Bar


def _to_ns(timestamp: datetime) -> int:
    return (timestamp - _EPOCH) // _MICROSECOND * 1000


def _on_tick(price: Decimal, tick: Decimal) -> bool:
    try:
        return not price % tick
    except InvalidOperation:  # more whole ticks than the context precision holds
        return is_multiple(price, tick)


def _display_price(item: _Item | None) -> Decimal | str:
    if isinstance(item, Quote):
        return item.mid
    if isinstance(item, TradeTick):
        return item.price
    if isinstance(item, OrderBook):
        return item.mid or "?"
    if isinstance(item, Bar):
        return item.close
    return "?"


def _backwards(stream: str, item: _Item, previous: datetime) -> Anomaly:
    reason = (
        f"{stream} timestamp {item.timestamp.isoformat()} is before the previous "
        f"{previous.isoformat()}"
    )
    return Anomaly(item.instrument_id, AnomalyKind.TIME_BACKWARDS, reason, item.timestamp)


def _invalid(label: str, price: Decimal, item: _Item) -> Anomaly:
    reason = f"{label} {price} is not a finite price greater than 0"
    return Anomaly(item.instrument_id, AnomalyKind.INVALID_PRICE, reason, item.timestamp)


def _crossed_or_locked(bid: Decimal, ask: Decimal, item: _Item) -> Anomaly:
    if bid > ask:
        reason = f"bid {bid} is above ask {ask} (crossed)"
        return Anomaly(item.instrument_id, AnomalyKind.CROSSED_BOOK, reason, item.timestamp)
    reason = f"bid {bid} equals ask {ask} (locked)"
    return Anomaly(item.instrument_id, AnomalyKind.LOCKED_BOOK, reason, item.timestamp)


def _off_tick(label: str, price: Decimal, tick: Decimal, item: _Item) -> Anomaly:
    reason = f"{label} {price} is not a multiple of the tick {tick}"
    return Anomaly(item.instrument_id, AnomalyKind.OFF_TICK, reason, item.timestamp)
