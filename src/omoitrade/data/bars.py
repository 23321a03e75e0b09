"""Bar aggregation: trade ticks into OHLCV bars of several timeframes at once.

Intervals are UTC-aligned (a 1h bar starts on the hour, a 1d bar at 00:00
UTC) and a bar is stamped with its interval's start. A trade updates only
the finest timeframe's open interval; when that closes it is merged into
the coarser ones (each timeframe is a multiple of the finest), so a trade
costs the same however many timeframes are built.

A bar is emitted when an update arrives in a later interval, or when
:meth:`BarAggregator.flush` is called at or after the interval's end; an
interval without trades emits no bar. ``bid``/``ask`` are the last quote
seen inside the interval (None without quotes). An update for an interval
that is already closed (it arrived after the flush) is dropped; dropped
trades are counted in ``late_trades``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.model.enums import Timeframe
from omoitrade.model.identifiers import BarId, InstrumentId
from omoitrade.model.market_data import Bar, Quote, TradeTick
from omoitrade.model.money import ZERO

__all__ = ["BarAggregator"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class _Interval:
    """The running OHLCV and last quote of one open interval."""

    __slots__ = (
        "ask",
        "bid",
        "close",
        "end",
        "end_ns",
        "high",
        "low",
        "open",
        "start",
        "start_ns",
        "trades",
        "volume",
    )

    def __init__(self, start_ns: int, length_ns: int) -> None:
        self.start_ns = start_ns
        self.end_ns = start_ns + length_ns
        self.start = _EPOCH + timedelta(microseconds=start_ns // 1000)
        self.end = _EPOCH + timedelta(microseconds=self.end_ns // 1000)
        self.open = self.high = self.low = self.close = self.volume = ZERO
        self.trades = 0
        self.bid: Decimal | None = None
        self.ask: Decimal | None = None

    def add_trade(self, price: Decimal, size: Decimal) -> None:
        if self.trades:
            if price > self.high:
                self.high = price
            elif price < self.low:
                self.low = price
            self.volume += size
        else:
            self.open = self.high = self.low = price
            self.volume = size
        self.close = price
        self.trades += 1

    def absorb(self, finer: _Interval) -> None:
        """Merge a closed finer interval that comes after everything merged so far."""
        if finer.trades:
            if self.trades:
                self.high = max(self.high, finer.high)
                self.low = min(self.low, finer.low)
                self.volume += finer.volume
            else:
                self.open, self.high, self.low = finer.open, finer.high, finer.low
                self.volume = finer.volume
            self.close = finer.close
            self.trades += finer.trades
        if finer.bid is not None:
            self.bid, self.ask = finer.bid, finer.ask


class _Series:
    """One instrument's open intervals: the finest, and one per coarser timeframe."""

    __slots__ = ("closed_ns", "coarse", "fine", "instrument_id")

    def __init__(self, instrument_id: InstrumentId, coarse_count: int) -> None:
        self.instrument_id = instrument_id
        self.fine: _Interval | None = None
        self.coarse: list[_Interval | None] = [None] * coarse_count
        self.closed_ns = -(2**63)  # every interval ending at or before this is closed


class BarAggregator:
    """Builds bars of ``timeframes`` (all six by default) from trades and quotes.

    ``ids`` makes the bar ids; inject a seeded generator for reproducible runs.
    """

    def __init__(
        self, ids: IdGenerator, timeframes: Iterable[Timeframe] = tuple(Timeframe)
    ) -> None:
        frames = sorted({Timeframe(tf) for tf in timeframes}, key=lambda tf: tf.nanos)
        if not frames:
            raise ValidationError("timeframes", "must name at least one timeframe")
        self.timeframes: tuple[Timeframe, ...] = tuple(frames)
        self._ids = ids
        self._fine = frames[0]
        self._fine_ns = frames[0].nanos
        self._coarse = tuple(frames[1:])
        self._series: dict[int, _Series] = {}  # by the id's int (UUID hashing is slow)
        self.late_trades = 0

    def on_trade(self, trade: TradeTick) -> list[Bar]:
        """Add a trade; returns the bars it closed (intervals before its own), oldest first."""
        series = self._series.get(trade.instrument_id.int)
        interval = series.fine if series is not None else None
        if interval is not None and interval.start <= trade.timestamp < interval.end:
            interval.add_trade(trade.price, trade.size)
            return []
        bars, interval = self._advance(trade.instrument_id, trade.timestamp)
        if interval is None:
            self.late_trades += 1
        else:
            interval.add_trade(trade.price, trade.size)
        return bars

    def on_quote(self, quote: Quote) -> list[Bar]:
        """Note the quote as its interval's latest bid/ask; returns the bars it closed.

        A crossed quote is ignored (a bar's bid may not exceed its ask).
        """
        if quote.bid_price > quote.ask_price:
            return []
        series = self._series.get(quote.instrument_id.int)
        interval = series.fine if series is not None else None
        bars: list[Bar] = []
        if interval is None or not interval.start <= quote.timestamp < interval.end:
            bars, interval = self._advance(quote.instrument_id, quote.timestamp)
        if interval is not None:
            interval.bid, interval.ask = quote.bid_price, quote.ask_price
        return bars

    def flush(self, now_ns: int) -> list[Bar]:
        """Close every interval ending at or before ``now_ns``; returns their bars."""
        bars: list[Bar] = []
        boundary = now_ns - now_ns % self._fine_ns
        for series in self._series.values():
            bars.extend(self._close(series, now_ns))
            series.closed_ns = max(series.closed_ns, boundary)
        return bars

    def _advance(
        self, instrument_id: InstrumentId, timestamp: datetime
    ) -> tuple[list[Bar], _Interval | None]:
        """Close what ends by ``timestamp``; the open finest interval holding it (None: late)."""
        series = self._series.get(instrument_id.int)
        if series is None:
            series = self._series[instrument_id.int] = _Series(instrument_id, len(self._coarse))
        ns = (timestamp - _EPOCH) // _MICROSECOND * 1000
        if ns < series.closed_ns or (series.fine is not None and ns < series.fine.start_ns):
            return [], None
        bars = self._close(series, ns)
        if series.fine is None:
            series.fine = _Interval(ns - ns % self._fine_ns, self._fine_ns)
        return bars, series.fine

    def _close(self, series: _Series, now_ns: int) -> list[Bar]:
        instrument_id = series.instrument_id
        bars: list[Bar] = []
        fine = series.fine
        if fine is not None and fine.end_ns <= now_ns:
            if fine.trades:
                bars.append(self._bar(instrument_id, fine, self._fine))
            for index, timeframe in enumerate(self._coarse):
                coarse = series.coarse[index]
                if coarse is None:
                    start = fine.start_ns - fine.start_ns % timeframe.nanos
                    coarse = series.coarse[index] = _Interval(start, timeframe.nanos)
                coarse.absorb(fine)
            series.fine = None
            series.closed_ns = max(series.closed_ns, fine.end_ns)
        for index, timeframe in enumerate(self._coarse):
            coarse = series.coarse[index]
            if coarse is not None and coarse.end_ns <= now_ns:
                if coarse.trades:
                    bars.append(self._bar(instrument_id, coarse, timeframe))
                series.coarse[index] = None
        return bars

    def _bar(self, instrument_id: InstrumentId, interval: _Interval, timeframe: Timeframe) -> Bar:
        return Bar(
            BarId.new(self._ids),
            instrument_id,
            interval.start,
            timeframe,
            interval.open,
            interval.high,
            interval.low,
            interval.close,
            interval.volume,
            interval.bid,
            interval.ask,
        )
