"""The signal pipeline's shared machinery: its services, the open trades, the queue that
runs reactions after the call that caused them, and the steps every phase uses (placing,
cancelling and amending orders, recording signal outcomes, phase changes, events)."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from omoitrade.core.approvals import ApprovalDesk
from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import Clock
from omoitrade.core.errors import OmoiError
from omoitrade.core.ids import IdGenerator
from omoitrade.model.enums import OrderSide, OrderType
from omoitrade.model.events import (
    DomainEvent,
    OrderEvent,
    SignalExpired,
    SignalRejected,
    SignalValidated,
    TradePhaseChanged,
    assembler,
)
from omoitrade.model.identifiers import (
    ClientOrderId,
    EventId,
    InstrumentId,
    OrderId,
    SignalId,
    StrategyId,
)
from omoitrade.model.instruments import Instrument
from omoitrade.model.signals import Signal
from omoitrade.model.state_machines import TRADE_PHASES, PhaseTrigger
from omoitrade.signals.plan import SettingsBook
from omoitrade.signals.ports import MarketView, OrderPort, RiskPreview, StrategyControl
from omoitrade.signals.trade import Role, SignalTrade
from omoitrade.signals.validation import Validator

EXITS = (Role.STOP_LOSS, Role.TAKE_PROFIT)
# the client order id that a cancel-replace's replacement replaces, None for any other id
# (the order manager's ``replaced_client_id``, wired by the runtime: signals cannot import it)
ReplacedId = Callable[[ClientOrderId], ClientOrderId | None]
# the builders of the events every signal has (assembled unchecked: see ``_emit``)
_VALIDATED, _PHASE_CHANGED = assembler(SignalValidated), assembler(TradePhaseChanged)


class PipelineCore:
    """What every phase of :class:`~omoitrade.signals.pipeline.SignalPipeline` shares."""

    # the handler of the signals' order events: the management phase's (TradeManagement)
    _on_order_event: Callable[[OrderEvent], None]

    def __init__(
        self,
        *,
        clock: Clock,
        bus: MessageBus,
        ids: IdGenerator,
        instruments: Mapping[InstrumentId, Instrument],
        orders: OrderPort,
        risk: RiskPreview,
        market: MarketView,
        desk: ApprovalDesk,
        settings: SettingsBook | None = None,
        control: StrategyControl | None = None,
        sink: Callable[[Signal], None] | None = None,
        replaced_id: ReplacedId | None = None,
    ) -> None:
        self.clock, self.bus, self.ids = clock, bus, ids
        self.instruments, self.orders, self.market, self.desk = instruments, orders, market, desk
        self.settings = settings or SettingsBook()
        self.validator = Validator(risk, market, self.settings, ids)
        self.control, self.sink = control, sink
        self.replaced_id = replaced_id  # None: replacements are not followed
        self._active: dict[tuple[StrategyId, InstrumentId], SignalTrade] = {}
        # instruments with open trades whose stop trails the price, and how many
        self._trailing: dict[InstrumentId, int] = {}
        self._by_cid: dict[ClientOrderId, SignalTrade] = {}
        self._by_order: dict[OrderId, tuple[SignalTrade, ClientOrderId]] = {}
        self._closing: dict[SignalId, list[Signal]] = defaultdict(list)  # exit signals
        self._queue: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._running = False
        self._now_cache: datetime | None = None
        self.realized_by_version: dict[tuple[StrategyId, int], Decimal] = defaultdict(Decimal)
        self.realized_by_agent: dict[str, Decimal] = defaultdict(Decimal)
        bus.subscribe("events.order.*", self._on_order_event)

    def _place(
        self,
        trade: SignalTrade,
        role: Role,
        side: OrderSide,
        order_type: OrderType,
        quantity: Decimal,
        *,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> bool:
        cid = trade.client_id(role)
        self._by_cid[cid] = trade
        if role is not Role.ENTRY:
            trade.working.add(cid)
        try:
            self.orders.place(
                trade.plan.portfolio_id,
                trade.instrument.id,
                cid,
                side,
                order_type,
                quantity,
                price=price,
                stop_price=stop_price,
                signal_id=trade.signal.id,
                strategy_id=trade.signal.strategy_id,
                oco_group=f"s-{trade.signal.id}" if role in EXITS else None,
            )
        except OmoiError:
            trade.working.discard(cid)
            return False
        return True

    def _cancel(self, trade: SignalTrade, cid: ClientOrderId, reason: str) -> None:
        trade.cancelling.add(cid)
        try:
            self.orders.cancel(trade.plan.portfolio_id, cid, reason)
        except OmoiError:
            trade.working.discard(cid)  # already gone
            trade.cancelling.discard(cid)

    def _amend(
        self,
        trade: SignalTrade,
        cid: ClientOrderId,
        *,
        quantity: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> bool:
        try:
            self.orders.amend(
                trade.plan.portfolio_id, cid, quantity=quantity, stop_price=stop_price
            )
        except OmoiError:
            return False
        return True

    def _drop_alarm(self, name: str | None) -> None:
        """Cancel the clock's alarm ``name`` if it is still set."""
        if name is not None and name in self.clock.timer_names():
            self.clock.cancel(name)

    def _validate(self, signal: Signal, result: dict[str, Any]) -> None:
        """VALIDATED, saved, announced (as ``_emit`` does, built directly: every signal's)."""
        signal.validate(result, trusted=True)  # the Validator's: JSON by construction
        if self.sink is not None:
            self.sink(signal)
        event = _VALIDATED(
            occurred_at=self._now(),
            event_id=EventId.new(self.ids),
            signal_id=signal.id,
            validation_result=result,
        )
        self.bus.publish(SignalValidated.topic, event)

    def _reject(self, signal: Signal, code: str, reason: str) -> None:
        result = {"rejected": {"code": code, "reason": reason}}
        signal.reject(result)
        self._emit_rejected(signal, result)

    def _emit_rejected(self, signal: Signal, result: dict[str, Any]) -> None:
        self._emit(SignalRejected, signal, signal_id=signal.id, validation_result=result)

    def _abandon(self, trade: SignalTrade, result: dict[str, Any]) -> None:
        trade.signal.reject(result)
        self._emit_rejected(trade.signal, result)
        self._close_phase(trade, PhaseTrigger.ABANDONED)

    def _expire(self, signal: Signal) -> None:
        signal.expire()
        self._emit(SignalExpired, signal, signal_id=signal.id)

    def _phase(self, trade: SignalTrade, trigger: PhaseTrigger) -> None:
        before = trade.phase
        after = trade.phase = TRADE_PHASES.next_state(before, trigger)
        signal = trade.signal
        event = _PHASE_CHANGED(
            occurred_at=self._now(),
            event_id=EventId.new(self.ids),
            strategy_id=signal.strategy_id,
            instrument_id=signal.instrument_id,
            from_phase=before,
            to_phase=after,
            signal_id=signal.id,
        )
        self.bus.publish(TradePhaseChanged.topic, event)

    def _open(self, trade: SignalTrade) -> SignalTrade:
        """``trade`` joins the open trades (and those that trail, if its stop does)."""
        self._active[(trade.signal.strategy_id, trade.signal.instrument_id)] = trade
        if trade.plan.trailing_stop is not None:
            instrument_id = trade.signal.instrument_id
            self._trailing[instrument_id] = self._trailing.get(instrument_id, 0) + 1
        return trade

    def _close_phase(self, trade: SignalTrade, trigger: PhaseTrigger) -> None:
        """The trade's last phase change: it leaves the open trades."""
        self._phase(trade, trigger)
        instrument_id = trade.signal.instrument_id
        key = (trade.signal.strategy_id, instrument_id)
        if self._active.get(key) is trade:
            del self._active[key]
            if trade.plan.trailing_stop is not None:
                left = self._trailing.pop(instrument_id) - 1
                if left:
                    self._trailing[instrument_id] = left

    def _emit(self, kind: type[DomainEvent], changed: Signal | None = None, **values: Any) -> None:
        """Publish an event of ``kind`` (now, unless ``occurred_at`` is given), after saving
        the signal it changed. Its values come from checked entities: assembled unchecked."""
        if changed is not None and self.sink is not None:
            self.sink(changed)
        values.setdefault("occurred_at", self._now())
        event = assembler(kind)(event_id=EventId.new(self.ids), **values)
        self.bus.publish(kind.topic, event)

    def _now(self) -> datetime:
        """One reading of the clock for all the work of one call into the pipeline."""
        now = self._now_cache
        if now is None:
            now = self._now_cache = self.clock.utc_now()
        return now

    def _run(self, work: Callable[..., None], *args: Any) -> None:
        """Do ``work(*args)`` now, or after the work in progress (events it causes queue up)."""
        queue = self._queue
        if self._running or queue:  # (work left by a failure runs first)
            queue.append((work, args))
            if self._running:
                return
            work, args = queue.popleft()
        self._running = True
        try:
            self._now_cache = None
            work(*args)
            while queue:
                self._now_cache = None
                work, args = queue.popleft()
                work(*args)
        finally:
            self._running = False
            self._now_cache = None
