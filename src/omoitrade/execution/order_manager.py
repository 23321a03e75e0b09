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
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from functools import partial

from omoitrade.core.bus import MessageBus
from omoitrade.core.circuit_breaker import BreakerState, CircuitBreaker
from omoitrade.core.clock import Clock
from omoitrade.core.errors import Conflict, NotFound
from omoitrade.core.ids import IdGenerator
from omoitrade.execution.cancel_replace import (
    Replacements,
    replaced_client_id,
)
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
from omoitrade.execution.recorder import OrderRecorder
from omoitrade.execution.registry import OrderRegistry
from omoitrade.execution.report_handling import ReportHandling
from omoitrade.execution.retry import RetrySchedule
from omoitrade.model.enums import OrderStatus
from omoitrade.model.events import (
    DomainEvent,
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
    StrategyId,
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
        # journal first, then publish; the reports of one venue call written together
        self.recorder = OrderRecorder(clock, bus, journal, self.config.group_commit_ns)
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
        self.replacements = Replacements(self)
        self.replacing = self.replacements.waiting  # original's id -> its waiting replacement
        waiting: list[Order] = []
        for order in journal.open_orders():
            pending = order.status is OrderStatus.PENDING
            if pending and replaced_client_id(order.client_order_id) is not None:
                waiting.append(order)
            else:
                self._remember(order)
        for replacement in waiting:
            self.replacements.relink(replacement)
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
            original = self.replacements.original_of(portfolio_id, client_order_id)
            if original is not None:  # the waiting replacement itself
                self.replacements.drop(original, reason)
                return order
            if order.id in self.replacing:
                self.replacements.drop(order, f"{client_order_id} was cancelled: {reason}")
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
        that cannot amend, it is a cancel-replace (``execution.cancel_replace``); the
        order returned is then the original, whose cancel is on its way.
        """
        order = self._open_order(portfolio_id, client_order_id)
        if self.replacing:  # a replacement that waits cannot change before it works
            original = self.replacements.original_of(portfolio_id, client_order_id)
            if original is not None:
                raise Conflict(
                    f"order {client_order_id} waits for the cancel of "
                    f"{original.client_order_id}, which it replaces: amend it once it works"
                )
        instrument = self.instruments[order.instrument_id]
        by_replacing = instrument.exchange in self._no_amend
        if by_replacing and order.id in self.replacing:
            return self.replacements.amend_again(order, quantity, price, stop_price)
        proposed = replace(order)
        proposed.amend(self.clock.utc_now(), quantity=quantity, price=price, stop_price=stop_price)
        problem = self._problem(proposed, instrument, order)
        if problem is not None:
            raise AmendRefused(problem)
        if by_replacing:
            return self.replacements.start(order, proposed)
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

    def original_finished(self, original: Order, cancelled: bool) -> None:
        """``original`` has ended: a cancel-replace waiting on it goes on (see
        :meth:`Replacements.original_finished`)."""
        self.replacements.original_finished(original, cancelled)

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
        """Journal the changes durably, then publish their events (see ``recorder``)."""
        self.recorder.record(new, changed, events, trades)

    def flush(self) -> None:
        """Write whatever waits for a group commit now (at shutdown, say)."""
        self.recorder.flush()

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
        recorder = self.recorder
        outer = recorder.venue_call_begins()  # its reports' changes: written once, after it
        try:
            if isinstance(command, SubmitOrder):
                venue.submit(command)
            elif isinstance(command, CancelOrder):
                venue.cancel(command)
            else:
                venue.amend(command)
        finally:
            if outer:
                recorder.venue_call_ends()

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
            strategy_id=self.strategy_asking(order),
        )

    def strategy_asking(self, order: Order) -> StrategyId | None:
        """The strategy that asks for ``order`` (recorded in its OrderSubmitted): None here;
        the trading node's order manager knows it."""
        return None

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
            original = self.replacements.original_of(portfolio_id, client_order_id)
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
