"""The order manager: submit, cancel, amend; durable before the venue hears of it.

An order's path: ``submit`` -> idempotency by client order id -> instrument rules ->
pre-trade check (risk) -> journal (durable) -> venue. The venue's reports come back
through :meth:`OrderManager.on_report` (see ``execution.report_handling``); every change
is journaled with its event, then published on the bus. At a venue that cannot amend, an
amend is a cancel-replace (:meth:`OrderManager.amend`). Policies are in
docs/order-management.md.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from functools import partial
from itertools import count

from omoitrade.core.bus import MessageBus
from omoitrade.core.circuit_breaker import BreakerState, CircuitBreaker
from omoitrade.core.clock import Clock
from omoitrade.core.errors import Conflict, NotFound
from omoitrade.core.ids import IdGenerator
from omoitrade.execution.journal import OrderJournal
from omoitrade.execution.order_requests import (
    CIRCUIT_TOPIC,
    AmendRefused,
    OrderManagerConfig,
    OrderRequest,
    PreTradeCheck,
    VenueCircuitChanged,
)
from omoitrade.execution.quality import ExecutionQuality
from omoitrade.execution.registry import OrderRegistry
from omoitrade.execution.report_handling import ReportHandling
from omoitrade.execution.retry import RetrySchedule
from omoitrade.model.enums import OrderStatus
from omoitrade.model.events import (
    DomainEvent,
    OrderAmended,
    OrderCancelled,
    OrderRejected,
    OrderSubmitted,
    assembler,
)
from omoitrade.model.fields import slot_builder
from omoitrade.model.identifiers import (
    AccountId,
    ClientOrderId,
    EventId,
    InstrumentId,
    OrderId,
    PortfolioId,
)
from omoitrade.model.instruments import Instrument
from omoitrade.model.orders import Order, order_violations
from omoitrade.model.trades import Trade
from omoitrade.model.venue import (
    AmendOrder,
    CancelOrder,
    ExecutionReport,
    SubmitOrder,
    VenueAdapter,
    capabilities_of,
)

_SUBMITTED = OrderStatus.SUBMITTED  # a module constant: cheaper to read than the class's
_REPLACEMENT_MARK = ".r"  # a replacement's client order id: ORIGINAL.rN (N from 1)
_REPLACED_BY = "replaced by "  # the original's cancel reason, before its replacement's id
_submitted = assembler(OrderSubmitted)
# SubmitOrder's constructor only sets its fields (it checks nothing): built through its slots,
# which costs half as much; should it ever check its values, the constructor is used.
_submit_order = SubmitOrder if hasattr(SubmitOrder, "__post_init__") else slot_builder(SubmitOrder)


@dataclass(slots=True)  # not frozen: a frozen dataclass is slower to build, and this is private
class _NewOrder:
    """A new order made from a request, with its first events, before it is journaled."""

    request: OrderRequest
    order: Order
    instrument: Instrument
    account_id: AccountId
    events: list[DomainEvent]


@dataclass(slots=True)
class _Batch:
    """Changes the reports of one venue call made (see ``OrderManager.send``)."""

    changed: dict[OrderId, Order] = field(default_factory=dict)
    events: list[DomainEvent] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)

    def add(
        self, changed: Sequence[Order], events: Sequence[DomainEvent], trades: Sequence[Trade]
    ) -> None:
        for order in changed:
            self.changed[order.id] = order
        self.events.extend(events)
        self.trades.extend(trades)


class OrderManager:
    """Every order of the portfolios it serves goes through here, and only here."""

    def __init__(
        self,
        *,
        clock: Clock,
        bus: MessageBus,
        journal: OrderJournal,
        venues: Mapping[str, VenueAdapter],
        instruments: Mapping[InstrumentId, Instrument],
        accounts: Mapping[PortfolioId, AccountId],
        pre_trade_check: PreTradeCheck | None = None,
        mid_price: Callable[[InstrumentId], Decimal | None] | None = None,
        ids: IdGenerator | None = None,
        config: OrderManagerConfig | None = None,
    ) -> None:
        self.clock = clock
        self.bus = bus
        self.journal = journal
        self.venues = dict(venues)
        self.instruments = dict(instruments)
        self.accounts = dict(accounts)
        self.config = config or OrderManagerConfig()
        self.ids = ids or IdGenerator(clock.timestamp_ns)
        self._check = pre_trade_check
        self._mid_price = mid_price
        # told of every cancel sent to a venue (the risk engine counts it as a message)
        self.on_cancel_sent: Callable[[Order], object] | None = None
        self._batch: _Batch | None = None
        self._pending: _Batch | None = None  # report changes waiting for a group commit
        self._commits = count(1)
        self.retries = RetrySchedule(self.config.retry, random.Random(self.config.seed))
        self.quality = ExecutionQuality(clock)
        self.breakers: dict[str, CircuitBreaker] = {}
        for code in self.venues:
            breaker = self.breakers[code] = CircuitBreaker(
                f"venue {code}", clock, self.config.breaker
            )
            breaker.on_change(partial(self._circuit_changed, code))
        self.registry = OrderRegistry(self.config.finished_memory)
        self.reports = ReportHandling(self)
        # Venues without amend: amends there are cancel-replaces. A replacement waits,
        # journaled PENDING and kept out of the registry, for its original's cancel.
        self._no_amend = frozenset(
            code for code, venue in self.venues.items() if not capabilities_of(venue).amend
        )
        self.replacing: dict[OrderId, Order] = {}  # original's id -> its waiting replacement
        self._originals: dict[tuple[PortfolioId, ClientOrderId], Order] = {}  # and back
        waiting: list[Order] = []
        for order in journal.open_orders():
            pending = order.status is OrderStatus.PENDING
            if pending and replaced_client_id(order.client_order_id) is not None:
                waiting.append(order)
            else:
                self._remember(order)
        for replacement in waiting:
            self._relink(replacement)
        for venue in self.venues.values():
            venue.on_report(self.reports.on_report)

    # --- commands ---------------------------------------------------------------------------
    def submit(self, request: OrderRequest) -> Order:
        """The order for ``request``: journaled, then sent; or REJECTED with its reason.

        A second submit of the same client order id returns the first order and sends
        nothing; the same id with different fields raises Conflict.
        """
        return self._submit_one(request)  # submit_many of one request, without its detour

    def submit_many(self, requests: Sequence[OrderRequest]) -> list[Order]:
        """Submit several orders with one journal commit (one disk sync), then send each.

        Each request is handled as by :meth:`submit`; an unknown instrument or portfolio,
        or a client order id reused for a different order, raises before anything is
        written.
        """
        if len(requests) == 1:  # the common case, without the bookkeeping of a batch
            return [self._submit_one(requests[0])]
        results: list[Order | _NewOrder] = []
        fresh: dict[tuple[PortfolioId, ClientOrderId], _NewOrder] = {}
        for request in requests:
            key = (request.portfolio_id, request.client_order_id)
            known = fresh.get(key)
            existing = known.order if known else self.registry.by_client(*key)
            if existing is not None:
                results.append(self._resubmitted(request, existing))
                continue
            new = fresh[key] = self._new_order(request)
            results.append(new)
        taken = self._journal_new(list(fresh.values()))
        orders: list[Order] = []
        for result in results:
            if isinstance(result, Order):
                orders.append(result)
                continue
            request = result.request
            replacement = taken.get((request.portfolio_id, request.client_order_id))
            if replacement is not None:
                orders.append(self._resubmitted(request, replacement))
                continue
            orders.append(self._start(result))
        return orders

    def _submit_one(self, request: OrderRequest) -> Order:
        """:meth:`submit_many` of one request (the same steps, without the batch's dicts)."""
        existing = self.registry.by_client(request.portfolio_id, request.client_order_id)
        if existing is not None:
            return self._resubmitted(request, existing)
        new = self._new_order(request)
        taken = self._journal_new([new])
        if taken:  # the journal already held this client order id
            (replacement,) = taken.values()
            return self._resubmitted(request, replacement)
        return self._start(new)

    def _start(self, new: _NewOrder) -> Order:
        """Remember a journaled new order and, unless it was rejected, send it."""
        order = new.order
        self.registry.add(order, new.account_id, set())
        if order.status is _SUBMITTED:
            self._measure(new)
            self.send_submit(order)
        return order

    def _new_order(self, request: OrderRequest) -> _NewOrder:
        """The order for a request, SUBMITTED or REJECTED with its reason, not yet stored."""
        instrument = self.instruments.get(request.instrument_id)
        if instrument is None:
            raise NotFound("instrument", request.instrument_id)
        account_id = self.accounts.get(request.portfolio_id)
        if account_id is None:
            raise NotFound("portfolio account", request.portfolio_id)
        now = self.clock.utc_now()
        order = Order(
            id=OrderId.new(self.ids),
            portfolio_id=request.portfolio_id,
            instrument_id=request.instrument_id,
            client_order_id=request.client_order_id,
            order_type=request.order_type,
            side=request.side,
            quantity=request.quantity,
            price=request.price,
            stop_price=request.stop_price,
            time_in_force=request.time_in_force,
            signal_id=request.signal_id,
            created_at=now,
            oco_group=request.oco_group,
        )
        events: list[DomainEvent] = [self._submitted_event(order)]
        self._judge_new(order, instrument, now, events)
        return _NewOrder(request, order, instrument, account_id, events)

    def _judge_new(
        self, order: Order, instrument: Instrument, now: datetime, events: list[DomainEvent]
    ) -> None:
        """SUBMITTED if the instrument's rules and the pre-trade check pass, else REJECTED
        with its reason (and its event added to ``events``)."""
        problem = self._problem(order, instrument)
        if problem is None:
            order.submit(now)
            return
        order.reject(problem, now)
        events.append(
            OrderRejected(
                event_id=self.new_event_id(), occurred_at=now, order_id=order.id, reason=problem
            )
        )

    def _journal_new(
        self, fresh: list[_NewOrder]
    ) -> dict[tuple[PortfolioId, ClientOrderId], Order]:
        """Journal new orders in one write; returns the older orders of any client order ids
        the journal already held (those new orders are dropped)."""
        if not fresh:
            return {}
        try:
            if len(fresh) == 1:
                self.record((fresh[0].order,), (), fresh[0].events)
            else:
                self.record([n.order for n in fresh], [], [e for n in fresh for e in n.events])
            return {}
        except Conflict:
            if len(fresh) > 1:  # find the taken ids one by one
                taken: dict[tuple[PortfolioId, ClientOrderId], Order] = {}
                for new in fresh:
                    taken.update(self._journal_new([new]))
                return taken
        request = fresh[0].request
        existing = self._known(request.portfolio_id, request.client_order_id)
        if existing is None:
            raise
        return {(request.portfolio_id, request.client_order_id): existing}

    def _measure(self, new: _NewOrder) -> None:
        """Start the execution quality record of a new order, at its arrival price."""
        order, request = new.order, new.request
        arrival = request.arrival_price
        if arrival is None and self._mid_price is not None:
            arrival = self._mid_price(order.instrument_id)
        # A SUBMITTED order passed the instrument's rules: its values need no second check.
        self.quality.trusted_order_submitted(
            order.id,
            new.instrument,
            order.side,
            order.quantity,
            arrival_price=arrival,
            limit_price=order.price,
            strategy_id=request.strategy_id,
        )

    def _resubmitted(self, request: OrderRequest, existing: Order) -> Order:
        if not request.same_order(existing):
            raise Conflict(
                f"client order id {request.client_order_id} is already used for a "
                f"different order ({existing.id})"
            )
        return existing

    def cancel(
        self, portfolio_id: PortfolioId, client_order_id: ClientOrderId, reason: str = "requested"
    ) -> Order:
        """Ask the venue to cancel; the order is CANCELLED when the venue says so.

        Cancelling an order that a cancel-replace is replacing drops the replacement too;
        cancelling a replacement still waiting drops it (its original's cancel goes on).
        """
        order = self._open_order(portfolio_id, client_order_id)
        if self.replacing:  # a cancel-replace waits (rare): this cancel may end it
            original = self._originals.get((portfolio_id, client_order_id))
            if original is not None:  # the waiting replacement itself
                self._drop_replacement(original, reason)
                return order
            if order.id in self.replacing:
                self._drop_replacement(order, f"{client_order_id} was cancelled: {reason}")
        return self._cancel(order, reason)

    def _cancel(self, order: Order, reason: str) -> Order:
        """Cancel ``order``: at once if it was never sent, else by asking its venue."""
        client_order_id = order.client_order_id
        if order.status is OrderStatus.PENDING:  # never sent: nothing to ask the venue
            now = self.clock.utc_now()
            order.cancel(reason, now)
            event = OrderCancelled(
                event_id=self.new_event_id(), occurred_at=now, order_id=order.id, reason=reason
            )
            self.record([], [order], [event])
            self.registry.finished(order)
            if self.replacing:  # a cancel-replace of an order never sent: replace at once
                self.original_finished(order, cancelled=True)
            return order
        account_id = self.registry.account_of(order)
        self.reports.cancel_requested(order, reason)
        if self.on_cancel_sent is not None:
            self.on_cancel_sent(order)
        self.send(order, CancelOrder(account_id, client_order_id, order.instrument_id))
        return order

    def amend(
        self,
        portfolio_id: PortfolioId,
        client_order_id: ClientOrderId,
        *,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> Order:
        """Ask the venue to change a working order; it changes when the venue says REPLACED.

        The amended order must pass the instrument's rules and the pre-trade check, as the
        order it would become (AmendRefused otherwise, and nothing is sent). At a venue
        that cannot amend, it is a cancel-replace (see :meth:`_cancel_replace`); the
        order returned is then the original, whose cancel is on its way.
        """
        order = self._open_order(portfolio_id, client_order_id)
        if self._originals:  # a replacement that waits cannot change before it works
            original = self._originals.get((portfolio_id, client_order_id))
            if original is not None:
                raise Conflict(
                    f"order {client_order_id} waits for the cancel of "
                    f"{original.client_order_id}, which it replaces: amend it once it works"
                )
        instrument = self.instruments[order.instrument_id]
        by_replacing = instrument.exchange in self._no_amend
        if by_replacing and order.id in self.replacing:
            return self._amend_again(order, quantity, price, stop_price)
        proposed = replace(order)
        proposed.amend(self.clock.utc_now(), quantity=quantity, price=price, stop_price=stop_price)
        problem = self._problem(proposed, instrument, order)
        if problem is not None:
            raise AmendRefused(problem)
        if by_replacing:
            return self._cancel_replace(order, proposed)
        command = AmendOrder(
            self.registry.account_of(order),
            client_order_id,
            order.instrument_id,
            quantity=quantity,
            price=price,
            stop_price=stop_price,
        )
        self.send(order, command)
        return order

    def _cancel_replace(self, order: Order, proposed: Order) -> Order:
        """Amend ``order`` at a venue that cannot: journal its replacement (``proposed``'s
        quantity and prices under a client order id derived from the original's), PENDING,
        then ask the venue to cancel ``order``; :meth:`original_finished` sends it."""
        replacement_id = replacement_client_id(order.client_order_id)
        if self._known(order.portfolio_id, replacement_id) is not None:
            raise Conflict(
                f"client order id {replacement_id}, the replacement of "
                f"{order.client_order_id}, is already used"
            )
        replacement = Order(
            id=OrderId.new(self.ids),
            portfolio_id=order.portfolio_id,
            instrument_id=order.instrument_id,
            client_order_id=replacement_id,
            order_type=order.order_type,
            side=order.side,
            quantity=proposed.quantity,  # the new total, until the original's fills are known
            price=proposed.price,
            stop_price=proposed.stop_price,
            time_in_force=order.time_in_force,
            signal_id=order.signal_id,
            created_at=self.clock.utc_now(),
            oco_group=order.oco_group,
        )
        self.record([replacement], [], [self._submitted_event(replacement)])
        self._link(order, replacement)
        return self._cancel(order, f"{_REPLACED_BY}{replacement_id}")

    def _amend_again(
        self,
        order: Order,
        quantity: Decimal | None,
        price: Decimal | None,
        stop_price: Decimal | None,
    ) -> Order:
        """An amend of an order whose cancel-replace waits: the same amend again (a retry)
        sends nothing new, bar the cancel if none is on its way; another raises Conflict."""
        replacement = self.replacing[order.id]
        if (
            (quantity is not None and quantity != replacement.quantity)
            or (price is not None and price != replacement.price)
            or (stop_price is not None and stop_price != replacement.stop_price)
        ):
            raise Conflict(
                f"order {order.client_order_id} is already being replaced by "
                f"{replacement.client_order_id}: amend that one once it works"
            )
        if not self.reports.awaiting(order, "CancelOrder"):  # e.g. lost in a restart
            self._cancel(order, f"{_REPLACED_BY}{replacement.client_order_id}")
        return order

    def original_finished(self, original: Order, cancelled: bool) -> None:
        """``original`` has ended: a replacement waiting on it is sent, for what the
        original left unfilled, if the venue ``cancelled`` it; otherwise (a fill, an
        expiry, a rejection...) or with nothing left, it is dropped, never sent.

        The replacement passes the pre-trade check again, as the new order it is, and is
        journaled (with whatever this venue call changed before) before it is sent.
        """
        replacement = self._unlink(original)
        if replacement is None:
            return
        left = replacement.quantity - original.filled_quantity
        if not cancelled or left <= 0:
            self._finish_replacement(
                replacement,
                f"not sent: {original.client_order_id} was {original.status} "
                f"(filled {original.filled_quantity}) before its cancel took effect",
            )
            return
        now = self.clock.utc_now()
        events: list[DomainEvent] = []
        if left != replacement.quantity:
            replacement.amend(now, quantity=left)
            events.append(
                OrderAmended(
                    event_id=self.new_event_id(),
                    occurred_at=now,
                    order_id=replacement.id,
                    quantity=left,
                    price=replacement.price,
                    stop_price=replacement.stop_price,
                )
            )
        instrument = self.instruments[replacement.instrument_id]
        self._judge_new(replacement, instrument, now, events)
        self._write_now([replacement], events)
        self.registry.add(replacement, self.accounts[replacement.portfolio_id], set())
        if replacement.status is _SUBMITTED:
            quality, mid = self.quality, self._mid_price
            strategy_id = (
                quality.order_report(original.id).strategy_id
                if quality.knows(original.id)
                else None
            )
            quality.trusted_order_submitted(
                replacement.id,
                instrument,
                replacement.side,
                replacement.quantity,
                arrival_price=None if mid is None else mid(replacement.instrument_id),
                limit_price=replacement.price,
                strategy_id=strategy_id,
            )
            self.send_submit(replacement)

    def _drop_replacement(self, original: Order, reason: str) -> None:
        replacement = self._unlink(original)
        if replacement is not None:
            self._finish_replacement(replacement, reason)

    def _finish_replacement(self, replacement: Order, reason: str) -> None:
        """CANCEL a replacement that will never be sent, with ``reason``."""
        now = self.clock.utc_now()
        replacement.cancel(reason, now)
        event = OrderCancelled(
            event_id=self.new_event_id(), occurred_at=now, order_id=replacement.id, reason=reason
        )
        self.record([], [replacement], [event])
        self.registry.add(replacement, self.accounts[replacement.portfolio_id], set())

    def _link(self, original: Order, replacement: Order) -> None:
        self.replacing[original.id] = replacement
        self._originals[replacement.portfolio_id, replacement.client_order_id] = original

    def _unlink(self, original: Order) -> Order | None:
        replacement = self.replacing.pop(original.id, None)
        if replacement is not None:
            del self._originals[replacement.portfolio_id, replacement.client_order_id]
        return replacement

    def _relink(self, replacement: Order) -> None:
        """On start: a journaled replacement still PENDING waits again for its original's
        cancel; one whose original has ended is dropped (nothing is sent from here)."""
        original_id = replaced_client_id(replacement.client_order_id)
        original = None
        if original_id is not None:
            original = self._known(replacement.portfolio_id, original_id)
        if original is None:  # no original: an ordinary PENDING order
            self._remember(replacement)
            return
        self._link(original, replacement)
        if not original.is_open:
            self.original_finished(original, cancelled=False)

    def cancel_all(
        self, portfolio_id: PortfolioId, instrument_id: InstrumentId | None = None,
        reason: str = "cancel all",
    ) -> list[Order]:  # fmt: skip
        """Cancel every open order of the portfolio (of one instrument, if given)."""
        chosen = [
            o
            for o in self.registry.open_orders(portfolio_id)
            if instrument_id is None or o.instrument_id == instrument_id
        ]
        return [self.cancel(portfolio_id, o.client_order_id, reason) for o in chosen]

    # --- queries ----------------------------------------------------------------------------
    def order(self, portfolio_id: PortfolioId, client_order_id: ClientOrderId) -> Order | None:
        return self._known(portfolio_id, client_order_id)

    def open_orders(self, portfolio_id: PortfolioId | None = None) -> list[Order]:
        return self.registry.open_orders(portfolio_id)

    # --- reconciliation -------------------------------------------------------------------
    def apply_venue_report(self, report: ExecutionReport) -> bool:
        """Apply a report fetched from the venue (a fill, a status); True if it changed
        anything. Fills apply once; a status never moves an order backwards."""
        order = self.find_by_account(report.account_id, report.client_order_id)
        before = None if order is None else (order.status, order.filled_quantity)
        self.reports.on_report(report)
        return order is not None and before != (order.status, order.filled_quantity)

    def venue_lost(self, order: Order, reason: str) -> None:
        """The venue has no such order (after a targeted query and the grace window): an
        order it never acknowledged is REJECTED, one it did is CANCELLED, with ``reason``."""
        self.reports.close_lost(order, reason)

    def find_by_account(
        self, account_id: AccountId, client_order_id: ClientOrderId
    ) -> Order | None:
        """The order a venue report is about: in memory, else from the journal."""
        order = self.registry.by_account(account_id, client_order_id)
        if order is None:
            for portfolio_id, account in self.accounts.items():
                if account == account_id:
                    return self._known(portfolio_id, client_order_id)
        return order

    # --- shared with report handling ------------------------------------------------------
    def new_event_id(self) -> EventId:
        return EventId.new(self.ids)

    def record(
        self,
        new: Sequence[Order],
        changed: Sequence[Order],
        events: Sequence[DomainEvent],
        trades: Sequence[Trade] = (),
    ) -> None:
        """Journal the changes durably, then publish their events (never the other way).

        New orders are written at once (before their venue hears of them), together with
        whatever the reports changed and was not written yet. The reports' own changes
        are gathered during a venue call and written when it returns, or, with
        ``group_commit_ns``, with the next write or at most that much later.
        """
        batch = self._batch
        if batch is not None and not new:
            batch.add(changed, events, trades)
            return
        pending = self._pending
        if pending is not None and not new and self.config.group_commit_ns:
            pending.add(changed, events, trades)
            return
        if pending is not None:
            self._pending = None
            pending.add(changed, events, trades)
            changed, events, trades = list(pending.changed.values()), pending.events, pending.trades
        elif self.config.group_commit_ns and not new:
            self._pending = _Batch()
            self._pending.add(changed, events, trades)
            deadline = self.clock.timestamp_ns() + self.config.group_commit_ns
            self.clock.set_alarm(f"oms-group-commit-{next(self._commits)}", deadline, self._flush)
            return
        self._write(new, changed, trades, events)

    def _write(
        self,
        new: Sequence[Order],
        changed: Sequence[Order],
        trades: Sequence[Trade],
        events: Sequence[DomainEvent],
    ) -> None:
        self.journal.write(new, changed, trades, events)
        publish = self.bus.publish
        for event in events:
            publish(event.topic, event)

    def _write_now(self, changed: Sequence[Order], events: Sequence[DomainEvent]) -> None:
        """Journal ``changed`` now, after what waits in this venue call's batch and for a
        group commit (one transaction), so that it is durable before a venue hears of it."""
        combined = _Batch()
        for waiting in (self._pending, self._batch):
            if waiting is not None:
                combined.add(list(waiting.changed.values()), waiting.events, waiting.trades)
        self._pending = None
        if self._batch is not None:
            self._batch = _Batch()  # the rest of this venue call's reports
        combined.add(changed, events, ())
        self._write([], list(combined.changed.values()), combined.trades, combined.events)

    def flush(self) -> None:
        """Write whatever waits for a group commit now (at shutdown, say)."""
        pending = self._pending
        if pending is not None:
            self._pending = None
            self._write([], list(pending.changed.values()), pending.trades, pending.events)

    def _flush(self, _: object) -> None:
        self.flush()

    def send_submit(self, order: Order) -> None:
        """Send ``order`` to its venue (first time, or again after a clear non-delivery)."""
        command: SubmitOrder = _submit_order(
            account_id=self.registry.account_of(order),
            client_order_id=order.client_order_id,
            instrument_id=order.instrument_id,
            side=order.side,
            order_type=order.order_type,
            quantity=order.quantity,
            time_in_force=order.time_in_force,
            price=order.price,
            stop_price=order.stop_price,
            post_only=False,
            oco_group=order.oco_group,
        )
        self.send(order, command)

    def send(self, order: Order, command: SubmitOrder | CancelOrder | AmendOrder) -> None:
        """Send a command about ``order`` to its venue, noting it in flight."""
        venue = self.venues[self.instruments[order.instrument_id].exchange]
        self.reports.sending(order, command)
        outer = self._batch is None  # the reports this call delivers are written once, after it
        if outer:
            self._batch = _Batch()
        try:
            if isinstance(command, SubmitOrder):
                venue.submit(command)
            elif isinstance(command, CancelOrder):
                venue.cancel(command)
            else:
                venue.amend(command)
        finally:
            if outer:
                batch, self._batch = self._batch, None
                if batch is not None and batch.events:
                    self.record([], list(batch.changed.values()), batch.events, batch.trades)

    # --- internals --------------------------------------------------------------------------
    def _circuit_changed(
        self, venue: str, old: BreakerState, new: BreakerState, reason: str
    ) -> None:
        self.bus.publish(CIRCUIT_TOPIC, VenueCircuitChanged(venue, old, new, reason))

    def _submitted_event(self, order: Order) -> OrderSubmitted:
        """OrderSubmitted, assembled from the order's own (checked) values."""
        return _submitted(
            event_id=EventId.new(self.ids),
            occurred_at=order.created_at,
            order_id=order.id,
            client_order_id=order.client_order_id,
            portfolio_id=order.portfolio_id,
            instrument_id=order.instrument_id,
            side=order.side,
            order_type=order.order_type,
            quantity=order.quantity,
            time_in_force=order.time_in_force,
            price=order.price,
            stop_price=order.stop_price,
            signal_id=order.signal_id,
            oco_group=order.oco_group,
        )

    def _problem(
        self, order: Order, instrument: Instrument, before: Order | None = None
    ) -> str | None:
        violations = order_violations(order, instrument)
        if violations:
            return "; ".join(v.message for v in violations)
        breaker = self.breakers.get(instrument.exchange)
        if breaker is not None and not breaker.allow():
            return f"venue {instrument.exchange} is not answering (circuit open)"
        if self._check is not None:
            rejection = self._check(order, before)
            if rejection is not None:
                return f"{rejection.code}: {rejection.reason}"
        return None

    def _known(self, portfolio_id: PortfolioId, client_order_id: ClientOrderId) -> Order | None:
        order = self.registry.by_client(portfolio_id, client_order_id)
        if order is None:
            original = self._originals.get((portfolio_id, client_order_id))
            if original is not None:  # a replacement waiting for its original's cancel
                return self.replacing[original.id]
            order = self.journal.order_by_client_id(portfolio_id, client_order_id)
            if order is not None:
                self._remember(order)
        return order

    def _open_order(self, portfolio_id: PortfolioId, client_order_id: ClientOrderId) -> Order:
        order = self._known(portfolio_id, client_order_id)
        if order is None:
            raise NotFound("order", client_order_id)
        if not order.is_open:
            why = order.cancel_reason or order.reject_reason
            raise Conflict(
                f"order {client_order_id} is already {order.status}" + (f" ({why})" if why else "")
            )
        return order

    def _remember(self, order: Order) -> None:
        """Take a journaled order into memory, with the venue trade ids applied to it."""
        trade_ids = {t.exchange_trade_id for t in self.journal.trades_of(order.id)}
        self.registry.add(order, self.accounts[order.portfolio_id], trade_ids)


def replacement_client_id(client_order_id: str) -> ClientOrderId:
    """The client order id of the order that replaces ``client_order_id`` in a
    cancel-replace: ``X.r1`` for ``X``, ``X.r(N+1)`` for ``X.rN``; always the same, so a
    retry cannot make a second replacement. AmendRefused when it would be too long."""
    head, number = _replacement_parts(client_order_id)
    candidate = f"{head}{_REPLACEMENT_MARK}{number + 1}"
    if len(candidate) > ClientOrderId.max_length:
        raise AmendRefused(
            f"client order id {client_order_id} is too long to name its replacement: "
            f"{candidate} would exceed {ClientOrderId.max_length} characters"
        )
    return ClientOrderId(candidate)


def replaced_client_id(client_order_id: str) -> ClientOrderId | None:
    """The client order id that a replacement's id names (see
    :func:`replacement_client_id`); None for an id of no replacement."""
    head, number = _replacement_parts(client_order_id)
    if number == 0:
        return None
    return ClientOrderId(head if number == 1 else f"{head}{_REPLACEMENT_MARK}{number - 1}")


def _replacement_parts(client_order_id: str) -> tuple[str, int]:
    """``(X, N)`` for ``X.rN``; ``(the id, 0)`` for an id of no replacement."""
    head, mark, tail = client_order_id.rpartition(_REPLACEMENT_MARK)
    if mark and head and tail.isdigit() and tail[0] != "0":
        return head, int(tail)
    return client_order_id, 0
