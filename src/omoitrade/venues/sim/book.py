"""The data structures of one instrument's L3 book: orders, price levels, waiting stops.

Inside the book prices are integer ticks (``price / tick_size``) and sizes integer lots
(``quantity / lot_size``), converted once with :func:`to_units`. Each side keeps its price
levels in a dict and their keys in a sorted list whose *last* element is the best price (bids
are keyed by ticks, asks by minus ticks), so the best level is ``keys[-1]`` and emptying it
is a ``list.pop()``. A level's queue is a deque in arrival order; an order that leaves the
book early (cancel, amend) is marked dead and skipped when it reaches the front, while the
level's live ``size`` and ``count`` are kept exact at once. An order describes itself as an
:class:`ExecutionReport`, built straight from its fields in one call.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from datetime import datetime
from decimal import Decimal, localcontext

from omoitrade.model.enums import ExecType, Liquidity, OrderSide, OrderStatus
from omoitrade.model.identifiers import VenueOrderId, VenueTradeId
from omoitrade.model.money import ZERO
from omoitrade.model.venue import ExecutionReport, SubmitOrder

_COMPACT_SLACK = 32  # a queue holding this many more dead than live entries is compacted
_new_report = tuple.__new__  # the fields in ExecutionReport's order, unchecked: fast


def to_units(value: Decimal, step: Decimal) -> int | None:
    """``value`` as a positive whole number of ``step``s (ticks, lots), or None."""
    try:
        whole, rest = divmod(value, step)
        if rest or not value > ZERO:
            return None
    except ArithmeticError:  # not a number, or more steps than the context's precision
        if not value.is_finite() or value <= 0:
            return None
        with localcontext() as ctx:
            ctx.prec = max(ctx.prec, value.adjusted() - step.adjusted() + 10)
            whole, rest = divmod(value, step)
        if rest:
            return None
    return int(whole)


_ORDER_FIELDS = (  # BookOrder's
    "account_id",
    "client_order_id",
    "command",
    "filled",
    "instrument_id",
    "is_buy",
    "left",
    "live",
    "lots",
    "oco_group",
    "order_type",
    "post_only",
    "price",
    "quantity",
    "seq",
    "side",
    "stop_price",
    "stop_ticks",
    "ticks",
    "time_in_force",
    "triggered",
    "venue_order_id",
)


class BookOrder:
    """A working order: resting in a level, waiting for its stop, or being matched.

    ``seq`` orders stops of equal price (smaller is earlier); ``lots`` is the ordered size and
    ``left`` what is still working, in lots, and ``filled`` the filled quantity; ``ticks`` is
    the limit price in ticks (None for a market order or a STOP). ``live`` turns False when
    the order leaves the book; ``command`` is the SubmitOrder it came from.
    """

    __slots__ = _ORDER_FIELDS

    def __init__(
        self,
        command: SubmitOrder,
        seq: int,
        venue_order_id: VenueOrderId,
        lots: int,
        ticks: int | None,
        stop_ticks: int | None,
    ) -> None:
        self.command = command
        self.seq = seq
        self.venue_order_id = venue_order_id
        self.account_id = command.account_id
        self.client_order_id = command.client_order_id
        self.instrument_id = command.instrument_id
        self.side = side = command.side
        self.is_buy = side == OrderSide.BUY
        self.order_type = command.order_type
        self.time_in_force = command.time_in_force
        self.quantity = command.quantity
        self.filled = ZERO
        self.lots = self.left = lots
        self.price = command.price
        self.ticks = ticks
        self.stop_price = command.stop_price
        self.stop_ticks = stop_ticks
        self.post_only = command.post_only
        self.oco_group = command.oco_group
        self.live = True
        self.triggered = False

    @property
    def status(self) -> OrderStatus:
        """The status of the order while it works."""
        return OrderStatus.PARTIAL if self.left < self.lots else OrderStatus.SUBMITTED

    def requeued(self) -> BookOrder:
        """A live copy, for an amend that loses time priority (once this one left the book)."""
        copy = BookOrder(
            self.command, self.seq, self.venue_order_id, self.lots, self.ticks, self.stop_ticks
        )
        for name in _ORDER_FIELDS:
            setattr(copy, name, getattr(self, name))
        copy.live = True
        return copy

    def report(
        self,
        report_id: int,
        exec_type: ExecType,
        status: OrderStatus,
        at: datetime,
        done: bool = False,
        reason: str | None = None,
    ) -> ExecutionReport:
        """A report without a fill; ``done`` when nothing is left working."""
        leaves = ZERO if done else self.quantity - self.filled
        return self.full_report(
            report_id, exec_type, status, at, leaves, None, None, None, None, ZERO, None, reason
        )

    def full_report(
        self,
        report_id: int,
        exec_type: ExecType,
        status: OrderStatus,
        at: datetime,
        leaves: Decimal,
        quantity: Decimal | None,
        price: Decimal | None,
        trade_id: VenueTradeId | None,
        liquidity: Liquidity | None,
        commission: Decimal,
        currency: str | None,
        reason: str | None,
    ) -> ExecutionReport:
        """The report with every field given (one call per report on the hot paths).

        For a fill, ``quantity`` at ``price`` is the fill, already counted in ``filled``.
        """
        return _new_report(
            ExecutionReport,
            (
                report_id,
                exec_type,
                at,
                self.account_id,
                self.instrument_id,
                self.client_order_id,
                self.venue_order_id,
                self.side,
                self.order_type,
                self.time_in_force,
                status,
                self.quantity,
                self.filled,
                leaves,
                self.price,
                self.stop_price,
                quantity,
                price,
                trade_id,
                liquidity,
                commission,
                currency,
                reason,
            ),
        )


class PriceLevel:
    """The orders at one price, oldest first; ``size`` and ``count`` cover live orders only."""

    __slots__ = ("count", "orders", "size", "ticks")

    def __init__(self, ticks: int) -> None:
        self.ticks = ticks
        self.orders: deque[BookOrder] = deque()
        self.size = 0
        self.count = 0


class BookSide:
    """The bids or the asks: price levels by ticks, best level last in ``keys``."""

    __slots__ = ("is_bid", "keys", "levels")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.levels: dict[int, PriceLevel] = {}
        self.keys: list[int] = []  # ticks for bids, -ticks for asks; ascending, best last

    def best(self) -> PriceLevel | None:
        keys = self.keys
        if not keys:
            return None
        return self.levels[keys[-1] if self.is_bid else -keys[-1]]

    def add(self, order: BookOrder) -> None:
        """Queue ``order`` (a live limit order) at the back of its price level."""
        ticks = order.ticks
        assert ticks is not None
        level = self.levels.get(ticks)
        if level is None:
            level = self.levels[ticks] = PriceLevel(ticks)
            insort(self.keys, ticks if self.is_bid else -ticks)
        level.orders.append(order)
        level.size += order.left
        level.count += 1

    def remove(self, order: BookOrder) -> None:
        """Take ``order`` out of the book (it stays in its queue, dead, until skipped)."""
        ticks = order.ticks
        assert ticks is not None
        level = self.levels[ticks]
        order.live = False
        level.size -= order.left
        level.count -= 1
        if level.count == 0:
            self.drop(level)
        elif len(level.orders) > 2 * level.count + _COMPACT_SLACK:
            live = [o for o in level.orders if o.live]
            level.orders.clear()  # in place: a matching loop may hold this deque
            level.orders.extend(live)

    def shrink(self, order: BookOrder, lots: int) -> None:
        """``order`` keeps its place with ``lots`` fewer working (the caller sets its size)."""
        ticks = order.ticks
        assert ticks is not None
        self.levels[ticks].size -= lots

    def drop(self, level: PriceLevel) -> None:
        """Remove an emptied level (no-op if it is already gone)."""
        if self.levels.get(level.ticks) is not level:
            return
        del self.levels[level.ticks]
        key = level.ticks if self.is_bid else -level.ticks
        keys = self.keys
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]

    def depth(self, count: int) -> list[tuple[int, int, int]]:
        """The best ``count`` levels as (ticks, lots, orders)."""
        levels = self.levels
        sign = 1 if self.is_bid else -1
        rows = []
        for key in reversed(self.keys[-count:] if count > 0 else []):
            level = levels[sign * key]
            rows.append((level.ticks, level.size, level.count))
        return rows


class StopBook:
    """Stop and stop-limit orders waiting for their trigger, first to trigger last.

    Buy stops trigger when the price rises to their stop (lowest stop first), sell stops
    when it falls to theirs (highest first); equal stops trigger in arrival order.
    """

    __slots__ = ("_buys", "_sells")

    def __init__(self) -> None:
        self._buys: list[tuple[int, int, BookOrder]] = []  # (-stop, -seq, order)
        self._sells: list[tuple[int, int, BookOrder]] = []  # (stop, -seq, order)

    def __len__(self) -> int:
        return len(self._buys) + len(self._sells)

    @staticmethod
    def _key(order: BookOrder) -> tuple[int, int]:
        stop = order.stop_ticks
        assert stop is not None
        return (-stop if order.is_buy else stop), -order.seq

    def add(self, order: BookOrder) -> None:
        insort(self._buys if order.is_buy else self._sells, (*self._key(order), order))

    def remove(self, order: BookOrder) -> None:
        queue = self._buys if order.is_buy else self._sells
        index = bisect_left(queue, self._key(order))
        assert queue[index][2] is order
        del queue[index]

    def pop_triggered(self, high: int | None, low: int | None) -> BookOrder | None:
        """The next stop to trigger when the price is ``high`` ticks for buy stops and ``low``
        for sell stops (the two differ only for an off-tick reference price), or None.
        """
        buys, sells = self._buys, self._sells
        buy = buys[-1] if high is not None and buys and -buys[-1][0] <= high else None
        sell = sells[-1] if low is not None and sells and sells[-1][0] >= low else None
        if buy is not None and (sell is None or buy[1] > sell[1]):  # -seq: larger is earlier
            return buys.pop()[2]
        if sell is not None:
            return sells.pop()[2]
        return None
