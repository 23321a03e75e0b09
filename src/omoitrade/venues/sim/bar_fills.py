"""Filling orders against bars, for bar-based backtests.

Three fill models, each a rule about which prices of a bar trade:

- ``next-open`` (default): a bar's open is the one price at which anything
  trades. An order placed after bar *t* closed is worked from bar *t+1*: a
  market order fills at that open; a limit fills there if the open is at or
  better than its price; a stop triggers if the open is at or through it and
  fills at the open.
- ``close``: a bar's close is the one price. A market order fills at once at
  the close of the latest bar; resting limits and stops are checked at each
  later close.
- ``ohlc``: market orders fill at the next open; limits and stops trade inside
  the bar when its range (low..high) reaches them, at their own price, or at
  the open when the bar opens beyond them (a gap). When several orders
  trigger in one bar — a stop loss and a take profit both inside the range,
  say — the adverse one fills first: the lowest sell and the highest buy.

Slippage (see :mod:`slippage`) applies to market and stop fills, never to
limit fills. A participation cap limits our fills in one bar to a fraction
of its volume; what is left keeps working (an IOC's remainder expires; a FOK
that cannot fill completely expires unfilled). IOC and FOK orders get one bar.
DAY orders expire at the first session close after they were placed. Limit
fills pay the maker fee, market and stop fills the taker fee. When an order of
an OCO group fills, its siblings are cancelled before anything else trades,
so a stop loss and a take profit never both fill.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import count

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
from omoitrade.model.market_data import Bar
from omoitrade.model.money import ZERO
from omoitrade.model.venue import (
    AmendOrder,
    CancelOrder,
    CommandRejected,
    ExecutionReport,
    SubmitOrder,
    VenueReport,
)
from omoitrade.venues.sim.reports import command_refused, order_rejected
from omoitrade.venues.sim.slippage import NoSlippage, SlippageModel
from omoitrade.venues.sim.validation import price_problem, quantity_problem, submit_problem


class FillModel(StrEnum):
    NEXT_OPEN = "next-open"
    CLOSE = "close"
    OHLC = "ohlc"


@dataclass(frozen=True, slots=True)
class BarFillConfig:
    """How bars fill orders: the model, slippage, participation cap, fees and session close."""

    fill_model: FillModel = FillModel.NEXT_OPEN
    slippage: SlippageModel = field(default_factory=NoSlippage)
    participation_cap: Decimal | None = None  # fraction of a bar's volume, 0 < cap <= 1
    maker_fee: Decimal = ZERO  # rate on the fill's value
    taker_fee: Decimal = ZERO
    session_close: time = time(0, 0)  # UTC; DAY orders expire at the first one after placing


class _Working:
    """A working order and its fill state."""

    __slots__ = (
        "command",
        "expires_at",
        "filled",
        "funded",
        "price",
        "quantity",
        "seq",
        "stop_price",
        "triggered",
        "venue_order_id",
    )

    def __init__(self, command: SubmitOrder, venue_order_id: VenueOrderId, seq: int) -> None:
        self.command = command
        self.venue_order_id = venue_order_id
        self.seq = seq
        self.quantity = command.quantity
        self.price = command.price
        self.stop_price = command.stop_price
        self.filled = ZERO
        self.triggered = False
        self.expires_at: datetime | None = None
        self.funded = True  # False: a market order the exchange could not price as it came

    @property
    def leaves(self) -> Decimal:
        return self.quantity - self.filled

    @property
    def status(self) -> OrderStatus:
        return OrderStatus.PARTIAL if self.filled else OrderStatus.SUBMITTED


class BarExecutionSimulator:
    """Works the orders of one instrument against its bars; every outcome is a report."""

    def __init__(
        self,
        instrument: Instrument,
        config: BarFillConfig | None = None,
        *,
        id_prefix: str = "SIM",
        next_report_id: Callable[[], int] | None = None,
    ) -> None:
        self.instrument = instrument
        self.config = config or BarFillConfig()
        self._prefix = id_prefix
        self._next_report_id = next_report_id or count(1).__next__
        self._order_seq = count(1)
        self._trade_seq = count(1)
        self._working: dict[tuple[AccountId, ClientOrderId], _Working] = {}
        self._last_bar: Bar | None = None
        self._volume_left: Decimal | None = None  # of the latest bar, under a participation cap
        self._bar_mark = 0  # orders with a higher sequence came after the latest bar began
        self._last_order_seq = 0
        # Set by the exchange: ``booking`` books each report of a bar in the accounts as it
        # is made (so a later order of the bar sees the cash the earlier ones used), and
        # ``funding`` says why the account cannot pay for (command, quantity, price), asked
        # before a market order that came unpriced first trades.
        self.booking: Callable[[ExecutionReport], None] | None = None
        self.funding: Callable[[SubmitOrder, Decimal, Decimal], str | None] | None = None

    # --- commands ---------------------------------------------------------------------------
    def submit(self, command: SubmitOrder, at: datetime) -> list[ExecutionReport]:
        key = (command.account_id, command.client_order_id)
        problem = submit_problem(command, self.instrument)
        if problem is None and key in self._working:
            problem = f"client order id {command.client_order_id} is already working"
        if problem is not None:
            return [order_rejected(self._next_report_id(), command, problem, at)]
        seq = self._last_order_seq = next(self._order_seq)
        order = _Working(command, VenueOrderId(f"{self._prefix}-{seq}"), seq)
        if command.time_in_force is TimeInForce.DAY:
            order.expires_at = self._session_close_after(at)
        if command.order_type is OrderType.MARKET and self.market_price() is None:
            order.funded = False  # its price is a coming bar's: funded as it trades
        self._working[key] = order
        reports = [self._report(order, ExecType.NEW, at)]
        last_bar = self._last_bar
        if (
            self.config.fill_model is FillModel.CLOSE
            and last_bar is not None
            and command.order_type is OrderType.MARKET
        ):
            reports += self._work(order, last_bar, last_bar.close, at)
        return reports

    def cancel(self, command: CancelOrder, at: datetime) -> list[VenueReport]:
        order = self._working.pop((command.account_id, command.client_order_id), None)
        if order is None:
            return [self._refuse(command, "no such working order", None, at)]
        return [self._report(order, ExecType.CANCELLED, at, done=True, reason="cancelled")]

    def amend(self, command: AmendOrder, at: datetime) -> list[VenueReport]:
        order = self._working.get((command.account_id, command.client_order_id))
        if order is None:
            return [self._refuse(command, "no such working order", None, at)]
        problem = self._amend_problem(order, command)
        if problem is not None:
            return [self._refuse(command, problem, order.status, at)]
        order.quantity = command.quantity if command.quantity is not None else order.quantity
        order.price = command.price if command.price is not None else order.price
        order.stop_price = (
            command.stop_price if command.stop_price is not None else order.stop_price
        )
        return [self._report(order, ExecType.REPLACED, at)]

    def open_orders(self, account_id: AccountId, at: datetime) -> list[ExecutionReport]:
        return [
            self._report(order, ExecType.STATUS, at)
            for (account, _), order in self._working.items()
            if account == account_id
        ]

    def market_price(self) -> Decimal | None:
        """The price a market order sent now trades at, when it is known: under the
        ``close`` model the latest bar's close (before slippage); None under the others (it
        trades at the next bar's open) and before the first bar."""
        last_bar = self._last_bar
        if last_bar is None or self.config.fill_model is not FillModel.CLOSE:
            return None
        return last_bar.close

    # --- bars -------------------------------------------------------------------------------
    def on_bar(self, bar: Bar) -> list[ExecutionReport]:
        """Work every order against ``bar`` (call before strategies see the bar)."""
        at = bar.timestamp
        self._bar_mark = self._last_order_seq
        if not self._working:  # most bars: nothing to work, only the bar's volume to note
            self._volume_left = self._cap(bar)
            self._last_bar = bar
            return []
        reports: list[ExecutionReport] = []
        for order in list(self._working.values()):
            if order.expires_at is not None and at >= order.expires_at:
                expired = self._finish(order, ExecType.EXPIRED, at, "DAY order expired")
                reports += self._booked([expired])
        self._volume_left = self._cap(bar)
        model = self.config.fill_model
        candidates = []
        for order in list(self._working.values()):
            if model is FillModel.CLOSE and order.command.order_type is OrderType.MARKET:
                price: Decimal | None = bar.close  # placed before this bar: fills at its close
            else:
                price = self._trade_price(order, bar, model)
            if price is not None:
                candidates.append((self._fill_priority(order, price), order, price))
            elif order.command.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
                expired = self._finish(order, ExecType.EXPIRED, at, "not marketable")
                reports += self._booked([expired])
        for _, order, price in sorted(candidates, key=lambda c: c[0]):
            if (order.command.account_id, order.command.client_order_id) in self._working:
                reports += self._booked(self._work(order, bar, price, at))
        self._last_bar = bar
        return reports

    def _booked(self, reports: list[ExecutionReport]) -> list[ExecutionReport]:
        """``reports``, booked in the accounts at once (see ``booking``)."""
        booking = self.booking
        if booking is not None:
            for report in reports:
                booking(report)
        return reports

    def on_rest_of_bar(self, bar: Bar) -> list[ExecutionReport]:
        """``ohlc``: work the stops and limits placed while ``bar`` was being worked (a
        stop loss and take profit sent when the entry filled at the open) against the rest
        of the bar's range, adverse first; other models and market orders wait for the
        next bar. Returns nothing when no such order came."""
        if self.config.fill_model is not FillModel.OHLC or bar is not self._last_bar:
            return []
        mark, self._bar_mark = self._bar_mark, self._last_order_seq
        fresh = [
            o
            for o in self._working.values()
            if o.seq > mark and o.command.order_type is not OrderType.MARKET
        ]
        candidates = []
        for order in fresh:
            price = self._trade_price(order, bar, FillModel.OHLC)
            if price is not None:
                candidates.append((self._fill_priority(order, price), order, price))
        reports: list[ExecutionReport] = []
        for _, order, price in sorted(candidates, key=lambda c: c[0]):
            if (order.command.account_id, order.command.client_order_id) in self._working:
                reports += self._work(order, bar, price, bar.timestamp)
        return reports

    def _trade_price(self, order: _Working, bar: Bar, model: FillModel) -> Decimal | None:
        """The reference price at which ``order`` trades in ``bar``, or None if it does not."""
        kind, buy = order.command.order_type, order.command.side is OrderSide.BUY
        if kind is OrderType.MARKET:
            return bar.open
        low, high = (bar.low, bar.high) if model is FillModel.OHLC else _one_price(bar, model)
        opening = bar.open if model is FillModel.OHLC else low
        if kind in (OrderType.STOP, OrderType.STOP_LIMIT) and not order.triggered:
            stop = order.stop_price
            assert stop is not None
            if not (high >= stop if buy else low <= stop):
                return None
            order.triggered = True
            trigger = max(opening, stop) if buy else min(opening, stop)
            if kind is OrderType.STOP:
                return trigger
            assert order.price is not None
            return trigger if (trigger <= order.price if buy else trigger >= order.price) else None
        if kind is OrderType.STOP:  # triggered on an earlier bar, part left (a cap): a market
            return opening  # order now, at the bar's first price (its close under ``close``)
        limit = order.price
        assert limit is not None
        if buy:
            return min(opening, limit) if low <= limit else None
        return max(opening, limit) if high >= limit else None

    @staticmethod
    def _fill_priority(order: _Working, price: Decimal) -> tuple[int, Decimal, int]:
        """Market orders first, then adverse-first: lowest sells, highest buys."""
        market = 0 if order.command.order_type is OrderType.MARKET else 1
        adverse = price if order.command.side is OrderSide.SELL else -price
        return market, adverse, order.seq

    def _work(
        self, order: _Working, bar: Bar, reference: Decimal, at: datetime
    ) -> list[ExecutionReport]:
        command = order.command
        quantity = order.leaves
        if self._volume_left is not None:
            quantity = min(quantity, self._volume_left)
        tif = command.time_in_force
        if quantity <= 0 or (tif is TimeInForce.FOK and quantity < order.leaves):
            if tif in (TimeInForce.IOC, TimeInForce.FOK):
                return [self._finish(order, ExecType.EXPIRED, at, "not enough volume in the bar")]
            return []
        if not order.funded:
            order.funded = True
            funding = self.funding
            problem = None if funding is None else funding(command, order.leaves, reference)
            if problem is not None:  # the account cannot pay at the price it would trade at
                return [self._finish(order, ExecType.CANCELLED, at, problem)]
        maker = command.order_type is OrderType.LIMIT or (
            command.order_type is OrderType.STOP_LIMIT and reference == order.price
        )
        price = reference
        if not maker:
            price = self.config.slippage.fill_price(
                self.instrument, command.side, reference, quantity, bar.volume
            )
        if self._volume_left is not None:
            self._volume_left -= quantity
        order.filled += quantity
        fee = self.config.maker_fee if maker else self.config.taker_fee
        reports = [
            self._report(
                order,
                ExecType.TRADE,
                at,
                done=order.leaves == 0,
                last=(quantity, price),
                liquidity=Liquidity.MAKER if maker else Liquidity.TAKER,
                commission=price * quantity * fee,
            )
        ]
        if order.leaves == 0:
            del self._working[(command.account_id, command.client_order_id)]
        elif tif is TimeInForce.IOC:
            reports.append(self._finish(order, ExecType.EXPIRED, at, "IOC remainder"))
        if command.oco_group is not None:
            reports += self._cancel_siblings(order, at)
        return reports

    def _cancel_siblings(self, filled: _Working, at: datetime) -> list[ExecutionReport]:
        group, account = filled.command.oco_group, filled.command.account_id
        siblings = [
            order
            for order in self._working.values()
            if order is not filled
            and order.command.oco_group == group
            and order.command.account_id == account
        ]
        reason = f"OCO sibling {filled.command.client_order_id} filled"
        return [self._finish(order, ExecType.CANCELLED, at, reason) for order in siblings]

    def _cap(self, bar: Bar) -> Decimal | None:
        cap = self.config.participation_cap
        if cap is None:
            return None
        return self.instrument.floor_quantity(bar.volume * cap)

    # --- helpers ----------------------------------------------------------------------------
    def _refuse(
        self,
        command: AmendOrder | CancelOrder,
        reason: str,
        status: OrderStatus | None,
        at: datetime,
    ) -> CommandRejected:
        return command_refused(self._next_report_id(), command, reason, status, at)

    def _amend_problem(self, order: _Working, command: AmendOrder) -> str | None:
        if command.quantity is not None:
            if problem := quantity_problem(command.quantity, self.instrument):
                return problem
            if command.quantity <= order.filled:
                return f"quantity {command.quantity} must exceed the filled {order.filled}"
        for name, value, current in (
            ("price", command.price, order.price),
            ("stop price", command.stop_price, order.stop_price),
        ):
            if value is not None:
                if current is None:
                    return f"a {order.command.order_type} order takes no {name}"
                if problem := price_problem(name, value, self.instrument):
                    return problem
        return None

    def _session_close_after(self, at: datetime) -> datetime:
        close = datetime.combine(at.date(), self.config.session_close, tzinfo=at.tzinfo)
        return close if close > at else close + timedelta(days=1)

    def _finish(
        self, order: _Working, exec_type: ExecType, at: datetime, reason: str
    ) -> ExecutionReport:
        self._working.pop((order.command.account_id, order.command.client_order_id), None)
        return self._report(order, exec_type, at, done=True, reason=reason)

    def _report(
        self,
        order: _Working,
        exec_type: ExecType,
        at: datetime,
        *,
        done: bool = False,
        reason: str | None = None,
        last: tuple[Decimal, Decimal] | None = None,
        liquidity: Liquidity | None = None,
        commission: Decimal = ZERO,
    ) -> ExecutionReport:
        command = order.command
        if exec_type is ExecType.TRADE:
            status = OrderStatus.FILLED if done else OrderStatus.PARTIAL
        elif done:
            status = OrderStatus.CANCELLED
        else:
            status = order.status
        return ExecutionReport(
            report_id=self._next_report_id(),
            exec_type=exec_type,
            timestamp=at,
            account_id=command.account_id,
            instrument_id=command.instrument_id,
            client_order_id=command.client_order_id,
            venue_order_id=order.venue_order_id,
            side=command.side,
            order_type=command.order_type,
            time_in_force=command.time_in_force,
            order_status=status,
            quantity=order.quantity,
            filled_quantity=order.filled,
            leaves_quantity=ZERO if done else order.leaves,
            price=order.price,
            stop_price=order.stop_price,
            last_quantity=last[0] if last else None,
            last_price=last[1] if last else None,
            trade_id=VenueTradeId(f"{self._prefix}-T{next(self._trade_seq)}") if last else None,
            liquidity=liquidity,
            commission=commission,
            commission_currency=self.instrument.quote_currency if last else None,
            reason=reason,
        )


def _one_price(bar: Bar, model: FillModel) -> tuple[Decimal, Decimal]:
    """The single traded price of a bar under ``next-open`` or ``close``, as (low, high)."""
    price = bar.open if model is FillModel.NEXT_OPEN else bar.close
    return price, price
