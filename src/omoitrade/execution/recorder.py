"""Journal first, then publish: how the order manager writes what changed.

One job: every change to an order is written to the journal (durably) before its events
go on the bus, never the other way. New orders are written at once (before their venue
hears of them), together with whatever waits. The changes a venue's reports make during
one call to the venue are gathered and written once when the call returns, or, with a
group commit (``group_commit_ns``), with the next write or at most that much later (a
clock alarm). See docs/order-management.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import count

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import Clock
from omoitrade.execution.journal import OrderJournal
from omoitrade.model.events import DomainEvent
from omoitrade.model.identifiers import OrderId
from omoitrade.model.orders import Order
from omoitrade.model.trades import Trade


@dataclass(slots=True)
class _Batch:
    """Changes waiting to be written together."""

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


class OrderRecorder:
    """Writes order changes to the journal, then publishes their events."""

    def __init__(
        self, clock: Clock, bus: MessageBus, journal: OrderJournal, group_commit_ns: int
    ) -> None:
        self.clock = clock
        self.bus = bus
        self.journal = journal
        self.group_commit_ns = group_commit_ns
        self._batch: _Batch | None = None  # the current venue call's reports' changes
        self._pending: _Batch | None = None  # changes waiting for a group commit
        self._commits = count(1)

    def record(
        self,
        new: Sequence[Order],
        changed: Sequence[Order],
        events: Sequence[DomainEvent],
        trades: Sequence[Trade] = (),
    ) -> None:
        """Journal the changes durably, then publish their events (see the module docstring)."""
        batch = self._batch
        if batch is not None and not new:
            batch.add(changed, events, trades)
            return
        pending = self._pending
        group_commit_ns = self.group_commit_ns
        if pending is not None and not new and group_commit_ns:
            pending.add(changed, events, trades)
            return
        if pending is not None:
            self._pending = None
            pending.add(changed, events, trades)
            changed, events, trades = list(pending.changed.values()), pending.events, pending.trades
        elif group_commit_ns and not new:
            self._pending = _Batch()
            self._pending.add(changed, events, trades)
            deadline = self.clock.timestamp_ns() + group_commit_ns
            self.clock.set_alarm(f"oms-group-commit-{next(self._commits)}", deadline, self._flush)
            return
        self._write(new, changed, trades, events)

    def write_now(self, changed: Sequence[Order], events: Sequence[DomainEvent]) -> None:
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

    def venue_call_begins(self) -> bool:
        """Gather the reports' changes until :meth:`venue_call_ends`; False when a call is
        already gathering them (a venue call made from within another)."""
        if self._batch is not None:
            return False
        self._batch = _Batch()
        return True

    def venue_call_ends(self) -> None:
        """Record what the venue call's reports changed, in one write."""
        batch, self._batch = self._batch, None
        if batch is not None and batch.events:
            self.record([], list(batch.changed.values()), batch.events, batch.trades)

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

    def _flush(self, _: object) -> None:
        self.flush()
