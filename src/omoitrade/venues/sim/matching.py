"""The matching engine of the simulated exchange: one instrument's L3 book, price-time priority.

Every command returns the reports it caused, in order; nothing here reads a clock (each
command takes the time ``at`` that its reports carry). The policies — self-trade
prevention, stops, FOK, OCO, commission, ids — are set out in docs/simulated-exchange.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from itertools import count
from typing import cast

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import (
    ExecType,
    Liquidity,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from omoitrade.model.identifiers import AccountId, ClientOrderId, VenueOrderId, VenueTradeId
from omoitrade.model.instruments import Instrument
from omoitrade.model.money import ZERO
from omoitrade.model.venue import (
    AmendOrder,
    CancelOrder,
    CommandRejected,
    ExecutionReport,
    SubmitOrder,
    VenueReport,
)
from omoitrade.venues.sim.book import BookOrder, BookSide, PriceLevel, StopBook, to_units
from omoitrade.venues.sim.reports import command_refused, order_rejected
from omoitrade.venues.sim.validation import amend_problem, finite_problem, submit_problem

Level = tuple[Decimal, Decimal, int]  # price, size, number of orders
_Key = tuple[AccountId, ClientOrderId]
Reports = list[ExecutionReport]

_NEW, _TRADE, _TRIGGERED = ExecType.NEW, ExecType.TRADE, ExecType.TRIGGERED
_X_CANCELLED, _EXPIRED, _REPLACED = ExecType.CANCELLED, ExecType.EXPIRED, ExecType.REPLACED
_SUBMITTED, _PARTIAL, _FILLED = OrderStatus.SUBMITTED, OrderStatus.PARTIAL, OrderStatus.FILLED
_CANCELLED = OrderStatus.CANCELLED
_MAKER, _TAKER = Liquidity.MAKER, Liquidity.TAKER
_LIMIT, _STOP_LIMIT = OrderType.LIMIT, OrderType.STOP_LIMIT
_PRICED, _STOPPED = (_LIMIT, _STOP_LIMIT), (OrderType.STOP, _STOP_LIMIT)
_DAY, _IOC, _FOK = TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK
_UNIT_CACHE = 65_536  # entries in each of the quantity->lots and price->ticks caches
_new_str = str.__new__  # ids built on a prefix checked once need no re-validation


class MatchingEngine:
    """Matches the orders of one instrument; see the module docstring for the policies."""

    def __init__(
        self,
        instrument: Instrument,
        *,
        maker_fee: Decimal = ZERO,
        taker_fee: Decimal = ZERO,
        id_prefix: str = "SIM",
        next_report_id: Callable[[], int] | None = None,
        finished_memory: int = 100_000,
    ) -> None:
        VenueOrderId(f"{id_prefix}-1"), VenueTradeId(f"{id_prefix}-T1")  # a valid prefix
        self.instrument = instrument
        self._iid, self._active = instrument.id, instrument.is_active
        self._tick, self._lot = instrument.tick_size, instrument.lot_size
        self._min_lots = to_units(instrument.min_quantity, instrument.lot_size) or 0
        self._maker_fee, self._taker_fee = maker_fee, taker_fee
        self._currency = instrument.quote_currency
        self._prefix = id_prefix
        self._next_report_id = next_report_id or count(1).__next__
        self._order_numbers, self._trade_numbers = count(1), count(1)
        self._bids, self._asks = BookSide(is_bid=True), BookSide(is_bid=False)
        self._stops = StopBook()
        self._working: dict[_Key, BookOrder] = {}  # in acceptance order
        self._memory = max(1, finished_memory)  # finished orders remembered: 1-2x this
        self._finished: dict[_Key, OrderStatus] = {}
        self._finished_old: dict[_Key, OrderStatus] = {}
        self._oco: dict[tuple[AccountId, str], dict[ClientOrderId, None]] = {}
        self._quantities: dict[int, Decimal] = {}  # lots -> Decimal, for reports
        self._lots: dict[Decimal, int] = {}  # quantity -> lots, and price -> ticks: caches
        self._ticks: dict[Decimal, int] = {}
        self._last_price: Decimal | None = None
        self._high: int | None = None  # the trigger price of buy stops, in ticks
        self._low: int | None = None  # of sell stops (differs only for an off-tick reference)
        self._traded = False
        self._now = datetime.min.replace(tzinfo=UTC)  # the time of the latest command

    # --- commands ---------------------------------------------------------------------------
    def submit(self, command: SubmitOrder, at: datetime) -> Reports:
        """NEW then whatever happens at once (trades, EXPIRED, TRIGGERED), or REJECTED."""
        self._now = at
        order = self._accept(command)
        if isinstance(order, str):
            return [order_rejected(self._next_report_id(), command, order, at)]
        reports = [
            order.full_report(
                self._next_report_id(), _NEW, _SUBMITTED, at, order.quantity,
                None, None, None, None, ZERO, None, None,
            )
        ]  # fmt: skip
        self._traded = False
        if order.stop_ticks is not None:
            self._stops.add(order)
            self._enlist(order)
            self._run_stops(at, reports)
            return reports
        self._work(order, at, reports)
        if self._traded and len(self._stops):
            self._run_stops(at, reports)
        return reports

    def cancel(self, command: CancelOrder, at: datetime) -> list[VenueReport]:
        """CANCELLED, or a CommandRejected for an unknown or finished order."""
        self._now = at
        order = self._working.get((command.account_id, command.client_order_id))
        if order is None or not self._ours(command):
            return [self._refuse_missing(command, at)]
        if order.stop_ticks is None or order.triggered:
            (self._bids if order.is_buy else self._asks).remove(order)
        else:
            self._stops.remove(order)
        return [self._end(order, _X_CANCELLED, "cancelled", at)]

    def amend(self, command: AmendOrder, at: datetime) -> list[VenueReport]:
        """REPLACED then any trades the new price causes, or a CommandRejected.

        A new price or a larger quantity sends the order to the back of its (new) level; a
        smaller quantity keeps its place.
        """
        self._now = at
        key = (command.account_id, command.client_order_id)
        order = self._working.get(key)
        if order is None or not self._ours(command):
            return [self._refuse_missing(command, at)]
        problem = amend_problem(order, command, self.instrument)
        lots, ticks = order.lots, order.ticks
        if problem is None:
            if command.quantity is not None:
                lots = cast(int, to_units(command.quantity, self._lot))
            if command.price is not None:
                ticks = to_units(command.price, self._tick)
            if order.post_only and ticks != order.ticks and self._crosses(order.is_buy, ticks):
                problem = "post-only order would cross the book"
        if problem is not None:
            return [command_refused(self._next_report_id(), command, problem, order.status, at)]
        reports: Reports = []
        self._traded = False
        if order.stop_ticks is not None and not order.triggered:
            self._stops.remove(order)
            self._apply(order, command, lots, ticks)
            self._stops.add(order)
            reports.append(order.report(self._next_report_id(), _REPLACED, order.status, at))
            self._run_stops(at, reports)
        elif ticks != order.ticks or lots > order.lots:
            (self._bids if order.is_buy else self._asks).remove(order)
            order = self._working[key] = order.requeued()
            self._apply(order, command, lots, ticks)
            reports.append(order.report(self._next_report_id(), _REPLACED, order.status, at))
            self._work(order, at, reports)
            if self._traded:
                self._run_stops(at, reports)
        else:
            (self._bids if order.is_buy else self._asks).shrink(order, order.lots - lots)
            self._apply(order, command, lots, ticks)
            reports.append(order.report(self._next_report_id(), _REPLACED, order.status, at))
        return [*reports]

    def expire_day_orders(self, at: datetime) -> Reports:
        """EXPIRED for every working DAY order (the session closed), in acceptance order."""
        self._now = at
        reports = []
        for order in [o for o in self._working.values() if o.time_in_force is _DAY]:
            self._take_out(order)
            reports.append(self._end(order, _EXPIRED, "DAY order expired", at))
        return reports

    def update_reference_price(self, price: Decimal, at: datetime) -> Reports:
        """Trigger the stops an outside price reaches; TRIGGERED and what follows.

        The price need not be on the tick grid; it is the trigger price until the next trade
        here. ``last_price`` stays the price of the latest trade here.
        """
        self._now = at
        if not price.is_finite() or price <= 0:
            raise ValidationError("price", "must be a positive finite number", price)
        with localcontext() as ctx:
            ctx.prec = max(ctx.prec, price.adjusted() - self._tick.adjusted() + 10)
            whole, rest = divmod(price, self._tick)
        self._high = int(whole)
        self._low = self._high + 1 if rest else self._high
        reports: Reports = []
        self._run_stops(at, reports)
        return reports

    # --- queries ----------------------------------------------------------------------------
    @property
    def last_price(self) -> Decimal | None:
        """The price of the latest trade here, or None before the first."""
        return self._last_price

    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        """(price, size) of the best bid, or None."""
        return self._top(self._bids.best())

    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        """(price, size) of the best ask, or None."""
        return self._top(self._asks.best())

    def depth(self, levels: int) -> tuple[list[Level], list[Level]]:
        """The best ``levels`` bid and ask levels, best first, as (price, size, orders)."""
        tick, qty = self._tick, self._qty
        return (
            [(ticks * tick, qty(lots), n) for ticks, lots, n in self._bids.depth(levels)],
            [(ticks * tick, qty(lots), n) for ticks, lots, n in self._asks.depth(levels)],
        )

    def open_orders(self, account_id: AccountId, at: datetime | None = None) -> Reports:
        """STATUS reports of the account's working orders, in acceptance order.

        They carry ``at``, by default the time of the latest command this engine handled.
        """
        at = self._now if at is None else at
        return [
            order.report(self._next_report_id(), ExecType.STATUS, order.status, at)
            for order in self._working.values()
            if order.account_id == account_id
        ]

    # --- order flow -------------------------------------------------------------------------
    def _ours(self, command: SubmitOrder | CancelOrder | AmendOrder) -> bool:
        return command.instrument_id is self._iid or command.instrument_id == self._iid

    def _accept(self, c: SubmitOrder) -> BookOrder | str:
        """A new working order for ``c``, or why it is rejected."""
        kind, price, stop = c.order_type, c.price, c.stop_price
        try:
            lots = self._lots.get(c.quantity) or self._units(c.quantity, self._lot, self._lots)
            ticks = None if price is None else (self._ticks.get(price) or self._to_ticks(price))
            stop_ticks = None if stop is None else (self._ticks.get(stop) or self._to_ticks(stop))
        except TypeError:  # a signalling NaN has no hash
            return self._problem(c)
        if (
            lots is None
            or lots < self._min_lots
            or (price is None) == (kind in _PRICED)
            or (stop is None) == (kind in _STOPPED)
            or (price is not None and ticks is None)
            or (stop is not None and stop_ticks is None)
            or (c.post_only and kind is not _LIMIT)
            or not self._active
            or (c.instrument_id is not self._iid and c.instrument_id != self._iid)
        ):
            return self._problem(c)
        if (c.account_id, c.client_order_id) in self._working:
            return f"client order id {c.client_order_id} is already working"
        if c.post_only and self._crosses(c.side == OrderSide.BUY, ticks):
            return "post-only order would cross the book"
        number = next(self._order_numbers)
        venue_order_id = _new_str(VenueOrderId, f"{self._prefix}-{number}")
        return BookOrder(c, number, venue_order_id, lots, ticks, stop_ticks)

    @staticmethod
    def _units(value: Decimal, step: Decimal, known: dict[Decimal, int]) -> int | None:
        """``to_units``, remembered in ``known`` (a bounded cache: sizes and prices repeat)."""
        try:
            units = known.get(value)
        except TypeError:  # a signalling NaN has no hash
            return None
        if units is None:
            units = to_units(value, step)
            if units is not None:
                if len(known) >= _UNIT_CACHE:
                    known.clear()
                known[value] = units
        return units

    def _to_ticks(self, price: Decimal) -> int | None:
        return self._units(price, self._tick, self._ticks)

    def _problem(self, c: SubmitOrder) -> str:
        return finite_problem(c) or submit_problem(c, self.instrument) or "order is not valid"

    def _work(self, order: BookOrder, at: datetime, reports: Reports) -> None:
        """Match a live order as the taker, then rest or expire what is left."""
        tif = order.time_in_force
        if tif is _FOK and not self._fillable(order):
            reports.append(self._end(order, _EXPIRED, "FOK order cannot be filled completely", at))
            return
        ticks, is_buy = order.ticks, order.is_buy
        keys = self._asks.keys if is_buy else self._bids.keys  # as in _crosses, inlined
        if keys and (ticks is None or (-keys[-1] <= ticks if is_buy else keys[-1] >= ticks)):
            self._match(order, at, reports)
            if not order.left:
                return
        if ticks is None:
            reports.append(self._end(order, _EXPIRED, "no more liquidity for the market order", at))
        elif tif is _IOC or tif is _FOK:
            reports.append(self._end(order, _EXPIRED, f"{tif} remainder", at))
        else:
            (self._bids if is_buy else self._asks).add(order)
            self._enlist(order)

    def _crosses(self, is_buy: bool, ticks: int | None) -> bool:
        """Whether an order at ``ticks`` (None: market) on that side would trade now."""
        if is_buy:
            keys = self._asks.keys  # minus ticks
            return bool(keys) and (ticks is None or -keys[-1] <= ticks)
        keys = self._bids.keys
        return bool(keys) and (ticks is None or keys[-1] >= ticks)

    def _match(self, taker: BookOrder, at: datetime, reports: Reports) -> None:
        buy = taker.is_buy
        side = self._asks if buy else self._bids
        keys, levels = side.keys, side.levels
        limit, account = taker.ticks, taker.account_id
        quantities, numbers, ids = self._quantities, self._trade_numbers, self._next_report_id
        cur = self._currency
        taker_fee, maker_fee = self._taker_fee, self._maker_fee
        trade_prefix = f"{self._prefix}-T"
        as_taker = (taker, _TAKER, taker_fee)
        price: Decimal = ZERO
        traded_at = 0  # ticks of the latest trade
        while taker.left and keys:
            ticks = -keys[-1] if buy else keys[-1]
            if limit is not None and (ticks > limit if buy else ticks < limit):
                break
            level = levels[ticks]
            queue = level.orders
            while queue and taker.left:
                maker = queue[0]
                if not maker.live:
                    queue.popleft()
                    continue
                if maker.account_id == account:  # self-trade prevention
                    queue.popleft()
                    level.size -= maker.left
                    level.count -= 1
                    reports.append(self._end(maker, _X_CANCELLED, "self-trade prevention", at))
                    continue
                lots = taker.left if taker.left < maker.left else maker.left
                taker.left -= lots
                maker.left -= lots
                level.size -= lots
                qty = quantities.get(lots) or self._qty(lots)
                taker.filled += qty
                maker.filled += qty
                price = maker.price  # type: ignore[assignment]  # resting orders have one
                traded_at = ticks
                trade_id = _new_str(VenueTradeId, f"{trade_prefix}{next(numbers)}")
                value = price * qty
                for order, liquidity, rate in (as_taker, (maker, _MAKER, maker_fee)):
                    if order.left:
                        status, leaves = _PARTIAL, order.quantity - order.filled
                    else:
                        status, leaves = _FILLED, ZERO
                    fee = value * rate if rate else ZERO
                    reports.append(
                        order.full_report(
                            ids(), _TRADE, status, at, leaves, qty, price, trade_id, liquidity,
                            fee, cur, None,
                        )
                    )  # fmt: skip
                if not maker.left:
                    queue.popleft()
                    maker.live = False
                    level.count -= 1
                    self._forget(maker, _FILLED)
                if maker.oco_group is not None:
                    self._fire_oco(maker, at, reports)
                if taker.oco_group is not None:
                    self._fire_oco(taker, at, reports)
            if not level.count:
                side.drop(level)
        if traded_at:
            self._last_price, self._high, self._low = price, traded_at, traded_at
            self._traded = True
        if not taker.left:
            taker.live = False
            self._forget(taker, _FILLED)

    def _fillable(self, order: BookOrder) -> bool:
        """Whether ``order`` can fill completely now (FOK), counting what matching would
        really reach: not its own account's orders, and of an OCO group only the first.
        """
        need, limit, buy, account = order.left, order.ticks, order.is_buy, order.account_id
        side = self._asks if buy else self._bids
        levels, sign = side.levels, -1 if buy else 1
        groups: set[tuple[AccountId, str]] = set()
        for key in reversed(side.keys):
            level = levels[sign * key]
            if limit is not None and (level.ticks > limit if buy else level.ticks < limit):
                return False
            for maker in level.orders:
                if not maker.live or maker.account_id == account:
                    continue
                if maker.oco_group is not None:
                    group = (maker.account_id, maker.oco_group)
                    if group in groups:
                        continue
                    groups.add(group)
                need -= maker.left
                if need <= 0:
                    return True
        return False

    def _run_stops(self, at: datetime, reports: Reports) -> None:
        """Trigger and work every stop the trigger price reaches, cascades included."""
        while len(self._stops):
            order = self._stops.pop_triggered(self._high, self._low)
            if order is None:
                return
            order.triggered = True
            reports.append(order.report(self._next_report_id(), _TRIGGERED, order.status, at))
            self._work(order, at, reports)

    # --- bookkeeping ------------------------------------------------------------------------
    def _take_out(self, order: BookOrder) -> None:
        """Remove a working order from wherever it waits (book or stops)."""
        if order.stop_ticks is not None and not order.triggered:
            self._stops.remove(order)
            order.live = False
        else:
            (self._bids if order.is_buy else self._asks).remove(order)

    def _enlist(self, order: BookOrder) -> None:
        self._working[order.account_id, order.client_order_id] = order
        if order.oco_group is not None:
            group = (order.account_id, order.oco_group)
            self._oco.setdefault(group, {})[order.client_order_id] = None

    def _forget(self, order: BookOrder, status: OrderStatus) -> None:
        """``order`` is done: out of the working set, remembered as finished."""
        key = (order.account_id, order.client_order_id)
        self._working.pop(key, None)
        finished = self._finished
        finished[key] = status
        if len(finished) >= self._memory:
            self._finished_old, self._finished = finished, {}
        if order.oco_group is not None:
            group = (order.account_id, order.oco_group)
            members = self._oco.get(group)
            if members is not None:
                members.pop(order.client_order_id, None)
                if not members:
                    del self._oco[group]

    def _end(
        self, order: BookOrder, exec_type: ExecType, reason: str, at: datetime
    ) -> ExecutionReport:
        """Finish ``order`` (already out of the book) as cancelled or expired: its report."""
        order.live = False
        self._forget(order, _CANCELLED)
        return order.report(self._next_report_id(), exec_type, _CANCELLED, at, True, reason)

    def _fire_oco(self, order: BookOrder, at: datetime, reports: Reports) -> None:
        """Cancel the other working orders of ``order``'s OCO group (it just traded)."""
        group = (order.account_id, cast(str, order.oco_group))
        members = self._oco.pop(group, None)
        if members is None:
            return
        reason = f"OCO sibling {order.client_order_id} filled"
        for client_order_id in members:
            sibling = self._working.get((order.account_id, client_order_id))
            if sibling is None or sibling is order or sibling.oco_group != group[1]:
                continue
            self._take_out(sibling)
            reports.append(self._end(sibling, _X_CANCELLED, reason, at))
        if order.left and order.live:
            self._oco[group] = {order.client_order_id: None}

    def _apply(self, order: BookOrder, c: AmendOrder, lots: int, ticks: int | None) -> None:
        if c.quantity is not None:
            order.left += lots - order.lots
            order.quantity, order.lots = c.quantity, lots
        if c.price is not None:
            order.price, order.ticks = c.price, ticks
        if c.stop_price is not None:
            order.stop_price, order.stop_ticks = c.stop_price, to_units(c.stop_price, self._tick)

    # --- reports ----------------------------------------------------------------------------
    def _qty(self, lots: int) -> Decimal:
        quantity = self._quantities.get(lots)
        if quantity is None:
            quantity = Decimal(lots) * self._lot
            if len(self._quantities) < 65_536:
                self._quantities[lots] = quantity
        return quantity

    def _top(self, level: PriceLevel | None) -> tuple[Decimal, Decimal] | None:
        return None if level is None else (level.ticks * self._tick, self._qty(level.size))

    def _refuse_missing(self, c: CancelOrder | AmendOrder, at: datetime) -> CommandRejected:
        """The refusal of a cancel or amend of no working order here."""
        key = (c.account_id, c.client_order_id)
        status = self._finished.get(key) or self._finished_old.get(key)
        if not self._ours(c):
            reason, status = f"order is for another instrument than {self.instrument}", None
        elif status is None:
            reason = "unknown order"
        else:
            reason = f"order is already {status}"
        return command_refused(self._next_report_id(), c, reason, status, at)
