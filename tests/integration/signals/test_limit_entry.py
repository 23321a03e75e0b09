"""Limit entries: a signal's entry resting at its entry price until the market comes to it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from signal_world import BTC, FULL_CYCLE, SECOND, TAKER, World

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


@pytest.mark.xfail(
    strict=True,
    reason="the pipeline leaves a resting limit entry working past the signal's expiry "
    "(nothing cancels it: signals/pipeline.py)",
)
def test_an_unfilled_limit_entry_ends_when_the_signal_expires() -> None:
    w = World()
    expiry = w.clock.utc_now() + timedelta(seconds=30)
    signal = w.send(
        w.signal(entry_price=D("41500.00"), expiry_at=expiry), w.plan(entry_type=OrderType.LIMIT)
    )
    w.clock.advance_by(31 * SECOND)
    assert w.order(signal, Role.ENTRY).status is OrderStatus.CANCELLED
    assert signal.status in (SignalStatus.EXPIRED, SignalStatus.REJECTED)
    assert w.pipeline.trade(w.strategy_id, BTC.id) is None
