"""What every execution algorithm does: own children, follow their events, stop cleanly.

An algorithm decides only *what to send now* (:meth:`ExecutionAlgorithm._work`, called
after every change that may free quantity: a slice, a tick, a filled or replaced child).
The base sends children through the order manager (so the pre-trade risk checks apply),
follows their events, keeps the parent's lifecycle, applies the reject policy, and
measures the parent as one order against its arrival price. Children never add up to
more than the parent: what is sent is at most the quantity neither filled nor working.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import ClassVar, Generic, TypeVar

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import Clock, TimeEvent
from omoitrade.core.errors import Conflict, NotFound, OmoiError
from omoitrade.execution.algos.children import ChildBook, ChildOrder
from omoitrade.execution.algos.events import (
    AlgoCancelled,
    AlgoChildRejected,
    AlgoChildSent,
    AlgoCompleted,
    AlgoEnded,
    AlgoEvent,
    AlgoExpired,
    AlgoFailed,
    AlgoProgress,
    AlgoStarted,
)
from omoitrade.execution.algos.params import AlgoParams, RejectPolicy
from omoitrade.execution.algos.parent import (
    ALGO_LIFECYCLE,
    AlgoId,
    AlgoStatus,
    AlgoTrigger,
    ParentOrder,
    child_client_order_id,
)
from omoitrade.execution.algos.pricing import ChildPricing, child_terms
from omoitrade.execution.algos.report import AlgoReport, build_report
from omoitrade.execution.order_manager import OrderManager
from omoitrade.execution.order_requests import OrderRequest
from omoitrade.execution.quality import ExecutionQuality
from omoitrade.model.enums import OrderStatus, OrderType
from omoitrade.model.events import (
    OrderCancelled,
    OrderEvent,
    OrderFilled,
    OrderFillEvent,
    OrderRejected,
    OrderSubmitted,
)
from omoitrade.model.identifiers import InstrumentId, OrderId, VenueTradeId
from omoitrade.model.market_data import Quote, TradeTick
from omoitrade.model.money import EXACT, ZERO

P = TypeVar("P", bound=AlgoParams)

_NAMESPACE = uuid.UUID("6f6d6f69-616c-676f-0000-706172656e74")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ENDED: dict[AlgoTrigger, type[AlgoEnded]] = {
    AlgoTrigger.COMPLETE: AlgoCompleted,
    AlgoTrigger.CANCEL: AlgoCancelled,
    AlgoTrigger.FAIL: AlgoFailed,
    AlgoTrigger.EXPIRE: AlgoExpired,
}


@dataclass(frozen=True, slots=True)
class AlgoServices:
    """What an algorithm works with: the order manager, the clock, the bus and quotes."""

    orders: OrderManager
    clock: Clock
    bus: MessageBus
    quote: Callable[[InstrumentId], Quote | None]
    on_end: Callable[[AlgoId], None] | None = None  # told when a parent has ended


class ExecutionAlgorithm(abc.ABC, Generic[P]):
    """A parent order at work; subclasses say what to send (see the module docstring)."""

    name: ClassVar[str]

    def __init__(self, parent: ParentOrder, params: P, services: AlgoServices) -> None:
        instrument = services.orders.instruments.get(parent.instrument_id)
        if instrument is None:
            raise NotFound("instrument", parent.instrument_id)
        parent.check_against(instrument)
        self.parent, self.params, self.services = parent, params, services
        self.instrument = instrument
        self.status: AlgoStatus = ALGO_LIFECYCLE.initial
        self.reason: str | None = None
        self.children = ChildBook()
        self.arrival_price = parent.arrival_price
        self.started_ns: int | None = None
        self.ended_ns: int | None = None
        self._outcome = AlgoTrigger.CANCEL
        self._next_sequence = 1
        self._timers: set[str] = set()
        self._rejects_in_row = 0
        self._paused = False
        self._kicking = self._again = False
        self._adopted: list[tuple[Decimal, Decimal]] = []
        self._quality = ExecutionQuality(services.clock)
        self._quality_id = OrderId(int=uuid.uuid5(_NAMESPACE, str(parent.id)).int)
        self._check()

    # --- what subclasses decide -------------------------------------------------------------
    def _check(self) -> None:
        """Refuse parameters that cannot work with this parent (ValidationError)."""

    def _begin(self) -> None:
        """The parent starts working now (set timers here); :meth:`_work` follows."""

    @abc.abstractmethod
    def _work(self) -> None:
        """Send what should be sent now, if anything (at most one child per call)."""

    def _scheduled_quantity(self) -> Decimal | None:
        """What should be filled by now, for the schedule-adherence report (None: no schedule)."""
        return None

    def on_trade_tick(self, tick: TradeTick) -> None:
        """A trade printed on the parent's instrument (ours included)."""

    def _own_fill(self, trade_id: VenueTradeId, quantity: Decimal) -> None:
        """A child filled ``quantity`` in the trade ``trade_id``."""

    # --- lifecycle --------------------------------------------------------------------------
    @property
    def id(self) -> AlgoId:
        return self.parent.id

    @property
    def is_active(self) -> bool:
        """PENDING or WORKING: it may still send children."""
        return self.status in (AlgoStatus.PENDING, AlgoStatus.WORKING)

    @property
    def is_done(self) -> bool:
        return ALGO_LIFECYCLE.is_terminal(self.status)

    def adopt(self) -> list[ChildOrder]:
        """Take over the children a previous run of this parent sent (found by their
        derived client order ids), so none is sent twice; returns them."""
        orders, parent = self.services.orders, self.parent
        adopted: list[ChildOrder] = []
        while True:
            client_order_id = child_client_order_id(parent.id, self._next_sequence)
            order = orders.order(parent.portfolio_id, client_order_id)
            if order is None:
                return adopted
            child = ChildOrder(
                self._next_sequence,
                client_order_id,
                order.order_type,
                order.quantity,
                order.price,
                (order.created_at - _EPOCH) // timedelta(microseconds=1) * 1000,
                order_id=order.id,
                status=order.status,
                filled=order.filled_quantity,
                reason=order.reject_reason or order.cancel_reason,
            )
            self.children.add(child)
            adopted.append(child)
            if order.filled_quantity > 0 and order.average_fill_price is not None:
                self._adopted.append((order.average_fill_price, order.filled_quantity))
            self._next_sequence += 1

    def start(self) -> None:
        """Begin now, or at the parent's start time if that is later."""
        if self.status is not AlgoStatus.PENDING or self.started_ns is not None:
            raise Conflict(f"algorithm {self.id} was already started")
        start = self.parent.start_ns
        if start is not None and start > self._now():
            self._alarm("start", start, lambda _: self._start_working())
        else:
            self._start_working()

    def cancel(self, reason: str = "requested") -> None:
        """Stop: no more children, the working ones cancelled (CANCELLED once they are)."""
        self._stop(AlgoTrigger.CANCEL, reason)

    def report(self) -> AlgoReport:
        quality, key = self._quality, self._quality_id
        measured = quality.order_report(key) if quality.knows(key) else None
        scheduled = self._scheduled_quantity() if self.status is AlgoStatus.WORKING else None
        return build_report(
            parent=self.parent,
            algorithm=self.name,
            status=self.status,
            reason=self.reason,
            children=self.children,
            quality=measured,
            scheduled=scheduled,
            quote_currency=self.instrument.quote_currency,
            started_ns=self.started_ns,
            ended_ns=self.ended_ns,
            at_ns=self._now(),
        )

    def _start_working(self) -> None:
        if self.status is not AlgoStatus.PENDING:
            return
        self._move(AlgoTrigger.START)
        now = self.started_ns = self._now()
        if self.arrival_price is None:
            quote = self.services.quote(self.parent.instrument_id)
            self.arrival_price = None if quote is None else quote.mid
        self._quality.order_submitted(
            self._quality_id,
            self.instrument,
            self.parent.side,
            self.parent.quantity,
            arrival_price=self.arrival_price,
            limit_price=self.parent.limit_price,
            strategy_id=self.parent.strategy_id,
        )
        for price, quantity in self._adopted:
            self._quality.fill(self._quality_id, price, quantity)
        self._publish(AlgoStarted(self.id, self.name, self.arrival_price, now))
        if self.children.filled() >= self.parent.quantity:
            self._finish(AlgoTrigger.COMPLETE)
            return
        self._begin()
        self._kick()

    def _stop(self, outcome: AlgoTrigger, reason: str) -> None:
        """Stop sending, cancel the working children; the parent ends when they are done."""
        if not self.is_active:
            return
        self._move(AlgoTrigger.STOP)
        self._outcome, self.reason = outcome, reason
        self._cancel_timers()
        for child in self.children.open():
            self._cancel_child(child, f"parent {outcome.lower()}: {reason}")
        self._settle()

    def _settle(self) -> None:
        """A stopping parent ends once none of its children is working."""
        if self.status is not AlgoStatus.STOPPING or self.children.open():
            return
        if self.children.filled() >= self.parent.quantity:
            self.reason = None
            self._finish(AlgoTrigger.COMPLETE)
        else:
            self._finish(self._outcome)

    def _finish(self, trigger: AlgoTrigger) -> None:
        self._move(trigger)
        self.ended_ns = self._now()
        self._cancel_timers()
        self._publish(_ENDED[trigger](self.report()))
        if self.services.on_end is not None:
            self.services.on_end(self.id)

    def _move(self, trigger: AlgoTrigger) -> None:
        self.status = ALGO_LIFECYCLE.next_state(self.status, trigger)

    # --- order events -----------------------------------------------------------------------
    def on_order_event(self, event: OrderEvent) -> bool:
        """Apply an order event; True if it is about one of this parent's children."""
        if isinstance(event, OrderSubmitted):
            child = self.children.by_client(event.client_order_id)
            if child is None or event.portfolio_id != self.parent.portfolio_id:
                return False
            if child.order_id is None:
                self.children.link(child, event.order_id)
            return True
        found = self.children.by_order(event.order_id)
        if found is None:
            return False
        if isinstance(event, OrderFillEvent):
            self._filled(found, event)
        elif isinstance(event, OrderCancelled):
            self._cancelled(found, event.reason)
        elif isinstance(event, OrderRejected):
            self._rejected(found, event.reason)
        return True

    def _filled(self, child: ChildOrder, event: OrderFillEvent) -> None:
        if event.filled_quantity <= child.filled:
            return  # already applied
        quantity = EXACT.subtract(event.filled_quantity, child.filled)
        child.filled = event.filled_quantity
        child.status = OrderStatus.FILLED if isinstance(event, OrderFilled) else OrderStatus.PARTIAL
        self._rejects_in_row = 0
        if self.started_ns is not None:
            self._quality.fill(self._quality_id, event.fill_price, quantity)
        else:  # an adopted child filled before the parent's start
            self._adopted.append((event.fill_price, quantity))
        self._own_fill(event.exchange_trade_id, quantity)
        self._publish(AlgoProgress(self.report()))
        self._child_changed(kick=True)

    def _cancelled(self, child: ChildOrder, reason: str) -> None:
        if not child.is_open:
            return
        child.status, child.reason = OrderStatus.CANCELLED, reason
        if child.cancel_requested or self.status is not AlgoStatus.WORKING:
            self._child_changed(kick=True)  # a replaced child: send its rest again
        elif child.order_type is OrderType.MARKET:
            self._child_changed(kick=False)  # the venue's rest of a market order: retry later
        else:
            self._stop(
                AlgoTrigger.FAIL,
                f"child {child.client_order_id} was cancelled outside the algorithm: {reason}",
            )

    def _rejected(self, child: ChildOrder, reason: str) -> None:
        if not child.is_open:
            return
        child.status, child.reason = OrderStatus.REJECTED, reason
        self._publish(
            AlgoChildRejected(self.id, child.sequence, child.client_order_id, reason, self._now())
        )
        if self.status is AlgoStatus.WORKING:
            self._rejects_in_row += 1
            if (
                self.params.on_reject is RejectPolicy.FAIL
                or self._rejects_in_row > self.params.max_rejects
            ):
                self._stop(AlgoTrigger.FAIL, f"child {child.client_order_id} rejected: {reason}")
                return
            self._pause()
        self._child_changed(kick=False)

    def _child_changed(self, *, kick: bool) -> None:
        if self.status is AlgoStatus.STOPPING:
            self._settle()
        elif self.status is AlgoStatus.WORKING:
            if self.children.filled() >= self.parent.quantity:
                self._finish(AlgoTrigger.COMPLETE)
            elif kick:
                self._kick()

    def _pause(self) -> None:
        """Send nothing until ``retry_after_ns`` has passed (after a rejection)."""
        if self._paused:
            return
        self._paused = True
        self._alarm("retry", self._now() + self.params.retry_after_ns, self._resume)

    def _resume(self, _: TimeEvent) -> None:
        self._paused = False
        self._kick()

    # --- sending ----------------------------------------------------------------------------
    def _kick(self) -> None:
        """Run :meth:`_work` until nothing changes; re-entrant calls (events during a send)
        only ask for one more round."""
        if self._kicking:
            self._again = True
            return
        self._kicking = True
        try:
            again = True
            while again:
                self._again = False
                if self.status is AlgoStatus.WORKING and not self._paused:
                    self._work()
                    self._check_stranded()
                again = self._again
        finally:
            self._kicking = False

    def _check_stranded(self) -> None:
        """Fail a parent whose rest is below the instrument's minimum and can never be sent."""
        free = self.unworked_quantity
        if (
            self.status is AlgoStatus.WORKING
            and 0 < free < self._minimum
            and not self.children.open()
        ):
            self._stop(
                AlgoTrigger.FAIL,
                f"the rest {free} is below the minimum quantity {self.instrument.min_quantity}",
            )

    @property
    def filled_quantity(self) -> Decimal:
        return self.children.filled()

    @property
    def unworked_quantity(self) -> Decimal:
        """Neither filled nor working: what may still be sent."""
        return EXACT.subtract(
            EXACT.subtract(self.parent.quantity, self.children.filled()),
            self.children.working_quantity(),
        )

    @property
    def _minimum(self) -> Decimal:
        return max(self.instrument.min_quantity, self.instrument.lot_size)

    def _child_quantity(self, wanted: Decimal, minimum: Decimal | None = None) -> Decimal | None:
        """``wanted`` in whole lots, at most the unworked quantity and never leaving less
        than the instrument's minimum behind; None when that is below ``minimum`` (the
        instrument's by default) and is not the whole rest."""
        free = self.unworked_quantity
        if free <= ZERO:
            return None
        quantity = min(self.instrument.floor_quantity(wanted), free)
        if free - quantity < self._minimum:
            quantity = free
        if quantity < max(self._minimum, minimum or ZERO) and quantity < free:
            return None
        return quantity if quantity >= self._minimum else None

    def _send_for(
        self, wanted: Decimal, pricing: ChildPricing, minimum: Decimal | None = None
    ) -> ChildOrder | None:
        """Send a child for ``wanted`` (see :meth:`_child_quantity`) priced by ``pricing``;
        None if nothing is due or there is no quote to price it yet."""
        quantity = self._child_quantity(wanted, minimum)
        if quantity is None:
            return None
        quote = self.services.quote(self.parent.instrument_id)
        parent = self.parent
        terms = child_terms(pricing, self.instrument, parent.side, quote, parent.limit_price)
        if terms is None:
            return None
        return self._send(quantity, *terms)

    def _send(self, quantity: Decimal, order_type: OrderType, price: Decimal | None) -> ChildOrder:
        """Submit one child through the order manager."""
        parent, sequence = self.parent, self._next_sequence
        self._next_sequence += 1
        client_order_id = child_client_order_id(parent.id, sequence)
        now = self._now()
        child = ChildOrder(sequence, client_order_id, order_type, quantity, price, now)
        self.children.add(child)
        self._publish(
            AlgoChildSent(self.id, sequence, client_order_id, order_type, quantity, price, now)
        )
        request = OrderRequest(
            parent.portfolio_id,
            parent.instrument_id,
            client_order_id,
            parent.side,
            order_type,
            quantity,
            price=price,
            signal_id=parent.signal_id,
            strategy_id=parent.strategy_id,
            arrival_price=self.arrival_price,
        )
        try:
            order = self.services.orders.submit(request)
        except OmoiError as error:
            child.status, child.reason = OrderStatus.REJECTED, error.message
            self._stop(
                AlgoTrigger.FAIL, f"child {client_order_id} was not submitted: {error.message}"
            )
            return child
        if child.order_id is None:
            self.children.link(child, order.id)
        return child

    def _replace_and_work(self, reason: str) -> None:
        """Cancel the working children, then send what is due: their unfilled rest goes
        out again once their cancels are confirmed, in one child when they all are."""
        outer = not self._kicking
        self._kicking = True
        try:
            for child in self.children.open():
                self._cancel_child(child, reason)
        finally:
            self._kicking = not outer
        self._kick()

    def _cancel_child(self, child: ChildOrder, reason: str) -> None:
        if child.cancel_requested or not child.is_open:
            return
        child.cancel_requested = True
        with suppress(Conflict, NotFound):  # finished meanwhile: its own events say how
            self.services.orders.cancel(self.parent.portfolio_id, child.client_order_id, reason)

    # --- clock and bus ----------------------------------------------------------------------
    def _now(self) -> int:
        return self.services.clock.timestamp_ns()

    def _timer_name(self, name: str) -> str:
        return f"algo-{self.id}-{name}"

    def _every(
        self,
        name: str,
        interval_ns: int,
        callback: Callable[[TimeEvent], None],
        stop_ns: int | None = None,
    ) -> None:
        full = self._timer_name(name)
        self._cancel_timer(full)
        if stop_ns is not None and stop_ns < self._now():
            return
        self.services.clock.set_timer(full, interval_ns, callback, stop_ns=stop_ns)
        self._timers.add(full)

    def _alarm(self, name: str, at_ns: int, callback: Callable[[TimeEvent], None]) -> None:
        full = self._timer_name(name)
        self._cancel_timer(full)
        self.services.clock.set_alarm(full, at_ns, callback)
        self._timers.add(full)

    def _cancel_timer(self, full: str) -> None:
        if full in self._timers:
            self._timers.discard(full)
            with suppress(NotFound):  # an alarm that already fired
                self.services.clock.cancel(full)

    def _cancel_timers(self) -> None:
        for full in sorted(self._timers):
            self._cancel_timer(full)
        self._paused = False

    def _publish(self, event: AlgoEvent) -> None:
        self.services.bus.publish(event.topic, event)
