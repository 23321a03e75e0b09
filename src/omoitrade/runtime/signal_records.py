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

    Pass :meth:`save` as the pipeline's ``sink``; it subscribes to the events itself.
    """

    def __init__(self, database: Database, bus: MessageBus) -> None:
        self.database = database
        bus.subscribe("events.signal.*", self._store_event, priority=100)
        bus.subscribe("events.trade.*", self._store_event, priority=100)

    def save(self, signal: Signal) -> None:
        with self.database.transaction() as uow:
            if uow.signals.find(signal.id) is None:
                uow.signals.add(signal)
            else:
                uow.signals.update(signal)

    def _store_event(self, event: DomainEvent) -> None:
        with self.database.transaction() as uow:
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
