"""The signal pipeline: every signal through signal -> validation -> execution ->
management -> settlement, one trade per strategy and instrument at a time.

- **signal**: a known instrument, not expired (one waiting for a person expires on the
  clock); HOLD is recorded only; CLOSE, or the opposite side while a trade is open,
  exits that trade; the same side again is refused (no pyramiding).
- **validation** (``signals.validation``): the risk engine's verdict on the entry order
  it would make, then the gates; a high-value or unusual signal waits for an approval.
- **execution**: the entry (market, or limit at the signal's price) sized when sent;
  the signal is EXECUTED when the entry fills; then the stop loss (stop order) and the
  take profit (limit) go out as a one-cancels-other pair for the filled quantity. A limit
  entry still resting at the signal's expiry is cancelled (what it filled is kept).
- **management**: a trailing stop moves the stop order up (amends; a cancel-replace at a
  venue that cannot amend is followed to the replacement); the holding time
  runs out with a market exit (after the pair is cancelled); a partial fill of one leg
  shrinks the other; a refused stop leaves the position unprotected, so it is closed.
- **settlement**: when the exits have taken out all that was entered, the realized P&L
  (net of commissions) is attributed to the signal, the strategy version and the bot.

Every step is an event on the bus (the runtime stores them). Reactions to order events
run after the call that caused them returns (a queue), never inside the order manager.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from omoitrade.core.approvals import ApprovalRequest, ApprovalStatus
from omoitrade.core.clock import to_ns
from omoitrade.model.enums import OrderSide, OrderType, SignalStatus, SignalType, TradePhase
from omoitrade.model.events import (
    SignalApprovalDecided,
    SignalAwaitingApproval,
    SignalCreated,
    assembler,
)
from omoitrade.model.identifiers import EventId, InstrumentId, StrategyId
from omoitrade.model.signals import Signal
from omoitrade.model.state_machines import PhaseTrigger
from omoitrade.signals.management import TradeManagement
from omoitrade.signals.plan import ExecutionPlan
from omoitrade.signals.trade import Role, SignalTrade

_CREATED = assembler(SignalCreated)


class SignalPipeline(TradeManagement):
    """Carries signals through the five phases; see the module docstring."""

    def submit(self, signal: Signal, plan: ExecutionPlan) -> Signal:
        """Take a PENDING signal through as many phases as it can go now."""
        self._run(self._accept, signal, plan)
        return signal

    def on_price(self, instrument_id: InstrumentId, price: Decimal) -> None:
        """A new reference price: trailing stops of that instrument follow it."""
        if instrument_id in self._trailing:  # (most prices have no trailing stop to move)
            self._run(self._trail, instrument_id, price)

    def trails(self, instrument_id: InstrumentId) -> bool:
        """Whether an open trade's stop trails the price of ``instrument_id``."""
        return instrument_id in self._trailing

    def trade(self, strategy_id: StrategyId, instrument_id: InstrumentId) -> SignalTrade | None:
        """The open trade of a strategy in an instrument, if any."""
        return self._active.get((strategy_id, instrument_id))

    def open_trades(self) -> list[SignalTrade]:
        return list(self._active.values())

    def _accept(self, signal: Signal, plan: ExecutionPlan) -> None:
        created = _CREATED(
            occurred_at=signal.created_at,
            event_id=EventId.new(self.ids),
            signal_id=signal.id,
            strategy_id=signal.strategy_id,
            instrument_id=signal.instrument_id,
            signal_type=signal.signal_type,
            strength=signal.strength,
        )
        self.bus.publish(SignalCreated.topic, created)
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
        trade = self._open(SignalTrade(signal, plan, instrument, side))
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

    def _validation(self, trade: SignalTrade) -> None:
        signal, plan = trade.signal, trade.plan
        verdict = self.validator.judge(signal, plan, trade.instrument, trade.side)
        if verdict.rejection is not None:
            self._abandon(trade, verdict.result)
            return
        if plan.shadow:  # a dry run: the verdict is the outcome
            verdict.result["shadow"] = True  # (the verdict's own result: nobody else's)
            self._validate(signal, verdict.result)
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
                    to_ns(signal.expiry_at),
                    lambda _: self._run(lambda: self._expire_waiting(trade, request)),
                )

    def _decided(
        self, trade: SignalTrade, result: dict[str, Any], request: ApprovalRequest
    ) -> None:
        signal = trade.signal
        if signal.status is not SignalStatus.PENDING:
            return  # expired first
        self._drop_alarm(f"signal-expiry-{signal.id}")
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
            return
        self._arm_expiry(trade)


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
