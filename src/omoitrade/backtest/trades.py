"""Round trips: the fills of each instrument matched FIFO into trades, with their excursions.

A **round trip** (a "trade" in the reports) is a position taken from flat and given
back, or the part of it that one closing order gave back:

- fills are taken per instrument in time order (fills at the same time keep their order);
- a fill on the side of the open position (or from flat) adds an entry lot;
- a fill against it closes quantity from the entry lots first in, first out; the
  consecutive fills of one closing order make one round trip, so a partial close is a
  round trip of its own and the rest of the position stays open;
- a fill larger than the position (a reversal) closes the position and opens the other
  side with the remainder, its commission split by quantity;
- each entry lot's commission goes with its quantity: a round trip carries the share of
  the entry commissions of the quantity it closed, plus its closing commissions.

Prices, quantities, fees and P&L are Decimal; averages and shares are divided to 28
significant digits, sums and products are exact. Bars are only read, as numpy arrays,
to find the highest and lowest prices while a round trip was open.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal

import numpy as np
import numpy.typing as npt

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide, PositionSide
from omoitrade.model.identifiers import InstrumentId, OrderId
from omoitrade.model.market_data import Bar
from omoitrade.model.money import EXACT, ZERO
from omoitrade.model.trades import Trade

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
#: Divisions (averages, shares, percentages): 28 significant digits, whatever the
#: ambient decimal context is, so that results do not depend on the caller's settings.
DIVIDE = Context(prec=28)
HUNDRED = Decimal(100)


def timestamps_ns(stamps: Iterable[datetime], count: int = -1) -> IntArray:
    """UTC datetimes as int64 nanoseconds since the epoch (microsecond resolution)."""
    return np.fromiter(
        ((at - EPOCH) // _MICROSECOND * 1000 for at in stamps), dtype=np.int64, count=count
    )


def from_ns(value: int) -> datetime:
    """The UTC datetime of int64 nanoseconds since the epoch (to the microsecond)."""
    return EPOCH + timedelta(microseconds=int(value) // 1000)


@dataclass(frozen=True, eq=False)
class BarArrays:
    """One instrument's bars as numpy columns (start times in ns, prices as floats).

    The floats are for searching and charts only: values taken from them for a result
    are read back from ``bars`` as the exact Decimals.
    """

    bars: Sequence[Bar]
    times_ns: IntArray
    opens: FloatArray
    highs: FloatArray
    lows: FloatArray
    closes: FloatArray
    timeframe_ns: int

    @classmethod
    def of(cls, bars: Sequence[Bar]) -> BarArrays:
        """The columns of ``bars``, which must be in strictly increasing time order."""
        n = len(bars)
        times = timestamps_ns((bar.timestamp for bar in bars), n)
        if n > 1 and not bool(np.all(np.diff(times) > 0)):
            raise ValidationError("bars", "must be in strictly increasing time order")

        def column(name: str) -> FloatArray:
            return np.fromiter((float(getattr(bar, name)) for bar in bars), np.float64, n)

        return cls(
            bars,
            times,
            column("open"),
            column("high"),
            column("low"),
            column("close"),
            bars[0].timeframe.nanos if n else 0,
        )

    def __len__(self) -> int:
        return len(self.bars)

    def window(self, start_ns: int, end_ns: int) -> tuple[int, int]:
        """Indices ``[i0, i1)`` of the bars whose interval ``[t, t + timeframe)`` overlaps
        ``[start, end)``: the bars in which a position held over that span was open."""
        times = self.times_ns
        i0 = int(np.searchsorted(times, start_ns - self.timeframe_ns, side="right"))
        i1 = int(np.searchsorted(times, end_ns, side="left"))
        return i0, max(i0, i1)


def bar_arrays(bars: Sequence[Bar] | BarArrays) -> BarArrays:
    """``bars`` as :class:`BarArrays` (converted once; arrays are passed through)."""
    return bars if isinstance(bars, BarArrays) else BarArrays.of(bars)


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """One round trip (see the module doc). Money is in the instrument's quote currency.

    ``entry_price`` and ``exit_price`` are quantity-weighted averages of the entry lots
    closed and of the closing fills; ``gross_pnl`` is ``±(exit notional - entry
    notional)`` (+ long, - short); ``fees`` = ``entry_fees + exit_fees``; ``pnl`` =
    ``gross_pnl - fees``; ``return_pct`` = ``100 * pnl / entry notional``.

    ``mae`` and ``mfe`` (maximum adverse and favourable excursion) are the largest price
    moves against and in favour of the position from ``entry_price`` while it was open,
    per unit and never negative, from the highs and lows of the bars it was open in and
    its own fill prices; ``mae_pct`` and ``mfe_pct`` are the same as percentages of
    ``entry_price``. ``bars_held`` counts those bars (a bar is ``[start, start +
    timeframe)``; one the trip was open in for any time counts, except the bar that
    starts at the exit time). ``is_open`` marks a position still open at the end, valued
    at its last bar's close (see :func:`round_trips`).
    """

    instrument_id: InstrumentId
    symbol: str
    direction: PositionSide
    entry_time: datetime
    exit_time: datetime
    entry_price: Decimal
    exit_price: Decimal
    quantity: Decimal
    gross_pnl: Decimal
    entry_fees: Decimal
    exit_fees: Decimal
    fees: Decimal
    pnl: Decimal
    return_pct: Decimal
    duration: timedelta
    mae: Decimal
    mfe: Decimal
    mae_pct: Decimal
    mfe_pct: Decimal
    bars_held: int
    entry_order_ids: tuple[OrderId, ...] = ()
    exit_order_ids: tuple[OrderId, ...] = ()
    is_open: bool = False

    @property
    def is_win(self) -> bool:
        """Whether the trip made money after fees (``pnl > 0``)."""
        return self.pnl > 0


@dataclass(slots=True)
class _Lot:
    """An entry fill, or what is left of it: remaining quantity and commission."""

    quantity: Decimal
    price: Decimal
    time: datetime
    fee: Decimal
    order_id: OrderId


@dataclass(slots=True)
class _Closing:
    """What the current closing order has closed so far."""

    sign: int  # +1 closing a long, -1 closing a short
    exit_order_id: OrderId
    quantity: Decimal = ZERO
    entry_notional: Decimal = ZERO
    exit_notional: Decimal = ZERO
    entry_fees: Decimal = ZERO
    exit_fees: Decimal = ZERO
    entry_time: datetime | None = None
    exit_time: datetime | None = None
    low: Decimal | None = None  # the lowest and highest fill price of the trip
    high: Decimal | None = None
    entry_order_ids: list[OrderId] = field(default_factory=list)
    exit_order_ids: list[OrderId] = field(default_factory=list)

    def see(self, price: Decimal) -> None:
        if self.low is None or price < self.low:
            self.low = price
        if self.high is None or price > self.high:
            self.high = price


def _note(ids: list[OrderId], order_id: OrderId) -> None:
    if order_id not in ids:
        ids.append(order_id)


class _Book:
    """One instrument's open lots and the round trips closed from them."""

    def __init__(self, instrument_id: InstrumentId, symbol: str, bars: BarArrays | None) -> None:
        self.instrument_id = instrument_id
        self.symbol = symbol
        self.bars = bars
        self.lots: deque[_Lot] = deque()
        self.sign = 0  # +1 long, -1 short, 0 flat
        self.open_quantity = ZERO
        self.closing: _Closing | None = None
        self.trips: list[RoundTrip] = []

    def apply(self, fill: Trade) -> None:
        sign = 1 if fill.side is OrderSide.BUY else -1
        quantity, price, fee = fill.quantity, fill.execution_price, fill.commission
        at, order_id = fill.executed_at, fill.order_id
        closing = self.closing
        if closing is not None and (closing.exit_order_id != order_id or sign == self.sign):
            self.flush()
        if not self.lots or sign == self.sign:
            self.open(sign, quantity, price, at, fee, order_id)
            return
        closed = min(quantity, self.open_quantity)
        close_fee = fee if closed == quantity else _share(fee, closed, quantity)
        self.close(closed, price, at, close_fee, order_id)
        if not self.lots:  # flat: the trip is over; a reversal opens the other side
            self.flush()
            rest = EXACT.subtract(quantity, closed)
            if rest:
                self.open(sign, rest, price, at, EXACT.subtract(fee, close_fee), order_id)

    def open(
        self,
        sign: int,
        quantity: Decimal,
        price: Decimal,
        at: datetime,
        fee: Decimal,
        order_id: OrderId,
    ) -> None:
        self.sign = sign
        self.lots.append(_Lot(quantity, price, at, fee, order_id))
        self.open_quantity = EXACT.add(self.open_quantity, quantity)

    def close(
        self,
        quantity: Decimal,
        price: Decimal,
        at: datetime,
        fee: Decimal,
        order_id: OrderId,
    ) -> None:
        closing = self.closing
        if closing is None:
            closing = self.closing = _Closing(self.sign, order_id)
        remaining = quantity
        while remaining:
            lot = self.lots[0]
            if remaining >= lot.quantity:
                take, fee_share = lot.quantity, lot.fee
                self.lots.popleft()
            else:
                take = remaining
                fee_share = _share(lot.fee, take, lot.quantity)
                lot.quantity = EXACT.subtract(lot.quantity, take)
                lot.fee = EXACT.subtract(lot.fee, fee_share)
            closing.entry_notional = EXACT.add(
                closing.entry_notional, EXACT.multiply(take, lot.price)
            )
            closing.entry_fees = EXACT.add(closing.entry_fees, fee_share)
            if closing.entry_time is None:
                closing.entry_time = lot.time
            closing.see(lot.price)
            _note(closing.entry_order_ids, lot.order_id)
            remaining = EXACT.subtract(remaining, take)
        closing.quantity = EXACT.add(closing.quantity, quantity)
        closing.exit_notional = EXACT.add(closing.exit_notional, EXACT.multiply(quantity, price))
        closing.exit_fees = EXACT.add(closing.exit_fees, fee)
        closing.exit_time = at
        closing.see(price)
        _note(closing.exit_order_ids, order_id)
        self.open_quantity = EXACT.subtract(self.open_quantity, quantity)
        if not self.open_quantity:
            self.sign = 0

    def flush(self, *, is_open: bool = False) -> None:
        """Record the current closing as a round trip."""
        closing, self.closing = self.closing, None
        if closing is not None:
            self.trips.append(self._trip(closing, is_open))

    def mark_open(self) -> None:
        """Close what is still open at the last bar's close, as an open round trip."""
        self.flush()
        bars = self.bars
        if not self.lots or bars is None or not len(bars):
            return
        at = max(_bar_end(bars, -1), self.lots[-1].time)
        self.close(self.open_quantity, bars.bars[-1].close, at, ZERO, self.lots[0].order_id)
        closing = self.closing
        assert closing is not None
        closing.exit_order_ids.clear()
        self.flush(is_open=True)

    def _trip(self, closing: _Closing, is_open: bool) -> RoundTrip:
        assert closing.entry_time is not None and closing.exit_time is not None
        quantity, sign = closing.quantity, closing.sign
        entry_price = DIVIDE.divide(closing.entry_notional, quantity)
        exit_price = DIVIDE.divide(closing.exit_notional, quantity)
        gross = EXACT.subtract(closing.exit_notional, closing.entry_notional)
        if sign < 0:
            gross = -gross
        fees = EXACT.add(closing.entry_fees, closing.exit_fees)
        pnl = EXACT.subtract(gross, fees)
        assert closing.low is not None and closing.high is not None
        low, high, bars_held = closing.low, closing.high, 0
        if self.bars is not None and len(self.bars):
            low, high, bars_held = _extremes(
                self.bars, closing.entry_time, closing.exit_time, low, high
            )
        if sign > 0:
            favourable, adverse = high - entry_price, entry_price - low
        else:
            favourable, adverse = entry_price - low, high - entry_price
        mfe, mae = max(favourable, ZERO), max(adverse, ZERO)
        return RoundTrip(
            instrument_id=self.instrument_id,
            symbol=self.symbol,
            direction=PositionSide.LONG if sign > 0 else PositionSide.SHORT,
            entry_time=closing.entry_time,
            exit_time=closing.exit_time,
            entry_price=entry_price,
            exit_price=exit_price,
            quantity=quantity,
            gross_pnl=gross,
            entry_fees=closing.entry_fees,
            exit_fees=closing.exit_fees,
            fees=fees,
            pnl=pnl,
            return_pct=DIVIDE.divide(pnl * HUNDRED, closing.entry_notional),
            duration=closing.exit_time - closing.entry_time,
            mae=mae,
            mfe=mfe,
            mae_pct=DIVIDE.divide(mae * HUNDRED, entry_price),
            mfe_pct=DIVIDE.divide(mfe * HUNDRED, entry_price),
            bars_held=bars_held,
            entry_order_ids=tuple(closing.entry_order_ids),
            exit_order_ids=tuple(closing.exit_order_ids),
            is_open=is_open,
        )


def _share(amount: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """``amount * part / whole`` (a commission's share of a quantity)."""
    if not amount:
        return ZERO
    return DIVIDE.divide(EXACT.multiply(amount, part), whole)


def _bar_end(bars: BarArrays, index: int) -> datetime:
    return from_ns(int(bars.times_ns[index]) + bars.timeframe_ns)


def _extremes(
    bars: BarArrays, entry: datetime, exit: datetime, low: Decimal, high: Decimal
) -> tuple[Decimal, Decimal, int]:
    """The lowest low and highest high of the bars open in ``[entry, exit)`` and the given
    fill extremes, and how many bars that is."""
    start_ns = (entry - EPOCH) // _MICROSECOND * 1000
    end_ns = (exit - EPOCH) // _MICROSECOND * 1000
    i0, i1 = bars.window(start_ns, end_ns)
    if i1 > i0:
        bar_low = bars.bars[i0 + int(np.argmin(bars.lows[i0:i1]))].low
        bar_high = bars.bars[i0 + int(np.argmax(bars.highs[i0:i1]))].high
        low, high = min(low, bar_low), max(high, bar_high)
    return low, high, i1 - i0


def round_trips(
    fills: Iterable[Trade],
    bars_by_instrument: Mapping[InstrumentId, Sequence[Bar] | BarArrays] | None = None,
    symbols: Mapping[InstrumentId, str] | None = None,
    *,
    include_open: bool = False,
) -> list[RoundTrip]:
    """The round trips of ``fills`` (see the module doc), ordered by exit time, then entry
    time, then symbol (the order is the same for the same inputs).

    ``bars_by_instrument`` gives each instrument's bars, for MAE/MFE and ``bars_held``
    (without them the excursions come from the fill prices alone). ``symbols`` names
    the instruments (by default the id's text). A position still open after the last
    fill is left out, like backtesting.py's default; ``include_open=True`` adds it as a
    round trip with ``is_open`` set, closed without commission at its last bar's close
    at that bar's end (not at all when the instrument has no bars).
    """
    by_instrument: dict[InstrumentId, list[Trade]] = {}
    for fill in fills:
        by_instrument.setdefault(fill.instrument_id, []).append(fill)
    names = symbols or {}
    trips: list[RoundTrip] = []
    for instrument_id, its_fills in by_instrument.items():
        its_fills.sort(key=lambda f: f.executed_at)  # stable: same-time fills keep order
        given = None if bars_by_instrument is None else bars_by_instrument.get(instrument_id)
        bars = None if given is None else bar_arrays(given)
        book = _Book(instrument_id, names.get(instrument_id, str(instrument_id)), bars)
        for fill in its_fills:
            book.apply(fill)
        if include_open:
            book.mark_open()
        else:
            book.flush()
        trips.extend(book.trips)
    trips.sort(key=lambda t: (t.exit_time, t.entry_time, t.symbol, str(t.instrument_id)))
    return trips
