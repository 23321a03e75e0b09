"""Management and settlement of the signals' trades: the protective pair after the entry
fills (one-cancels-other at the venue), a limit entry's end at the signal's expiry,
partial fills, trailing stops (followed through a cancel-replace at a venue that cannot
amend), the holding time, exits at market, the realized P&L when the position closes, and
taking trades back after a restart."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from omoitrade.core.clock import to_ns
from omoitrade.model.enums import OrderSide, OrderType, SignalStatus, SignalType, TradePhase
from omoitrade.model.events import (
    OrderAmended,
    OrderCancelled,
    OrderEvent,
    OrderFilled,
    OrderFillEvent,
    OrderRejected,
    OrderSubmitted,
    SignalExecuted,
    SignalExitTriggered,
    SignalSettled,
)
from omoitrade.model.identifiers import (
    ClientOrderId,
    InstrumentId,
)
from omoitrade.model.orders import Order
from omoitrade.model.signals import Signal
from omoitrade.model.state_machines import PhaseTrigger
from omoitrade.signals.core import EXITS, PipelineCore
from omoitrade.signals.plan import ExecutionPlan
from omoitrade.signals.trade import Role, SignalTrade


class TradeManagement(PipelineCore):
    """The management and settlement phases (see the module docstring)."""

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
        open_ids = {o.client_order_id for o in orders if o.is_open}
        for order in orders:
            cid = order.client_order_id
            role, number = _role_of(self._first_id(cid))
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
                original = self._replaced(cid)
                if original is not None and original in open_ids:  # waits for its cancel
                    trade.replacing[original] = cid
                else:
                    trade.working.add(cid)
                if role is Role.STOP_LOSS:
                    trade.stop_price = order.stop_price
                elif role is Role.TAKE_PROFIT:
                    trade.target_price = order.price
        self._open(trade)
        if entry.is_open:
            self._arm_expiry(trade)
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
            due = to_ns(entry.filled_at) + trade.plan.max_holding_ns
            self.clock.set_alarm(
                trade.holding_alarm, due, lambda _: self._run(lambda: self._held_out(trade))
            )
        return trade

    def _entered(self, trade: SignalTrade) -> None:
        """The entry is done (filled, or ended after a partial fill): protect the position."""
        if trade.entry_done:
            return
        trade.entry_done = True
        self._disarm_expiry(trade)
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

    def _arm_expiry(self, trade: SignalTrade) -> None:
        """A limit entry rests until the signal's expiry at most (see ``_entry_expired``)."""
        expiry = trade.signal.expiry_at
        if trade.plan.entry_type is not OrderType.LIMIT or expiry is None:
            return  # a market entry fills (or ends) at once
        alarm = trade.expiry_alarm = f"signal-entry-expiry-{trade.signal.id}"
        self.clock.set_alarm(
            alarm, to_ns(expiry), lambda _: self._run(lambda: self._entry_expired(trade))
        )

    def _disarm_expiry(self, trade: SignalTrade) -> None:
        self._drop_alarm(trade.expiry_alarm)
        trade.expiry_alarm = None

    def _entry_expired(self, trade: SignalTrade) -> None:
        """The signal expired with its entry still resting: cancel the rest of it; its
        cancel ends the signal (unfilled) or protects what it filled (``_entry_failed``)."""
        trade.expiry_alarm = None
        if trade.entry_done or trade.phase is not TradePhase.EXECUTION:
            return
        entry = next(cid for cid, role in trade.roles.items() if role is Role.ENTRY)
        self._cancel(trade, entry, "the signal expired")

    def _entry_failed(self, trade: SignalTrade, reason: str) -> None:
        self._disarm_expiry(trade)
        if trade.entered > 0:
            self._entered(trade)
            return
        result = dict(trade.signal.validation_result or {}) | {"entry_failed": reason}
        if trade.signal.status is SignalStatus.VALIDATED:
            # (an entry that outlived its signal too: the design's signal lifecycle ends a
            # VALIDATED signal REJECTED; EXPIRED is from PENDING only)
            trade.signal.reject(result)
            self._emit_rejected(trade.signal, result)
        self._close_phase(trade, PhaseTrigger.ABANDONED)

    def _on_order_event(self, event: OrderEvent) -> None:
        self._run(lambda: self._order_event(event))

    def _order_event(self, event: OrderEvent) -> None:
        if isinstance(event, OrderSubmitted):
            trade = self._by_cid.get(event.client_order_id)
            if trade is None:
                trade = self._replacement(event.client_order_id)
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
            if self._replace_step(trade, cid, isinstance(event, OrderCancelled)):
                return
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

    def _replaced(self, cid: ClientOrderId) -> ClientOrderId | None:
        """The id that ``cid`` replaces in a cancel-replace, None for an original."""
        return None if self.replaced_id is None else self.replaced_id(cid)

    def _first_id(self, cid: ClientOrderId) -> ClientOrderId:
        """The order a chain of replacements began with (``X`` for ``X.r2``)."""
        while (original := self._replaced(cid)) is not None:
            cid = original
        return cid

    def _replacement(self, cid: ClientOrderId) -> SignalTrade | None:
        """The trade whose order ``cid`` replaces (a cancel-replace at a venue that cannot
        amend): ``cid`` takes that order's role, and its place once its cancel is in."""
        original = self._replaced(cid)
        trade = None if original is None else self._by_cid.get(original)
        if trade is None or original is None:
            return None
        self._by_cid[cid] = trade
        trade.roles[cid] = trade.roles[original]
        if original in trade.working:
            trade.replacing[original] = cid
        return trade

    def _replace_step(self, trade: SignalTrade, cid: ClientOrderId, cancelled: bool) -> bool:
        """Whether the end of ``cid`` is a step of a cancel-replace, not an order going
        away: the original's cancel hands its place to its replacement; a replacement
        dropped unsent (its original filled, or was cancelled, first) leaves the original."""
        replacement = trade.replacing.get(cid)
        if replacement is not None:
            if not cancelled:
                return False  # the original ended otherwise: its replacement is dropped
            del trade.replacing[cid]
            trade.working.discard(cid)
            trade.cancelling.discard(cid)
            trade.working.add(replacement)
            return True
        original = self._replaced(cid)
        if original is not None and trade.replacing.get(original) == cid:
            del trade.replacing[original]
            return True
        return False

    def _exit_filled(
        self, trade: SignalTrade, role: Role, cid: ClientOrderId, finished: bool
    ) -> None:
        if role in EXITS:
            self._exit_triggered(trade, "stop_loss" if role is Role.STOP_LOSS else "take_profit")
            remaining = trade.open_quantity
            for other in [c for c in trade.working if trade.roles[c] in EXITS and c != cid]:
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
        if trade.exit_pending and not any(trade.roles[c] in EXITS for c in trade.working):
            self._send_exit(trade)
        elif not refused and not ours and role in EXITS and trade.open_quantity > 0:
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
        protective = [c for c in trade.working if trade.roles[c] in EXITS]
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
                if (
                    stop is not None
                    and stop not in trade.replacing  # (amended once its replacement works)
                    and self._amend(trade, stop, stop_price=level)
                ):
                    trade.stop_price = level

    def _trail_level(self, trade: SignalTrade, price: Decimal) -> Decimal:
        trail = trade.plan.trailing_stop or Decimal(0)
        tick = trade.instrument.tick_size
        if trade.side is OrderSide.BUY:
            return (price * (1 - trail) / tick).to_integral_value(ROUND_FLOOR) * tick
        return (price * (1 + trail) / tick).to_integral_value(ROUND_CEILING) * tick

    def _settle(self, trade: SignalTrade) -> None:
        signal, plan = trade.signal, trade.plan
        for cid in list(trade.working):
            self._cancel(trade, cid, "position closed")
        self._drop_alarm(trade.holding_alarm)
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


_SIDES = {SignalType.BUY: OrderSide.BUY, SignalType.SELL: OrderSide.SELL}


def _role_of(client_order_id: str) -> tuple[Role, int]:
    """A signal's order's role and number from its client order id (``s-ID-sl2``)."""
    suffix = client_order_id.rsplit("-", 1)[1]
    name = suffix.rstrip("0123456789")
    number = suffix[len(name) :]
    return Role(name), int(number) if number else 0


def _on_tick(price: Decimal | None, trade: SignalTrade, *, away: bool) -> Decimal | None:
    """``price`` on the instrument's tick grid: a stop rounded away from the entry (lower
    for a long), a target rounded further into profit; None stays None."""
    if price is None:
        return None
    tick = trade.instrument.tick_size
    down = (trade.side is OrderSide.BUY) == away
    return (price / tick).to_integral_value(ROUND_FLOOR if down else ROUND_CEILING) * tick
