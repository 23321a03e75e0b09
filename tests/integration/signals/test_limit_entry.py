"""Limit entries: a signal's entry resting at its entry price until the market comes to it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

from signal_world import BTC, FULL_CYCLE, SECOND, TAKER, World
from test_signal_pipeline import restart_pipeline

from omoitrade.model import Signal
from omoitrade.model.enums import OrderSide, OrderStatus, OrderType, SignalStatus, TradePhase
from omoitrade.signals.trade import Role


def test_a_limit_entry_without_an_entry_price_is_rejected() -> None:
    w = World()
    signal = w.send(w.signal(entry_price=None), w.plan(entry_type=OrderType.LIMIT))
    assert signal.status is SignalStatus.REJECTED
    assert signal.validation_result == {
        "rejected": {
            "code": "invalid_signal",
            "reason": "a limit entry needs the signal's entry price",
        }
    }
    assert w.order(signal, Role.ENTRY) is None
    assert w.pipeline.trade(w.strategy_id, BTC.id) is None


def test_a_limit_entry_rests_at_its_price_and_executes_only_when_it_fills() -> None:
    w = World()
    signal = w.send(w.signal(entry_price=D("41500.00")), w.plan(entry_type=OrderType.LIMIT))
    entry = w.order(signal, Role.ENTRY)
    assert (entry.order_type, entry.side, entry.price, entry.quantity, entry.status) == (
        OrderType.LIMIT,
        OrderSide.BUY,
        D("41500.00"),
        D("0.5"),
        OrderStatus.SUBMITTED,
    )
    assert signal.status is SignalStatus.VALIDATED  # not EXECUTED while the entry rests
    assert w.order(signal, Role.STOP_LOSS) is None and w.order(signal, Role.TAKE_PROFIT) is None
    assert w.pipeline.trade(w.strategy_id, BTC.id).phase is TradePhase.EXECUTION  # type: ignore[union-attr]
    w.clock.advance_by(10 * SECOND)
    w.rest(TAKER, OrderSide.SELL, "41500.00", "10.5")  # the 41990 bids, then our 41500
    assert (entry.status, entry.average_fill_price) == (OrderStatus.FILLED, D("41500.00"))
    assert signal.status is SignalStatus.EXECUTED
    stop, target = w.order(signal, Role.STOP_LOSS), w.order(signal, Role.TAKE_PROFIT)
    assert (stop.order_type, stop.stop_price, stop.quantity, stop.status) == (
        OrderType.STOP,
        D("41000.00"),
        D("0.5"),
        OrderStatus.SUBMITTED,
    )
    assert (target.order_type, target.price, target.status) == (
        OrderType.LIMIT,
        D("43000.00"),
        OrderStatus.SUBMITTED,
    )
    assert stop.oco_group == target.oco_group == f"s-{signal.id}"
    w.rest(TAKER, OrderSide.BUY, "43000.00", "15")
    assert w.settled(signal).realized_pnl == D("0.5") * (D("43000.00") - D("41500.00"))
    assert w.phases(signal) == FULL_CYCLE


def test_a_cancelled_unfilled_limit_entry_ends_the_signal_and_frees_the_slot() -> None:
    w = World()
    signal = w.send(w.signal(entry_price=D("41500.00")), w.plan(entry_type=OrderType.LIMIT))
    entry = w.order(signal, Role.ENTRY)
    w.node.orders.cancel(w.portfolio.id, entry.client_order_id, "no longer wanted")
    assert entry.status is OrderStatus.CANCELLED
    assert signal.status is SignalStatus.REJECTED
    assert signal.validation_result["entry_failed"] == "entry order ended: no longer wanted"  # type: ignore[index]
    assert w.phases(signal) == [TradePhase.VALIDATION, TradePhase.EXECUTION, TradePhase.SIGNAL]
    assert w.pipeline.trade(w.strategy_id, BTC.id) is None
    assert w.order(signal, Role.STOP_LOSS) is None
    assert w.node.orders.open_orders(w.portfolio.id) == []
    assert w.send(w.signal()).status is SignalStatus.EXECUTED  # the slot is free again


def test_a_limit_entry_partly_filled_then_cancelled_protects_what_it_got() -> None:
    w = World()
    signal = w.send(w.signal(entry_price=D("41500.00")), w.plan(entry_type=OrderType.LIMIT))
    entry = w.order(signal, Role.ENTRY)
    w.rest(TAKER, OrderSide.SELL, "41500.00", "10.2")  # the 41990 bids, then 0.2 of ours
    assert (entry.status, entry.filled_quantity) == (OrderStatus.PARTIAL, D("0.2"))
    assert signal.status is SignalStatus.VALIDATED
    w.node.orders.cancel(w.portfolio.id, entry.client_order_id, "enough")
    assert signal.status is SignalStatus.EXECUTED
    assert w.order(signal, Role.STOP_LOSS).quantity == D("0.2")


def expiring(w: World, seconds: int = 30) -> Signal:
    """A limit entry resting at 41500 (under the 41990 bids) for a signal that expires."""
    expiry = w.clock.utc_now() + timedelta(seconds=seconds)
    return w.send(
        w.signal(entry_price=D("41500.00"), expiry_at=expiry), w.plan(entry_type=OrderType.LIMIT)
    )


def expiry_alarms(w: World) -> list[str]:
    return [name for name in w.clock.timer_names() if name.startswith("signal-entry-expiry-")]


def test_an_unfilled_limit_entry_ends_when_the_signal_expires() -> None:
    w = World()
    signal = expiring(w)
    w.clock.advance_by(29 * SECOND)
    assert w.order(signal, Role.ENTRY).status is OrderStatus.SUBMITTED  # not before
    w.clock.advance_by(2 * SECOND)
    assert w.order(signal, Role.ENTRY).status is OrderStatus.CANCELLED
    # (the signal was VALIDATED: its lifecycle ends it REJECTED, EXPIRED is from PENDING)
    assert signal.status is SignalStatus.REJECTED
    assert signal.validation_result["entry_failed"] == "entry order ended: the signal expired"  # type: ignore[index]
    assert w.phases(signal) == [TradePhase.VALIDATION, TradePhase.EXECUTION, TradePhase.SIGNAL]
    assert w.pipeline.trade(w.strategy_id, BTC.id) is None
    assert w.order(signal, Role.STOP_LOSS) is None
    assert w.node.orders.open_orders(w.portfolio.id) == []
    assert expiry_alarms(w) == []
    assert w.send(w.signal()).status is SignalStatus.EXECUTED  # the slot is free again


def test_a_limit_entry_partly_filled_by_the_expiry_is_cancelled_for_the_rest() -> None:
    w = World()
    signal = expiring(w)
    entry = w.order(signal, Role.ENTRY)
    w.rest(TAKER, OrderSide.SELL, "41500.00", "10.2")  # the 41990 bids, then 0.2 of ours
    assert signal.status is SignalStatus.VALIDATED
    w.clock.advance_by(30 * SECOND)
    assert (entry.status, entry.filled_quantity) == (OrderStatus.CANCELLED, D("0.2"))
    assert signal.status is SignalStatus.EXECUTED
    stop, target = w.order(signal, Role.STOP_LOSS), w.order(signal, Role.TAKE_PROFIT)
    assert (stop.quantity, stop.status) == (D("0.2"), OrderStatus.SUBMITTED)
    assert (target.quantity, target.status) == (D("0.2"), OrderStatus.SUBMITTED)
    assert w.pipeline.trade(w.strategy_id, BTC.id).phase is TradePhase.MANAGEMENT  # type: ignore[union-attr]
    w.rest(TAKER, OrderSide.BUY, "43000.00", "15")
    assert w.settled(signal).realized_pnl == D("0.2") * (D("43000.00") - D("41500.00"))


def test_a_limit_entry_that_fills_first_is_left_alone_by_the_expiry() -> None:
    w = World()
    signal = expiring(w)
    assert len(expiry_alarms(w)) == 1
    w.rest(TAKER, OrderSide.SELL, "41500.00", "10.5")
    assert signal.status is SignalStatus.EXECUTED
    assert expiry_alarms(w) == []  # cancelled by the fill
    w.clock.advance_by(60 * SECOND)
    assert w.order(signal, Role.STOP_LOSS).status is OrderStatus.SUBMITTED
    assert w.pipeline.trade(w.strategy_id, BTC.id).phase is TradePhase.MANAGEMENT  # type: ignore[union-attr]


def test_a_limit_entry_cancelled_before_the_expiry_leaves_no_alarm() -> None:
    w = World()
    signal = expiring(w)
    w.node.orders.cancel(w.portfolio.id, w.order(signal, Role.ENTRY).client_order_id, "no")
    assert signal.status is SignalStatus.REJECTED
    assert expiry_alarms(w) == []


def test_a_market_entry_has_no_expiry_alarm() -> None:
    w = World()
    signal = w.send(w.signal(expiry_at=w.clock.utc_now() + timedelta(seconds=30)))
    assert signal.status is SignalStatus.EXECUTED
    assert expiry_alarms(w) == []


def test_a_resting_limit_entry_taken_back_after_a_restart_still_ends_at_the_expiry() -> None:
    w = World()
    signal = expiring(w)
    for alarm in expiry_alarms(w):  # the process that set it is gone
        w.clock.cancel(alarm)
    again = restart_pipeline(w)
    trade = again.adopt(signal, [w.order(signal, Role.ENTRY)])
    assert trade is not None and trade.phase is TradePhase.EXECUTION
    assert len(expiry_alarms(w)) == 1
    w.clock.advance_by(31 * SECOND)
    assert w.order(signal, Role.ENTRY).status is OrderStatus.CANCELLED
    assert signal.status is SignalStatus.REJECTED
    assert again.trade(w.strategy_id, BTC.id) is None
