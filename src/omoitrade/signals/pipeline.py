"""The signal pipeline: every signal through signal -> validation -> execution ->
management -> settlement, one trade per strategy and instrument at a time.

- **signal**: a known instrument, not expired (one waiting for a person expires on the
  clock); HOLD is recorded only; CLOSE, or the opposite side while a trade is open,
  exits that trade; the same side again is refused (no pyramiding).
- **validation** (``signals.validation``): the risk engine's verdict on the entry order
  it would make, then the gates; a high-value or unusual signal waits for an approval.
- **execution**: the entry (market, or limit at the signal's price) sized when sent;
  the signal is EXECUTED when the entry fills; then the stop loss (stop order) and the
  take profit (limit) go out as a one-cancels-other pair for the filled quantity.
- **management**: a trailing stop moves the stop order up (amends); the holding time
  runs out with a market exit (after the pair is cancelled); a partial fill of one leg
  shrinks the other; a refused stop leaves the position unprotected, so it is closed.
- **settlement**: when the exits have taken out all that was entered, the realized P&L
  (net of commissions) is attributed to the signal, the strategy version and the bot.

Every step is an event on the bus (the runtime stores them). Reactions to order events
run after the call that caused them returns (a queue), never inside the order manager.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from omoitrade.core.approvals import ApprovalDesk, ApprovalRequest, ApprovalStatus
from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import Clock
from omoitrade.core.errors import OmoiError
from omoitrade.core.ids import IdGenerator
from omoitrade.model.enums import OrderSide, OrderType, SignalStatus, SignalType, TradePhase
from omoitrade.model.events import (
    DomainEvent,
    OrderAmended,
    OrderCancelled,
    OrderEvent,
    OrderFilled,
    OrderFillEvent,
    OrderRejected,
    OrderSubmitted,
    SignalApprovalDecided,
    SignalAwaitingApproval,
    SignalCreated,
    SignalExecuted,
    SignalExitTriggered,
    SignalExpired,
    SignalRejected,
    SignalSettled,
    SignalValidated,
    TradePhaseChanged,
    assemble,
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
from omoitrade.model.orders import Order
from omoitrade.model.signals import Signal
from omoitrade.model.state_machines import TRADE_PHASES, PhaseTrigger
from omoitrade.signals.plan import ExecutionPlan, SettingsBook
from omoitrade.signals.ports import MarketView, OrderPort, RiskPreview, StrategyControl
from omoitrade.signals.trade import Role, SignalTrade
from omoitrade.signals.validation import Validator

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EXITS = (Role.STOP_LOSS, Role.TAKE_PROFIT)


class SignalPipeline:
    """Carries signals through the five phases; see the module docstring."""

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
    ) -> None:
        self.clock, self.bus, self.ids = clock, bus, ids
        self.instruments, self.orders, self.market, self.desk = instruments, orders, market, desk
        self.settings = settings or SettingsBook()
        self.validator = Validator(risk, market, self.settings, ids)
        self.control, self.sink = control, sink
        self._active: dict[tuple[StrategyId, InstrumentId], SignalTrade] = {}
        self._by_cid: dict[ClientOrderId, SignalTrade] = {}
        self._by_order: dict[OrderId, tuple[SignalTrade, ClientOrderId]] = {}
        self._closing: dict[SignalId, list[Signal]] = defaultdict(list)  # exit signals
        self._queue: deque[Callable[[], None]] = deque()
        self._running = False
        self._now_cache: datetime | None = None
        self.realized_by_version: dict[tuple[StrategyId, int], Decimal] = defaultdict(Decimal)
        self.realized_by_agent: dict[str, Decimal] = defaultdict(Decimal)
        bus.subscribe("events.order.*", self._on_order_event)

    # --- entry points -----------------------------------------------------------------------
    def submit(self, signal: Signal, plan: ExecutionPlan) -> Signal:
        """Take a PENDING signal through as many phases as it can go now."""
        self._run(lambda: self._accept(signal, plan))
        return signal

    def adopt(self, signal: Signal, orders: Sequence[Order]) -> SignalTrade | None:
        """Take back the trade of a signal from before a restart: its orders as the store
        (and reconciliation) left them. A trade whose exits took out its entry while the
        process was down is settled at once; None when there is nothing to adopt."""
        record = (signal.validation_result or {}).get("plan")
        instrument = self.instruments.get(signal.instrument_id)
        if record is None or instrument is None or signal.signal_type not in _SIDES:
            return None
        entries = [o for o in orders if o.client_order_id.endswith("-e")]
        if not entries:
            return None
        (entry,) = entries
        trade = SignalTrade(
            signal,
            ExecutionPlan.from_record(record, entry.quantity),
            instrument,
            _SIDES[signal.signal_type],
            phase=TradePhase.EXECUTION,
            entry_quantity=entry.quantity,
        )
        for order in orders:
            role, number = _role_of(order.client_order_id)
            cid = order.client_order_id
            trade.roles[cid] = role
            trade.order_ids[order.id] = cid
            trade.version = max(trade.version, number)
            self._by_cid[cid] = trade
            self._by_order[order.id] = (trade, cid)
            if order.filled_quantity > 0 and order.average_fill_price is not None:
                trade.apply_fill(
                    role,
                    order.side,
                    order.filled_quantity,
                    order.average_fill_price,
                    order.commission,
                )
            if role is not Role.ENTRY and order.is_open:
                trade.working.add(cid)
                if role is Role.STOP_LOSS:
                    trade.stop_price = order.stop_price
                elif role is Role.TAKE_PROFIT:
                    trade.target_price = order.price
        self._active[(signal.strategy_id, signal.instrument_id)] = trade
        if entry.is_open:
            return trade  # still in execution: its fill events carry it on
        trade.entry_done = True
        trade.phase = TradePhase.MANAGEMENT
        if trade.entered > 0:
            trade.best_price = trade.entry_value / trade.entered
        if trade.exited > 0:
            trade.exit_reason = "before the restart"
            trade.phase = TradePhase.SETTLEMENT
        if trade.entered > 0 and trade.open_quantity <= 0:
            self._run(lambda: self._settle(trade))
        elif trade.plan.max_holding_ns is not None and entry.filled_at is not None:
            trade.holding_alarm = f"signal-hold-{signal.id}"
            due = _ns(entry.filled_at) + trade.plan.max_holding_ns
            self.clock.set_alarm(
                trade.holding_alarm, due, lambda _: self._run(lambda: self._held_out(trade))
            )
        return trade

    def on_price(self, instrument_id: InstrumentId, price: Decimal) -> None:
        """A new reference price: trailing stops of that instrument follow it."""
        if self._active:  # nothing to trail without an open trade
            self._run(lambda: self._trail(instrument_id, price))

    def trade(self, strategy_id: StrategyId, instrument_id: InstrumentId) -> SignalTrade | None:
        """The open trade of a strategy in an instrument, if any."""
        return self._active.get((strategy_id, instrument_id))

    def open_trades(self) -> list[SignalTrade]:
        return list(self._active.values())

    # --- phase: signal ----------------------------------------------------------------------
    def _accept(self, signal: Signal, plan: ExecutionPlan) -> None:
        self._emit(
            SignalCreated,
            occurred_at=signal.created_at,
            signal_id=signal.id,
            strategy_id=signal.strategy_id,
            instrument_id=signal.instrument_id,
            signal_type=signal.signal_type,
            strength=signal.strength,
        )
        instrument = self.instruments.get(signal.instrument_id)
        if instrument is None:
            self._reject(
                signal,
                "unknown_instrument",
                f"instrument {signal.instrument_id} is not traded here",
            )
            return
        if signal.is_expired(self._now()):
            self._expire(signal)
            return
        kind = signal.signal_type
        if kind is SignalType.HOLD:
            self._validate(signal, {"action": "none", "reason": "a HOLD signal is recorded only"})
            return
        key = (signal.strategy_id, signal.instrument_id)
        open_trade = self._active.get(key)
        if open_trade is not None:
            self._signal_on_open_trade(signal, open_trade, kind)
            return
        if kind is SignalType.CLOSE:
            self._reject(signal, "nothing_to_close", "the strategy has no open trade in it")
            return
        side = OrderSide.BUY if kind is SignalType.BUY else OrderSide.SELL
        problem = _bracket_problem(signal, side)
        if problem is None and plan.entry_type is OrderType.LIMIT and signal.entry_price is None:
            problem = "a limit entry needs the signal's entry price"
        if problem is not None:
            self._reject(signal, "invalid_signal", problem)
            return
        trade = self._active[key] = SignalTrade(signal, plan, instrument, side)
        self._phase(trade, PhaseTrigger.SIGNAL_ACCEPTED)
        self._validation(trade)

    def _signal_on_open_trade(self, signal: Signal, trade: SignalTrade, kind: SignalType) -> None:
        opposite = (
            (kind is SignalType.SELL) if trade.side is OrderSide.BUY else (kind is SignalType.BUY)
        )
        if kind is not SignalType.CLOSE and not opposite:
            self._reject(
                signal,
                "already_in_trade",
                f"signal {trade.signal.id} holds a trade here (phase {trade.phase})",
            )
            return
        if trade.phase not in (TradePhase.MANAGEMENT, TradePhase.SETTLEMENT):
            self._reject(signal, "trade_not_open", f"the trade is still in {trade.phase}")
            return
        self._validate(signal, {"action": "exit", "trade_of": str(trade.signal.id)})
        self._closing[trade.signal.id].append(signal)
        self._exit(trade, "exit_signal" if kind is SignalType.CLOSE else "opposite_signal")

    # --- phase: validation ------------------------------------------------------------------
    def _validation(self, trade: SignalTrade) -> None:
        signal, plan = trade.signal, trade.plan
        verdict = self.validator.judge(signal, plan, trade.instrument, trade.side)
        if verdict.rejection is not None:
            self._abandon(trade, verdict.result)
            return
        if plan.shadow:  # a dry run: the verdict is the outcome
            self._validate(signal, verdict.result | {"shadow": True})
            self._close_phase(trade, PhaseTrigger.ABANDONED)
            return
        if verdict.pause_reason is not None:
            if self.control is not None:
                self.control.pause(signal.strategy_id, verdict.pause_reason)
            self._abandon(trade, verdict.result | {"paused": verdict.pause_reason})
            return
        if not verdict.approval_gates:
            self._execute(trade, verdict.result)
            return
        settings = self.settings.of(plan.portfolio_id)
        result = verdict.result
        request = self.desk.request(
            gate="+".join(verdict.approval_gates),
            scope=str(plan.portfolio_id),
            subject_type="signal",
            subject_id=str(signal.id),
            requested_action=(
                f"{trade.side} {verdict.quantity} {trade.instrument.symbol} "
                f"at {'market' if plan.entry_type is OrderType.MARKET else signal.entry_price}"
            ),
            facts={"strategy_id": str(signal.strategy_id), "strength": signal.strength, **result},
            requested_by=signal.source,
            ttl_ns=settings.approval_ttl_ns,  # the signal's own expiry may end it sooner
            on_decided=lambda decided: self._run(lambda: self._decided(trade, result, decided)),
        )
        if request.is_open:
            self._emit(
                SignalAwaitingApproval,
                signal_id=signal.id,
                approval_id=request.id,
                gates=verdict.approval_gates,
            )
            if signal.expiry_at is not None:
                alarm = f"signal-expiry-{signal.id}"
                self.clock.set_alarm(
                    alarm,
                    _ns(signal.expiry_at),
                    lambda _: self._run(lambda: self._expire_waiting(trade, request)),
                )

    def _decided(
        self, trade: SignalTrade, result: dict[str, Any], request: ApprovalRequest
    ) -> None:
        signal = trade.signal
        if signal.status is not SignalStatus.PENDING:
            return  # expired first
        alarm = f"signal-expiry-{signal.id}"
        if alarm in self.clock.timer_names():
            self.clock.cancel(alarm)
        approved = request.status is ApprovalStatus.APPROVED
        self._emit(
            SignalApprovalDecided,
            signal_id=signal.id,
            approval_id=request.id,
            approved=approved,
            decided_by=request.decided_by or "",
            reason=request.decision_reason or "",
            auto=request.auto,
        )
        decision = {
            "id": str(request.id),
            "status": request.status.value,
            "decided_by": request.decided_by,
            "reason": request.decision_reason,
            "auto": request.auto,
        }
        if approved:
            self._execute(trade, result | {"approval": decision})
        else:
            self._abandon(trade, result | {"approval": decision})

    def _expire_waiting(self, trade: SignalTrade, request: ApprovalRequest) -> None:
        if trade.signal.status is not SignalStatus.PENDING:
            return
        self._expire(trade.signal)
        self._close_phase(trade, PhaseTrigger.ABANDONED)
        if request.is_open:
            self.desk.reject(request.id, "system:signal-expiry", "the signal expired")

    # --- phase: execution -------------------------------------------------------------------
    def _execute(self, trade: SignalTrade, result: dict[str, Any]) -> None:
        signal, plan, instrument = trade.signal, trade.plan, trade.instrument
        self._validate(signal, result | {"plan": plan.record()})  # kept for a restart
        self._phase(trade, PhaseTrigger.RISK_APPROVED)
        price = signal.entry_price or self.market.price(instrument.id)
        quantity = (
            Decimal(0)
            if price is None
            else plan.size(
                price,
                instrument.lot_size,
                instrument.min_quantity,
                self.settings.of(plan.portfolio_id).sizing_fee_rate,
            )
        )
        if quantity <= 0:
            self._entry_failed(trade, "no price or sized to zero when sending the entry")
            return
        trade.entry_quantity = quantity
        limit = signal.entry_price if plan.entry_type is OrderType.LIMIT else None
        if not self._place(trade, Role.ENTRY, trade.side, plan.entry_type, quantity, price=limit):
            self._entry_failed(trade, "the order manager refused the entry")

    def _entered(self, trade: SignalTrade) -> None:
        """The entry is done (filled, or ended after a partial fill): protect the position."""
        if trade.entry_done:
            return
        trade.entry_done = True
        signal, plan = trade.signal, trade.plan
        signal.execute()
        entry_ids = tuple(o for o, cid in trade.order_ids.items() if trade.roles[cid] is Role.ENTRY)
        self._emit(SignalExecuted, signal, signal_id=signal.id, order_ids=entry_ids)
        self._phase(trade, PhaseTrigger.ORDER_FILLED)
        quantity = trade.entered
        average = trade.entry_value / quantity
        trade.best_price = average
        stop = _on_tick(signal.stop_loss, trade, away=True)
        if stop is None and plan.trailing_stop is not None:
            stop = self._trail_level(trade, average)
        if stop is not None:
            trade.stop_price = stop
            self._place(
                trade, Role.STOP_LOSS, trade.exit_side, OrderType.STOP, quantity, stop_price=stop
            )
        target = trade.target_price = _on_tick(signal.take_profit, trade, away=False)
        if target is not None:
            self._place(
                trade, Role.TAKE_PROFIT, trade.exit_side, OrderType.LIMIT, quantity, price=target
            )
        if plan.max_holding_ns is not None:
            trade.holding_alarm = f"signal-hold-{signal.id}"
            self.clock.set_alarm(
                trade.holding_alarm,
                self.clock.timestamp_ns() + plan.max_holding_ns,
                lambda _: self._run(lambda: self._held_out(trade)),
            )

    def _entry_failed(self, trade: SignalTrade, reason: str) -> None:
        if trade.entered > 0:
            self._entered(trade)
            return
        result = dict(trade.signal.validation_result or {}) | {"entry_failed": reason}
        if trade.signal.status is SignalStatus.VALIDATED:
            trade.signal.reject(result)
            self._emit_rejected(trade.signal, result)
        self._close_phase(trade, PhaseTrigger.ABANDONED)

    # --- phase: management ------------------------------------------------------------------
    def _on_order_event(self, event: OrderEvent) -> None:
        self._run(lambda: self._order_event(event))

    def _order_event(self, event: OrderEvent) -> None:
        if isinstance(event, OrderSubmitted):
            trade = self._by_cid.get(event.client_order_id)
            if trade is not None:
                self._by_order[event.order_id] = (trade, event.client_order_id)
                trade.order_ids[event.order_id] = event.client_order_id
            return
        known = self._by_order.get(event.order_id)
        if known is None:
            return
        trade, cid = known
        role = trade.roles[cid]
        if isinstance(event, OrderFillEvent):
            trade.apply_fill(
                role, event.side, event.fill_quantity, event.fill_price, event.commission
            )
            finished = isinstance(event, OrderFilled)
            if finished:
                trade.working.discard(cid)
            if role is Role.ENTRY:
                if finished:
                    self._entered(trade)
            else:
                self._exit_filled(trade, role, cid, finished)
        elif isinstance(event, OrderRejected | OrderCancelled):
            reason = event.reason
            trade.working.discard(cid)
            if role is Role.ENTRY:
                self._entry_failed(trade, f"entry order ended: {reason}")
            else:
                self._exit_order_ended(trade, role, cid, isinstance(event, OrderRejected))
        elif (
            isinstance(event, OrderAmended)
            and role is Role.STOP_LOSS
            and event.stop_price is not None
        ):
            trade.stop_price = event.stop_price

    def _exit_filled(
        self, trade: SignalTrade, role: Role, cid: ClientOrderId, finished: bool
    ) -> None:
        if role in _EXITS:
            self._exit_triggered(trade, "stop_loss" if role is Role.STOP_LOSS else "take_profit")
            remaining = trade.open_quantity
            for other in [c for c in trade.working if trade.roles[c] in _EXITS and c != cid]:
                if finished or remaining <= 0:
                    self._cancel(trade, other, "one-cancels-other")
                else:  # the other leg may only take out what is left
                    self._amend(trade, other, quantity=remaining)
        if trade.entry_done and trade.open_quantity <= 0:
            self._settle(trade)

    def _exit_order_ended(
        self, trade: SignalTrade, role: Role, cid: ClientOrderId, refused: bool
    ) -> None:
        ours = cid in trade.cancelling  # we cancelled it (else the venue or someone else did)
        trade.cancelling.discard(cid)
        if trade.exit_pending and not any(trade.roles[c] in _EXITS for c in trade.working):
            self._send_exit(trade)
        elif not refused and not ours and role in _EXITS and trade.open_quantity > 0:
            self._replace_leg(trade, role)  # the venue's OCO took it out after a partial fill
        elif refused and role is Role.STOP_LOSS and trade.open_quantity > 0:
            self._exit(trade, "protection_refused")  # never leave a position without its stop
        elif role is Role.EXIT and trade.open_quantity > 0 and refused:
            trade.exit_pending = False  # the exit itself was refused: it is retried on request

    def _replace_leg(self, trade: SignalTrade, role: Role) -> None:
        """Put a stop or target back for what is still open (same level, same OCO group)."""
        trade.version += 1
        if role is Role.STOP_LOSS and trade.stop_price is not None:
            stop = trade.stop_price
            self._place(
                trade, role, trade.exit_side, OrderType.STOP, trade.open_quantity, stop_price=stop
            )
        elif role is Role.TAKE_PROFIT and trade.target_price is not None:
            target = trade.target_price
            self._place(
                trade, role, trade.exit_side, OrderType.LIMIT, trade.open_quantity, price=target
            )

    def _held_out(self, trade: SignalTrade) -> None:
        trade.holding_alarm = None
        if trade.entry_done and trade.open_quantity > 0:
            self._exit(trade, "max_holding_time")

    def _exit(self, trade: SignalTrade, reason: str) -> None:
        """Leave the position at market once its stop and target are cancelled."""
        self._exit_triggered(trade, reason)
        if trade.exit_pending:
            return
        trade.exit_pending = True
        protective = [c for c in trade.working if trade.roles[c] in _EXITS]
        for cid in protective:
            self._cancel(trade, cid, reason)
        if not protective:
            self._send_exit(trade)

    def _send_exit(self, trade: SignalTrade) -> None:
        trade.exit_pending = False
        quantity = trade.open_quantity
        if quantity > 0:
            trade.version += 1
            self._place(trade, Role.EXIT, trade.exit_side, OrderType.MARKET, quantity)

    def _exit_triggered(self, trade: SignalTrade, reason: str) -> None:
        if trade.exit_reason is not None:
            return
        trade.exit_reason = reason
        ids = tuple(trade.order_ids)
        self._emit(SignalExitTriggered, signal_id=trade.signal.id, reason=reason, order_ids=ids)
        self._phase(trade, PhaseTrigger.EXIT_TRIGGERED)

    def _trail(self, instrument_id: InstrumentId, price: Decimal) -> None:
        for trade in list(self._active.values()):
            if (
                trade.instrument.id != instrument_id
                or trade.plan.trailing_stop is None
                or trade.phase is not TradePhase.MANAGEMENT
                or trade.exit_pending
                or trade.best_price is None
                or trade.stop_price is None
            ):
                continue
            long = trade.side is OrderSide.BUY
            if (price <= trade.best_price) if long else (price >= trade.best_price):
                continue
            trade.best_price = price
            level = self._trail_level(trade, price)
            step = trade.instrument.tick_size
            if (level >= trade.stop_price + step) if long else (level <= trade.stop_price - step):
                stop = next((c for c in trade.working if trade.roles[c] is Role.STOP_LOSS), None)
                if stop is not None and self._amend(trade, stop, stop_price=level):
                    trade.stop_price = level

    def _trail_level(self, trade: SignalTrade, price: Decimal) -> Decimal:
        trail = trade.plan.trailing_stop or Decimal(0)
        tick = trade.instrument.tick_size
        if trade.side is OrderSide.BUY:
            return (price * (1 - trail) / tick).to_integral_value(ROUND_FLOOR) * tick
        return (price * (1 + trail) / tick).to_integral_value(ROUND_CEILING) * tick

    # --- phase: settlement ------------------------------------------------------------------
    def _settle(self, trade: SignalTrade) -> None:
        signal, plan = trade.signal, trade.plan
        for cid in list(trade.working):
            self._cancel(trade, cid, "position closed")
        if trade.holding_alarm is not None and trade.holding_alarm in self.clock.timer_names():
            self.clock.cancel(trade.holding_alarm)
        pnl = trade.realized_pnl
        self._emit(
            SignalSettled,
            signal_id=signal.id,
            strategy_id=signal.strategy_id,
            strategy_version=plan.strategy_version,
            instrument_id=signal.instrument_id,
            realized_pnl=pnl,
            commission=trade.commission,
            agent=plan.agent,
        )
        self.realized_by_version[(signal.strategy_id, plan.strategy_version)] += pnl
        if plan.agent is not None:
            self.realized_by_agent[plan.agent] += pnl
        exits = tuple(o for o, cid in trade.order_ids.items() if trade.roles[cid] is not Role.ENTRY)
        for closing in self._closing.pop(signal.id, []):
            closing.execute()
            self._emit(SignalExecuted, closing, signal_id=closing.id, order_ids=exits)
        self._close_phase(trade, PhaseTrigger.POSITION_CLOSED)

    # --- shared steps -----------------------------------------------------------------------
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
                oco_group=f"s-{trade.signal.id}" if role in _EXITS else None,
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

    def _validate(self, signal: Signal, result: dict[str, Any]) -> None:
        signal.validate(result)
        self._emit(SignalValidated, signal, signal_id=signal.id, validation_result=result)

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
        trade.phase = TRADE_PHASES.next_state(before, trigger)
        signal = trade.signal
        self._emit(
            TradePhaseChanged,
            strategy_id=signal.strategy_id,
            instrument_id=signal.instrument_id,
            from_phase=before,
            to_phase=trade.phase,
            signal_id=signal.id,
        )

    def _close_phase(self, trade: SignalTrade, trigger: PhaseTrigger) -> None:
        """The trade's last phase change: it leaves the open trades."""
        self._phase(trade, trigger)
        key = (trade.signal.strategy_id, trade.signal.instrument_id)
        if self._active.get(key) is trade:
            del self._active[key]

    def _emit(self, kind: type[DomainEvent], changed: Signal | None = None, **values: Any) -> None:
        """Publish an event of ``kind`` (now, unless ``occurred_at`` is given), after saving
        the signal it changed. Its values come from checked entities: assembled unchecked."""
        if changed is not None and self.sink is not None:
            self.sink(changed)
        values.setdefault("occurred_at", self._now())
        event = assemble(kind, event_id=EventId.new(self.ids), **values)
        self.bus.publish(event.topic, event)

    def _now(self) -> datetime:
        """One reading of the clock for all the work of one call into the pipeline."""
        now = self._now_cache
        if now is None:
            now = self._now_cache = self.clock.utc_now()
        return now

    def _run(self, work: Callable[[], None]) -> None:
        """Do ``work`` now, or after the work in progress (events it causes queue up)."""
        self._queue.append(work)
        if self._running:
            return
        self._running = True
        try:
            while self._queue:
                self._now_cache = None
                self._queue.popleft()()
        finally:
            self._running = False
            self._now_cache = None


_SIDES = {SignalType.BUY: OrderSide.BUY, SignalType.SELL: OrderSide.SELL}


def _role_of(client_order_id: str) -> tuple[Role, int]:
    """A signal's order's role and number from its client order id (``s-ID-sl2``)."""
    suffix = client_order_id.rsplit("-", 1)[1]
    name = suffix.rstrip("0123456789")
    number = suffix[len(name) :]
    return Role(name), int(number) if number else 0


def _bracket_problem(signal: Signal, side: OrderSide) -> str | None:
    """A stop loss must lie on the losing side of the entry, a take profit on the winning."""
    reference = signal.entry_price
    stop, target = signal.stop_loss, signal.take_profit
    long = side is OrderSide.BUY
    if stop is not None and target is not None and ((stop >= target) if long else (stop <= target)):
        return "the stop loss must lie beyond the take profit on the losing side"
    if reference is None:
        return None
    if stop is not None and ((stop >= reference) if long else (stop <= reference)):
        return f"the stop loss {stop} must be {'below' if long else 'above'} the entry {reference}"
    if target is not None and ((target <= reference) if long else (target >= reference)):
        return (
            f"the take profit {target} must be {'above' if long else 'below'} the entry {reference}"
        )
    return None


def _on_tick(price: Decimal | None, trade: SignalTrade, *, away: bool) -> Decimal | None:
    """``price`` on the instrument's tick grid: a stop rounded away from the entry (lower
    for a long), a target rounded further into profit; None stays None."""
    if price is None:
        return None
    tick = trade.instrument.tick_size
    down = (trade.side is OrderSide.BUY) == away
    return (price / tick).to_integral_value(ROUND_FLOOR if down else ROUND_CEILING) * tick


def _ns(at: datetime) -> int:
    delta = at - _EPOCH
    return ((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds) * 1000
