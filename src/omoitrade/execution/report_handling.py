"""What the order manager does with each venue report, and with commands that got no answer.

Fills apply exactly once, keyed by the venue's trade id (duplicates and replays change
nothing); a status never moves an order backwards (a stale snapshot cannot undo a newer
fill). A command that failed to arrive is sent again after a backoff; one whose outcome
is unclear stays in flight until a targeted query (:meth:`ReportHandling.resolve_in_flight`)
finds it at the venue, or, after a grace window, does not: an unclear cancel or amend that
did not take effect is sent again, on the same retry schedule as a submit. When an order
ends while a cancel-replace waits on it, the order manager hears of it
(``original_finished``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from omoitrade.execution.retry import RetryDecision
from omoitrade.model.enums import DeliveryFailure, ExecType, OrderStatus
from omoitrade.model.events import (
    DomainEvent,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    assembler,
)
from omoitrade.model.identifiers import EventId, TradeId
from omoitrade.model.orders import Order
from omoitrade.model.trades import make_trade
from omoitrade.model.venue import (
    AmendOrder,
    CancelOrder,
    CommandFailed,
    CommandRejected,
    ExecutionReport,
    SubmitOrder,
    VenueAdapter,
    VenueReport,
)

if TYPE_CHECKING:
    from omoitrade.execution.order_manager import OrderManager

Command = SubmitOrder | CancelOrder | AmendOrder
UNKNOWN_REPORT_TOPIC = "execution.unknown_report"  # reports of orders not ours
COMMAND_REJECTED_TOPIC = "execution.command_rejected"  # a cancel or amend the venue refused
_DONE = {ExecType.CANCELLED: "cancelled", ExecType.EXPIRED: "expired"}

# Enum members as module constants: the hot path reads a global, not a class attribute.
_TRADE = ExecType.TRADE
_NEW = ExecType.NEW
_REPLACED = ExecType.REPLACED
_EXPIRED = ExecType.EXPIRED
_FILLED = OrderStatus.FILLED
_PENDING = OrderStatus.PENDING
# Which in-flight command a report of each kind answers (see ``_settle``).
_ANSWERS_SUBMIT = frozenset((ExecType.NEW, ExecType.REJECTED, ExecType.TRADE, ExecType.STATUS))
_ANSWERS_CANCEL = frozenset((ExecType.CANCELLED, ExecType.EXPIRED))
# Events made from values the order and its trade have checked: assembled, not re-checked.
_accepted, _filled = assembler(OrderAccepted), assembler(OrderFilled)
_partially_filled = assembler(OrderPartiallyFilled)


@dataclass(slots=True)
class InFlight:
    """A command sent whose outcome is not known yet."""

    order: Order
    command: Command
    attempts: int
    first_sent_ns: int
    unclear: bool = False  # sent, then a timeout or disconnect: ask before resending


class ReportHandling:
    """The order manager's report side: apply, retry, resolve."""

    def __init__(self, manager: OrderManager) -> None:
        self.manager = manager
        self._in_flight: dict[tuple[object, str], InFlight] = {}
        self._cancel_reasons: dict[Order, str] = {}  # why we asked: kept over the venue's
        self._accounts = frozenset(manager.accounts.values())
        self._by_account = manager.registry.by_account  # bound once: the hot path's lookup
        self._quality = manager.quality

    # --- sending ----------------------------------------------------------------------------
    def sending(self, order: Order, command: Command) -> None:
        """Note ``command`` as sent (again) for ``order``."""
        key = (order, type(command).__name__)
        flight = self._in_flight.get(key)
        if flight is None:
            now = self.manager.clock.timestamp_ns()
            self._in_flight[key] = InFlight(order, command, 1, now)
        else:
            flight.attempts += 1
            flight.command = command

    def cancel_requested(self, order: Order, reason: str) -> None:
        """Remember why we asked to cancel ``order``; its CANCELLED report will say so."""
        self._cancel_reasons[order] = reason

    def awaiting(self, order: Order, command: str) -> bool:
        """Whether a ``command`` (``"CancelOrder"``, say) for ``order`` awaits its answer."""
        return (order, command) in self._in_flight

    def unclear_orders(self) -> list[Order]:
        """Orders with a command whose outcome the venue has not made clear yet."""
        return [f.order for f in self._in_flight.values() if f.unclear]

    # --- reports ----------------------------------------------------------------------------
    def on_report(self, report: VenueReport) -> None:
        if type(report) is ExecutionReport:  # the common case first (exact type: one test)
            if report.account_id in self._accounts:
                self._answered(report)
                self._execution(report)
            return
        if isinstance(report, CommandFailed):
            self._failed(report)
            return
        if report.account_id not in self._accounts:
            return  # another account's report (a venue may send those too)
        if isinstance(report, ExecutionReport):
            self._answered(report)
            self._execution(report)
        elif isinstance(report, CommandRejected):
            self._answered(report)
            order = self.manager.registry.by_account(report.account_id, report.client_order_id)
            if order is not None:
                self._in_flight.pop((order, f"{report.command.title()}Order"), None)
            self.manager.bus.publish(COMMAND_REJECTED_TOPIC, report)

    def _answered(self, report: ExecutionReport | CommandRejected) -> None:
        """The venue answered: a success for its circuit breaker."""
        m = self.manager
        instrument = m.instruments.get(report.instrument_id)
        if instrument is not None:
            breaker = m.breakers.get(instrument.exchange)
            if breaker is not None:
                breaker.record_success()

    def _execution(self, r: ExecutionReport) -> None:
        m = self.manager
        order = self._by_account(r.account_id, r.client_order_id)
        if order is None:
            order = m.find_by_account(r.account_id, r.client_order_id)  # from the journal
            if order is None:
                m.bus.publish(UNKNOWN_REPORT_TOPIC, r)
                return
        kind = r.exec_type
        self._settle(order, kind)
        if kind is _TRADE:
            self._fill(order, r)
            return
        at = r.timestamp
        if not order.is_open:
            return  # a late report of a finished order changes nothing
        events = self._acknowledged(order, r)
        if kind is _NEW:
            pass  # an acknowledgement only: nothing more changes
        elif kind is ExecType.REPLACED:
            order.amend(at, quantity=r.quantity, price=r.price, stop_price=r.stop_price)
            events.append(
                OrderAmended(
                    event_id=m.new_event_id(),
                    occurred_at=at,
                    order_id=order.id,
                    quantity=order.quantity,
                    price=order.price,
                    stop_price=order.stop_price,
                )
            )
        elif kind in _DONE or (kind is ExecType.STATUS and r.order_status is OrderStatus.CANCELLED):
            asked = self._cancel_reasons.pop(order, None)
            if kind is _EXPIRED:
                asked = None  # expired, not cancelled: the venue's reason stands
            reason = asked or r.reason or _DONE.get(kind, "cancelled at the venue")
            order.cancel(reason, at)
            events.append(
                OrderCancelled(
                    event_id=m.new_event_id(), occurred_at=at, order_id=order.id, reason=reason
                )
            )
        elif kind is ExecType.REJECTED or (
            kind is ExecType.STATUS and r.order_status is OrderStatus.REJECTED
        ):
            reason = r.reason or "rejected by the venue"
            order.reject(reason, at)
            events.append(
                OrderRejected(
                    event_id=m.new_event_id(), occurred_at=at, order_id=order.id, reason=reason
                )
            )
        if events:
            m.recorder.record([], [order], events)
            if not order.is_open:
                self._cancel_reasons.pop(order, None)
                m.registry.finished(order)
                if m.replacing:  # a cancel-replace may wait on this order's end
                    cancelled = order.status is OrderStatus.CANCELLED and kind is not _EXPIRED
                    m.original_finished(order, cancelled)

    def _fill(self, order: Order, r: ExecutionReport) -> None:
        m = self.manager
        applied = m.registry.trade_ids(order)
        trade_id = r.trade_id
        if trade_id is None or trade_id in applied:
            return  # a duplicate or replayed fill: already counted
        quantity, price = r.last_quantity, r.last_price
        assert quantity is not None and price is not None, "a TRADE report carries its fill"
        at = r.timestamp
        events = self._acknowledged(order, r)
        order_id = order.id
        trade = make_trade(
            TradeId.new(m.ids),
            order_id,
            order.instrument_id,
            order.side,
            price,
            quantity,
            trade_id,
            at,
            r.commission,
        )
        status = order.apply_trade(trade)
        applied.add(trade_id)
        # The Trade checked price and quantity (positive Decimals): quality need not again.
        self._quality.trusted_fill(order_id, trade.execution_price, trade.quantity)
        # Every value comes from the checked Trade and Order: assembled, not re-checked.
        events.append(
            (_filled if status is _FILLED else _partially_filled)(
                event_id=EventId.new(m.ids),
                occurred_at=trade.executed_at,
                order_id=order_id,
                portfolio_id=order.portfolio_id,
                instrument_id=order.instrument_id,
                side=order.side,
                trade_id=trade.id,
                exchange_trade_id=trade.exchange_trade_id,
                fill_quantity=trade.quantity,
                fill_price=trade.execution_price,
                commission=trade.commission,
                filled_quantity=order.filled_quantity,
                average_fill_price=order.average_fill_price or trade.execution_price,
            )
        )
        m.recorder.record((), (order,), events, (trade,))
        if status is _FILLED:
            self._cancel_reasons.pop(order, None)
            m.registry.finished(order)
            if m.replacing:  # filled before its cancel: no replacement
                m.original_finished(order, False)

    def _acknowledged(self, order: Order, r: ExecutionReport) -> list[DomainEvent]:
        """The first report with the venue's order id acknowledges the order (and a report
        about an order never marked sent marks it sent): OrderAccepted, or nothing."""
        at = r.timestamp
        if order.status is _PENDING:
            order.submit(at)
        venue_order_id = r.venue_order_id
        known = order.exchange_order_id  # (a local: order.exchange_order_id changes below)
        if venue_order_id is None or known is not None:
            return []
        order.acknowledge(venue_order_id, at)
        order_id = order.id
        self._quality.acknowledged_if_known(order_id)
        accepted = _accepted(  # from the order, which just checked the id and the time
            event_id=EventId.new(self.manager.ids),
            occurred_at=at,
            order_id=order_id,
            exchange_order_id=order.exchange_order_id,
        )
        return [accepted]

    def _settle(self, order: Order, kind: ExecType) -> None:
        """A report about ``order`` answers the command it was waiting on."""
        in_flight = self._in_flight
        if in_flight:  # nothing to settle otherwise (and no need to ask the order)
            if kind in _ANSWERS_SUBMIT:
                in_flight.pop((order, "SubmitOrder"), None)
            if kind in _ANSWERS_CANCEL or not order.is_open:
                in_flight.pop((order, "CancelOrder"), None)
            if kind is _REPLACED:
                in_flight.pop((order, "AmendOrder"), None)

    # --- commands without an answer ---------------------------------------------------------
    def _failed(self, failure: CommandFailed, *, count_against_venue: bool = True) -> None:
        m = self.manager
        command = failure.command
        order = m.registry.by_account(command.account_id, command.client_order_id)
        if order is None or not order.is_open:
            return
        key = (order, type(command).__name__)
        flight = self._in_flight.get(key)
        if flight is None:
            return
        instrument = m.instruments[order.instrument_id]
        if count_against_venue and failure.failure is not DeliveryFailure.PERMANENT:
            m.breakers[instrument.exchange].record_failure(failure.reason)
        step = m.retries.after_failure(failure, flight.attempts)
        if step.decision is RetryDecision.QUERY_FIRST:
            flight.unclear = True  # resolve_in_flight asks the venue before anything else
            return
        if step.decision is RetryDecision.GIVE_UP:
            del self._in_flight[key]
            if isinstance(command, SubmitOrder):
                self._reject(order, f"not delivered to the venue: {failure.reason}")
            else:
                m.bus.publish(COMMAND_REJECTED_TOPIC, failure)
            return
        name = f"resend-{order.id}-{type(command).__name__}-{flight.attempts}"
        m.clock.set_alarm(name, m.clock.timestamp_ns() + step.delay_ns, lambda _: self._resend(key))

    def _resend(self, key: tuple[object, str]) -> None:
        flight = self._in_flight.get(key)
        if flight is None or not flight.order.is_open:
            return
        m = self.manager
        if not m.breakers[m.instruments[flight.order.instrument_id].exchange].allow():
            flight.attempts += 1  # the venue's circuit is open: this attempt is spent waiting
            failure = CommandFailed(
                m.clock.utc_now(), flight.command, DeliveryFailure.TRANSIENT, "circuit open"
            )
            self._failed(failure, count_against_venue=False)
            return
        if isinstance(flight.command, SubmitOrder):
            self.manager.send_submit(flight.order)
        else:
            self.manager.send(flight.order, flight.command)

    def close_lost(self, order: Order, reason: str) -> None:
        """Finish an open order its venue does not have (see ``OrderManager.venue_lost``)."""
        if not order.is_open:
            return
        for kind in ("SubmitOrder", "CancelOrder", "AmendOrder"):
            self._in_flight.pop((order, kind), None)
        if order.exchange_order_id is None:
            self._reject(order, reason)
            return
        m = self.manager
        at = m.clock.utc_now()
        order.cancel(reason, at)
        event = OrderCancelled(
            event_id=m.new_event_id(), occurred_at=at, order_id=order.id, reason=reason
        )
        m.recorder.record([], [order], [event])
        m.registry.finished(order)
        if m.replacing:  # lost, not a confirmed cancel: no replacement
            m.original_finished(order, False)

    def _reject(self, order: Order, reason: str) -> None:
        m = self.manager
        at = m.clock.utc_now()
        order.reject(reason, at)
        event = OrderRejected(
            event_id=m.new_event_id(), occurred_at=at, order_id=order.id, reason=reason
        )
        m.recorder.record([], [order], [event])
        m.registry.finished(order)
        if m.replacing:
            m.original_finished(order, False)

    def has_unclear(self) -> bool:
        """Whether any command's outcome is unclear (cheap: for a timer's every tick)."""
        return any(f.unclear for f in self._in_flight.values())

    async def resolve_in_flight(self) -> int:
        """Ask the venue about every unclear command; returns how many are still unclear.

        A submit found at the venue: its state and any fills apply, and nothing is resent.
        Not found: once the grace window since the first send has passed, the order is sent
        again under the same client order id (or rejected when the attempts are spent).
        A cancel or amend: see :meth:`_resolve_change`.
        """
        m = self.manager
        unclear = 0
        for key, flight in list(self._in_flight.items()):
            if not flight.unclear or self._in_flight.get(key) is not flight:
                continue  # clear, or answered while another was resolved
            order, command = flight.order, flight.command
            venue = m.venues[m.instruments[order.instrument_id].exchange]
            status = await venue.order_status(command.account_id, command.client_order_id)
            if status is not None:
                await self._apply_status(venue, order, status)
            if not isinstance(command, SubmitOrder):
                unclear += self._resolve_change(key, flight, status)
                continue
            if status is not None:
                self._in_flight.pop(key, None)
                continue
            waited = m.clock.timestamp_ns() - flight.first_sent_ns
            if waited < m.config.not_found_grace_ns:
                unclear += 1
                continue
            if flight.attempts >= m.config.retry.max_attempts:
                del self._in_flight[key]
                self._reject(order, "not found at the venue after every attempt")
                continue
            flight.unclear = False
            flight.first_sent_ns = m.clock.timestamp_ns()
            m.send_submit(order)
            unclear += int(flight.unclear)
        return unclear

    async def _apply_status(
        self, venue: VenueAdapter, order: Order, status: ExecutionReport
    ) -> None:
        """Apply the venue's ``status`` of ``order``, after any fills it has that we lack."""
        if status.filled_quantity > order.filled_quantity:
            since = order.submitted_at or order.created_at
            for fill in await venue.fills_since(status.account_id, since):
                if fill.client_order_id == status.client_order_id:
                    self.on_report(fill)
        self.on_report(status)

    def _resolve_change(
        self, key: tuple[object, str], flight: InFlight, status: ExecutionReport | None
    ) -> int:
        """An unclear cancel or amend, once the venue's ``status`` of its order is applied.

        The order ended (a cancel that took effect, a fill...): the command leaves flight.
        An amend the venue's order shows: it applies. Otherwise the command is sent again
        (same client order id) on the submits' retry schedule, or given up when its
        attempts are spent. Not found: after the grace window, the order is lost. Returns 1
        while it is still unclear, else 0.
        """
        order, command = flight.order, flight.command
        if self._in_flight.get(key) is not flight:
            return 0  # the status answered it
        if not order.is_open:
            del self._in_flight[key]
            return 0
        m = self.manager
        if status is None:
            if m.clock.timestamp_ns() - flight.first_sent_ns < m.config.not_found_grace_ns:
                return 1
            self.close_lost(order, "not found at the venue")
            return 0
        if isinstance(command, AmendOrder) and _shows(status, command):
            if _shows(order, command):
                del self._in_flight[key]  # nothing left to change here
            else:
                self.on_report(status._replace(exec_type=_REPLACED))
            return 0
        flight.unclear = False
        still = CommandFailed(
            m.clock.utc_now(), command, DeliveryFailure.TRANSIENT, "still working at the venue"
        )
        self._failed(still, count_against_venue=False)  # retry after backoff, or give up
        return 0


def _shows(current: Order | ExecutionReport, amend: AmendOrder) -> bool:
    """Whether ``current`` has every value ``amend`` asks for."""
    return (
        (amend.quantity is None or amend.quantity == current.quantity)
        and (amend.price is None or amend.price == current.price)
        and (amend.stop_price is None or amend.stop_price == current.stop_price)
    )
