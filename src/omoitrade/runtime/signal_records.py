"""Signals in the store: their rows kept current, their events stored, and the chain of a
signal (signal -> orders -> trades -> settled P&L) read back in one call."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from omoitrade.core.bus import MessageBus
from omoitrade.model.enums import OrderSide
from omoitrade.model.events import DomainEvent, SignalSettled, TradePhaseChanged
from omoitrade.model.identifiers import SignalId
from omoitrade.model.orders import Order
from omoitrade.model.signals import Signal
from omoitrade.model.trades import Trade
from omoitrade.store import Database


class SignalRecorder:
    """Stores every signal change (as its row) and every signal and phase event.

    Pass :meth:`save` as the pipeline's ``sink``; it subscribes to the events itself. The
    pipeline hands a changed signal over just before the event that says so, and both are
    written in one transaction (one disk sync, not two).
    """

    def __init__(self, database: Database, bus: MessageBus) -> None:
        self.database = database
        self._changed: Signal | None = None
        bus.subscribe("events.signal.*", self._store_event, priority=100)
        bus.subscribe("events.trade.*", self._store_event, priority=100)

    def save(self, signal: Signal) -> None:
        """Keep ``signal``'s row current: written with the event about to announce it."""
        if self._changed is not None and self._changed is not signal:
            self._write(None)  # an earlier change that no event followed
        self._changed = signal

    def _store_event(self, event: DomainEvent) -> None:
        self._write(event)

    def _write(self, event: DomainEvent | None) -> None:
        signal, self._changed = self._changed, None
        with self.database.transaction() as uow:
            if signal is not None:
                if uow.signals.find(signal.id) is None:
                    uow.signals.add(signal)
                else:
                    uow.signals.update(signal)
            if event is not None:
                uow.events.append(event)


@dataclass(frozen=True, slots=True)
class SignalChain:
    """A signal with everything it led to."""

    signal: Signal
    events: list[DomainEvent]  # the signal's own events and its trade's phase changes
    orders: list[Order]
    trades: list[Trade]

    @property
    def net_quantity(self) -> Decimal:
        """What the chain's trades leave in the position (zero once settled)."""
        return sum(
            (t.quantity if t.side is OrderSide.BUY else -t.quantity for t in self.trades),
            Decimal(0),
        )

    @property
    def settlement(self) -> SignalSettled | None:
        return next((e for e in self.events if isinstance(e, SignalSettled)), None)


def signal_chain(database: Database, signal_id: SignalId) -> SignalChain:
    """The stored chain of one signal; NotFound if the signal is not stored."""
    with database.transaction(write=False) as uow:
        signal = uow.signals.get(signal_id)
        own = uow.events.stream(signal_id)
        phases: list[DomainEvent] = [
            e
            for e in uow.events.stream(signal.strategy_id)
            if isinstance(e, TradePhaseChanged) and e.signal_id == signal_id
        ]
        orders = uow.orders.for_signal(signal_id)
        trades = [t for o in orders for t in uow.trades.for_order(o.id)]
    events = sorted(own + phases, key=lambda e: (e.occurred_at, e.event_id))
    return SignalChain(signal, events, orders, trades)
