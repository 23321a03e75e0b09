"""Signals through the five phases on a real trading node and simulated exchange."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

from signal_world import BTC, FULL_CYCLE, MAKER, SECOND, TAKER, World

from omoitrade.core.approvals import ApprovalDesk, ApprovalStatus, NamedPolicy
from omoitrade.model.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    SignalStatus,
    SignalType,
    TradePhase,
)
from omoitrade.model.identifiers import ClientOrderId
from omoitrade.runtime.signal_wiring import signal_pipeline
from omoitrade.signals.pipeline import SignalPipeline
from omoitrade.signals.plan import SignalSettings
from omoitrade.signals.trade import Role
from omoitrade.testing import factories as f


def test_a_signal_runs_every_phase_and_its_take_profit_cancels_the_stop() -> None:
    w = World()
    signal = w.send(w.signal())
    assert signal.status is SignalStatus.EXECUTED
    entry = w.order(signal, Role.ENTRY)
    assert (entry.status, entry.average_fill_price) == (OrderStatus.FILLED, D("42000.00"))
    stop, target = w.order(signal, Role.STOP_LOSS), w.order(signal, Role.TAKE_PROFIT)
    assert (stop.order_type, stop.stop_price, stop.side) == (
        OrderType.STOP,
        D("41000.00"),
        OrderSide.SELL,
    )
    assert (target.order_type, target.price, target.quantity) == (
        OrderType.LIMIT,
        D("43000.00"),
        D("0.5"),
    )
    assert w.pipeline.trade(w.strategy_id, BTC.id).phase is TradePhase.MANAGEMENT  # type: ignore[union-attr]
    w.rest(TAKER, OrderSide.BUY, "43000.00", "15")  # takes the 42000 asks, then our target
    assert target.status is OrderStatus.FILLED
    assert stop.status is OrderStatus.CANCELLED  # by the venue: the pair is one OCO group
    assert stop.oco_group == target.oco_group == f"s-{signal.id}"
    assert w.phases(signal) == FULL_CYCLE
    settled = w.settled(signal)
    assert settled.realized_pnl == D("0.5") * (D("43000.00") - D("42000.00"))
    assert (settled.strategy_version, settled.agent) == (1, None)
    assert w.pipeline.realized_by_version[(w.strategy_id, 1)] == settled.realized_pnl
    assert w.pipeline.trade(w.strategy_id, BTC.id) is None
    assert w.node.ledger.signed_quantities(w.portfolio.id).get(BTC.id, D(0)) == 0


def test_the_stop_loss_closes_a_losing_trade_and_cancels_the_target() -> None:
    w = World()
    signal = w.send(w.signal(), w.plan(agent="bot-7", strategy_version=3))
    w.rest(TAKER, OrderSide.SELL, "40950.00", "15")  # through the bid: the stop triggers
    stop, target = w.order(signal, Role.STOP_LOSS), w.order(signal, Role.TAKE_PROFIT)
    assert stop.status is OrderStatus.FILLED and target.status is OrderStatus.CANCELLED
    settled = w.settled(signal)
    assert settled.realized_pnl == D("0.5") * (stop.average_fill_price - D("42000.00"))
    assert settled.realized_pnl < 0
    assert w.pipeline.realized_by_agent["bot-7"] == settled.realized_pnl
    assert w.pipeline.realized_by_version[(w.strategy_id, 3)] == settled.realized_pnl


def test_after_a_partial_take_profit_a_stop_protects_what_is_left() -> None:
    w = World()
    signal = w.send(w.signal())
    w.rest(TAKER, OrderSide.BUY, "43000.00", "9.7")  # 9.5 left at 42000, then 0.2 of ours
    first_stop, target = w.order(signal, Role.STOP_LOSS), w.order(signal, Role.TAKE_PROFIT)
    assert (target.status, target.filled_quantity) == (OrderStatus.PARTIAL, D("0.2"))
    assert first_stop.status is OrderStatus.CANCELLED  # the venue's OCO, on the first fill
    stop = w.order(signal, Role.STOP_LOSS, 1)  # put back for what is left, same group
    assert (stop.quantity, stop.stop_price, stop.status) == (
        D("0.3"),
        D("41000.00"),
        OrderStatus.SUBMITTED,
    )
    assert stop.oco_group == target.oco_group
    assert w.phases(signal)[-1] is TradePhase.SETTLEMENT
    w.rest(TAKER, OrderSide.SELL, "40950.00", "15")
    assert stop.status is OrderStatus.FILLED and target.status is OrderStatus.CANCELLED
    assert w.settled(signal).realized_pnl == (
        D("0.2") * D("1000.00") + D("0.3") * (stop.average_fill_price - D("42000.00"))
    )


def test_a_close_signal_exits_at_market_after_the_pair_is_cancelled() -> None:
    w = World()
    opened = w.send(w.signal())
    again = w.send(w.signal())
    assert again.status is SignalStatus.REJECTED
    assert again.validation_result["rejected"]["code"] == "already_in_trade"  # type: ignore[index]
    close = w.send(w.signal(SignalType.CLOSE, stop_loss=None, take_profit=None))
    assert close.status is SignalStatus.EXECUTED
    assert w.order(opened, Role.STOP_LOSS).status is OrderStatus.CANCELLED
    exit_order = w.order(opened, Role.EXIT, 1)
    assert exit_order is not None and exit_order.status is OrderStatus.FILLED
    assert w.settled(opened).realized_pnl == D("0.5") * (D("41990.00") - D("42000.00"))
    assert w.phases(opened) == FULL_CYCLE


def test_the_holding_time_runs_out_with_a_market_exit() -> None:
    w = World()
    signal = w.send(w.signal(), w.plan(max_holding_ns=60 * SECOND))
    w.clock.advance_by(59 * SECOND)
    assert w.pipeline.trade(w.strategy_id, BTC.id) is not None
    w.clock.advance_by(1 * SECOND)
    assert w.pipeline.trade(w.strategy_id, BTC.id) is None
    assert w.settled(signal).realized_pnl == D("0.5") * D("-10.00")
    reasons = [
        e.reason for e in w.events if getattr(e, "reason", None) and e.signal_id == signal.id
    ]  # type: ignore[attr-defined]
    assert reasons == ["max_holding_time"]


def test_a_trailing_stop_follows_the_price_up_and_then_closes_the_trade() -> None:
    w = World()
    assert not w.pipeline.trails(BTC.id)  # no open trade: a price moves nothing
    signal = w.send(w.signal(stop_loss=None, take_profit=None), w.plan(trailing_stop=D("0.02")))
    stop = w.order(signal, Role.STOP_LOSS)
    assert stop.stop_price == D("41160.00")  # 2% under the 42000 entry
    assert w.pipeline.trails(BTC.id)
    w.rest(MAKER, OrderSide.SELL, "44000.00", "10")
    w.rest(TAKER, OrderSide.BUY, "44000.00", "12")  # trades up to 44000
    assert stop.stop_price == D("43120.00")  # 2% under 44000
    w.rest(MAKER, OrderSide.BUY, "43000.00", "30")
    w.rest(TAKER, OrderSide.SELL, "43000.00", "10")  # trades at 43000: under the stop
    assert (stop.status, stop.average_fill_price) == (OrderStatus.FILLED, D("43000.00"))
    assert w.settled(signal).realized_pnl == D("0.5") * D("1000.00")
    assert not w.pipeline.trails(BTC.id)  # settled: nothing left to trail


def test_only_a_trade_with_a_trailing_stop_makes_its_instrument_trail() -> None:
    w = World()
    signal = w.send(w.signal())  # a fixed stop and target
    assert w.pipeline.trade(w.strategy_id, BTC.id) is not None
    assert not w.pipeline.trails(BTC.id)
    assert signal.status is SignalStatus.EXECUTED


def test_a_risk_rejection_ends_the_signal_with_the_code_and_frees_the_phase() -> None:
    w = World()
    too_big = w.send(w.signal(), w.plan(quantity=D("6")))
    assert too_big.status is SignalStatus.REJECTED
    gates = too_big.validation_result["gates"]  # type: ignore[index]
    assert gates["risk"]["passed"] is False and gates["risk"]["code"] == "risk.order_size"
    assert w.phases(too_big) == [TradePhase.VALIDATION, TradePhase.SIGNAL]
    assert w.send(w.signal()).status is SignalStatus.EXECUTED


def test_a_stop_the_risk_engine_refuses_closes_the_unprotected_position() -> None:
    w = World()
    signal = w.send(w.signal(stop_loss=D("30000.00")))  # 28% away: outside the 10% collar
    assert w.order(signal, Role.STOP_LOSS).status is OrderStatus.REJECTED
    assert w.pipeline.trade(w.strategy_id, BTC.id) is None
    exits = [e for e in w.events if getattr(e, "reason", None) == "protection_refused"]
    assert len(exits) == 1
    assert w.node.ledger.signed_quantities(w.portfolio.id).get(BTC.id, D(0)) == 0


def test_a_high_value_signal_waits_for_approval_then_trades() -> None:
    w = World(SignalSettings(high_value_notional=D("10000")))
    signal = w.send(w.signal())
    assert signal.status is SignalStatus.PENDING
    (request,) = w.desk.pending()
    assert (
        request.gate == "high_value"
        and request.facts["gates"]["high_value"]["notional"] == "20997.500"  # at the mid
    )
    w.desk.approve(request.id, "risk@desk", "within today's mandate")
    assert signal.status is SignalStatus.EXECUTED
    assert signal.validation_result["approval"]["decided_by"] == "risk@desk"  # type: ignore[index]


def test_a_rejected_or_expired_approval_ends_the_signal() -> None:
    w = World(SignalSettings(high_value_notional=D("10000")))
    refused = w.send(w.signal())
    (request,) = w.desk.pending()
    w.desk.reject(request.id, "risk@desk", "not today")
    assert refused.status is SignalStatus.REJECTED
    assert w.phases(refused) == [TradePhase.VALIDATION, TradePhase.SIGNAL]
    late = w.send(w.signal(expiry_at=w.clock.utc_now() + timedelta(seconds=30)))
    (request,) = w.desk.pending()
    w.clock.advance_by(30 * SECOND)
    assert late.status is SignalStatus.EXPIRED
    assert (
        request.status is ApprovalStatus.REJECTED and request.decided_by == "system:signal-expiry"
    )


def test_a_policy_approves_below_its_notional_and_is_recorded_as_such() -> None:
    policy = NamedPolicy(
        "below-50k",
        lambda r: (
            "notional below 50,000"
            if D(r.facts["gates"]["high_value"]["notional"]) < 50_000
            else None
        ),
    )
    w = World(SignalSettings(high_value_notional=D("10000")), [policy])
    signal = w.send(w.signal())
    assert signal.status is SignalStatus.EXECUTED
    approval = signal.validation_result["approval"]  # type: ignore[index]
    assert approval["auto"] is True and approval["decided_by"] == "policy:below-50k"


def test_a_nearly_full_limit_pauses_the_strategy_when_so_configured() -> None:
    w = World(SignalSettings(pause_strategy_on_limit_alert=True))
    for limit in w.node.risk.limits(w.portfolio.id):
        limit.current_value = D("4.5")  # 90% of the order size limit
    signal = w.send(w.signal())
    assert signal.status is SignalStatus.REJECTED
    assert w.paused and "max_order_size at 90%" in w.paused[0][1]


def test_no_price_fails_closed() -> None:
    w = World()
    other = f.make_instrument(symbol="ETH/USD")
    w.pipeline.instruments = {**w.pipeline.instruments, other.id: other}
    signal = w.pipeline.submit(
        f.make_signal(
            w.strategy_id,
            other,
            entry_price=None,
            created_at=w.clock.utc_now(),
            expiry_at=w.clock.utc_now() + timedelta(minutes=1),
        ),
        w.plan(),
    )
    assert signal.status is SignalStatus.REJECTED
    assert signal.validation_result["rejected"]["code"] == "no_reference_price"  # type: ignore[index]


def test_expired_and_malformed_signals_never_trade() -> None:
    w = World()
    stale = w.signal(
        created_at=w.clock.utc_now() - timedelta(minutes=2), expiry_at=w.clock.utc_now()
    )
    assert w.send(stale).status is SignalStatus.EXPIRED
    upside_down = w.send(w.signal(entry_price=D("42000.00"), stop_loss=D("42500.00")))
    assert upside_down.status is SignalStatus.REJECTED
    assert "stop loss 42500.00 must be below the entry 42000.00" in str(
        upside_down.validation_result
    )
    nothing = w.send(w.signal(SignalType.CLOSE))
    assert nothing.validation_result["rejected"]["code"] == "nothing_to_close"  # type: ignore[index]
    hold = w.send(w.signal(SignalType.HOLD))
    assert hold.status is SignalStatus.VALIDATED
    assert w.node.orders.open_orders(w.portfolio.id) == []


def test_a_shadow_signal_is_validated_and_recorded_but_never_traded() -> None:
    w = World(SignalSettings(high_value_notional=D("10000")))
    signal = w.send(w.signal(), w.plan(shadow=True))
    assert signal.status is SignalStatus.VALIDATED
    result = signal.validation_result
    assert result is not None and result["shadow"] is True
    assert result["gates"]["high_value"]["passed"] is False  # recorded, no approval filed
    assert w.desk.pending() == [] and w.node.orders.open_orders(w.portfolio.id) == []
    assert w.phases(signal) == [TradePhase.VALIDATION, TradePhase.SIGNAL]
    assert w.send(w.signal()).status is SignalStatus.PENDING  # the slot is free


def restart_pipeline(w: World) -> SignalPipeline:
    """A new pipeline on the same node, as after a restart (the old one stops listening)."""
    w.bus.unsubscribe("events.order.*", w.pipeline._on_order_event)
    return signal_pipeline(w.node, ApprovalDesk(w.clock, w.node.ids))


def signal_orders(w: World, signal: object) -> list[object]:
    suffixes = ["e", "sl0", "tp0", "sl1", "tp1", "x1", "x2"]
    found = [w.order(signal, Role.ENTRY)]  # type: ignore[arg-type]
    for suffix in suffixes[1:]:
        cid = ClientOrderId(f"s-{signal.id}-{suffix}")  # type: ignore[attr-defined]
        order = w.node.orders.registry.by_client(w.portfolio.id, cid)
        if order is not None:
            found.append(order)
    return found


def test_an_open_trade_is_taken_back_after_a_restart_and_settles_with_its_entry() -> None:
    w = World()
    signal = w.send(w.signal(), w.plan(agent="bot-1", strategy_version=4))
    again = restart_pipeline(w)
    trade = again.adopt(signal, signal_orders(w, signal))  # type: ignore[arg-type]
    assert trade is not None and trade.phase is TradePhase.MANAGEMENT
    assert (trade.entered, trade.stop_price, trade.target_price) == (
        D("0.5"),
        D("41000.00"),
        D("43000.00"),
    )
    assert again.trade(w.strategy_id, BTC.id) is trade
    w.rest(TAKER, OrderSide.BUY, "43000.00", "15")  # the target fills after the restart
    assert again.trade(w.strategy_id, BTC.id) is None
    assert w.settled(signal).realized_pnl == D("500.000000")
    assert again.realized_by_agent["bot-1"] == D("500.000000")
    assert again.realized_by_version[(w.strategy_id, 4)] == D("500.000000")


def test_a_trade_that_closed_while_down_is_settled_when_taken_back() -> None:
    w = World()
    signal = w.send(w.signal())
    w.bus.unsubscribe("events.order.*", w.pipeline._on_order_event)  # the process is down
    w.rest(TAKER, OrderSide.SELL, "40950.00", "15")  # the stop fills meanwhile
    again = signal_pipeline(w.node, ApprovalDesk(w.clock, w.node.ids))
    again.adopt(signal, signal_orders(w, signal))  # type: ignore[arg-type]
    settled = w.settled(signal)
    assert settled.realized_pnl < 0 and again.trade(w.strategy_id, BTC.id) is None
