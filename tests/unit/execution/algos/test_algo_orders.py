"""Execution algorithms on a trading node and a simulated exchange with a hand-made book."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from algo_desk import BTC, SECOND, Desk

from omoitrade.core.errors import Conflict, ValidationError
from omoitrade.execution.algos import (
    MARKET_PRICING,
    AlgoCancelled,
    AlgoChildRejected,
    AlgoChildSent,
    AlgoCompleted,
    AlgoEngine,
    AlgoFailed,
    AlgoStarted,
    AlgoStatus,
    ChildPricing,
    IcebergParams,
    PovParams,
    PriceReference,
    RejectPolicy,
    TwapParams,
    VolumeProfile,
    VwapParams,
)
from omoitrade.execution.algos.engine import ORDER_EVENTS
from omoitrade.model import BreachAction, LimitType, OrderSide, OrderStatus, OrderType, UserRole
from omoitrade.risk import RiskConfig, TradingState
from omoitrade.testing import factories as f
from omoitrade.venues.sim.latency import LatencyModel

PASSIVE = ChildPricing(PriceReference.NEAR_TOUCH)
NO_DUPLICATE_CHECK = RiskConfig(duplicate_window_ns=None)


def sent(desk: Desk) -> list[AlgoChildSent]:
    return desk.of(AlgoChildSent)


def test_twap_slices_evenly_and_completes_exactly() -> None:
    desk = Desk()
    desk.quote("41990.00", "42010.00")
    start = desk.now()
    parent = desk.parent("1.2", start_ns=start, end_ns=start + 60 * SECOND)
    algo = desk.engine.submit(parent, TwapParams(interval_ns=10 * SECOND, pricing=MARKET_PRICING))
    for slice_number in range(1, 7):
        assert algo.filled_quantity == D("0.2") * slice_number  # a market child per slice
        if slice_number < 6:
            report = algo.report()
            assert report.scheduled_quantity == D("0.2") * (slice_number - 1)
            assert report.schedule_deviation == D("0.2")  # one slice ahead of the line
        desk.advance(10)
    children = sent(desk)
    assert [c.quantity for c in children] == [D("0.2")] * 6
    assert [c.at_ns - start for c in children] == [k * 10 * SECOND for k in range(6)]
    assert [c.client_order_id for c in children] == [f"{parent.id}:{n}" for n in range(1, 7)]
    report = algo.report()
    assert report.status is AlgoStatus.COMPLETED
    assert (report.filled_quantity, report.progress_pct, report.children) == (
        D("1.2"),
        D("100"),
        6,
    )
    position = desk.node.ledger.position(desk.portfolio.id, BTC.id)
    assert position is not None and position.quantity == D("1.2")
    assert isinstance(desk.events[0], AlgoStarted) and isinstance(desk.events[-1], AlgoCompleted)


def test_the_report_measures_slippage_against_the_arrival_mid() -> None:
    desk = Desk()
    desk.quote("41990.00", "42010.00")
    parent = desk.parent("0.5", end_ns=desk.now() + 10 * SECOND)
    algo = desk.engine.submit(parent, TwapParams(interval_ns=10 * SECOND, pricing=MARKET_PRICING))
    desk.advance(10)
    report = algo.report()
    assert report.status is AlgoStatus.COMPLETED
    assert (report.arrival_price, report.average_price) == (D("42000.00"), D("42010.00"))
    assert report.slippage_cost == D("10.00") * D("0.5")  # paid 10 above arrival for 0.5
    assert report.slippage_bps is not None
    assert round(report.slippage_bps, 6) == round(D("10") / D("42000") * 10_000, 6)
    assert report.quote_currency == "USD"


def test_a_partly_filled_twap_child_is_cancelled_and_its_rest_sent_again() -> None:
    desk = Desk()
    desk.rest(OrderSide.BUY, "10", "41990.00")
    desk.rest(OrderSide.SELL, "0.05", "42000.00")  # a thin touch
    desk.rest(OrderSide.SELL, "10", "42010.00")
    start = desk.now()
    parent = desk.parent("0.4", end_ns=start + 20 * SECOND)
    algo = desk.engine.submit(parent, TwapParams(interval_ns=10 * SECOND))  # at the far touch
    first = algo.children.by_client(sent(desk)[0].client_order_id)
    assert first is not None
    assert (first.status, first.filled, first.price) == (
        OrderStatus.PARTIAL,
        D("0.05"),
        D("42000.00"),
    )
    assert [r.leaves_quantity for r in desk.working()] == [D("0.15")]
    desk.advance(10)
    assert first.status is OrderStatus.CANCELLED and first.cancel_requested
    second = sent(desk)[1]
    assert (second.quantity, second.price) == (D("0.35"), D("42010.00"))  # rest + next slice
    assert algo.status is AlgoStatus.COMPLETED
    assert algo.filled_quantity == D("0.4")
    assert desk.working() == []


def test_vwap_follows_the_profile_weights() -> None:
    desk = Desk()
    desk.quote("41990.00", "42010.00")
    start = desk.now()
    parent = desk.parent("1", OrderSide.SELL, end_ns=start + 40 * SECOND)
    params = VwapParams(
        interval_ns=10 * SECOND, profile=VolumeProfile.of([1, 2, 3, 4]), pricing=MARKET_PRICING
    )
    algo = desk.engine.submit(parent, params)
    desk.advance(40)
    assert [c.quantity for c in sent(desk)] == [D("0.1"), D("0.2"), D("0.3"), D("0.4")]
    assert algo.status is AlgoStatus.COMPLETED and algo.filled_quantity == D("1")


def test_pov_trades_its_rate_of_the_others_volume_never_counting_its_own() -> None:
    desk = Desk(risk=NO_DUPLICATE_CHECK)  # two equal children go out at once
    desk.quote("41990.00", "42010.00", size="100")
    parent = desk.parent("0.5")
    params = PovParams(rate=D("0.1"), min_child=D("0.05"), max_child=D("0.2"))
    algo = desk.engine.submit(parent, params)
    assert algo.children.working_quantity() == 0 and len(algo.children) == 0
    desk.take(OrderSide.SELL, "0.3")  # due 0.03: below the minimum child
    assert len(algo.children) == 0
    desk.take(OrderSide.SELL, "0.7")  # due 0.1
    assert [c.quantity for c in sent(desk)] == [D("0.1")]
    assert algo.observed_volume == D("1.0")  # our own 0.1 printed too, not counted
    desk.take(OrderSide.SELL, "5")  # due 0.5 - 0.1, capped at 0.2 per child
    assert [c.quantity for c in sent(desk)] == [D("0.1"), D("0.2"), D("0.2")]
    assert algo.status is AlgoStatus.COMPLETED
    assert algo.observed_volume == D("6.0")
    assert algo.filled_quantity <= D("0.1") * algo.observed_volume


def test_iceberg_shows_only_its_display_quantity_and_refills_after_each_fill() -> None:
    desk = Desk(risk=NO_DUPLICATE_CHECK)
    desk.quote("41990.00", "42010.00")
    parent = desk.parent("1", limit_price=D("42000.00"))
    algo = desk.engine.submit(parent, IcebergParams(display_quantity=D("0.3")))
    assert [r.leaves_quantity for r in desk.working()] == [D("0.3")]
    desk.rest(OrderSide.SELL, "0.1", "42000.00")  # a partial fill: nothing more is shown
    assert [r.leaves_quantity for r in desk.working()] == [D("0.2")]
    assert len(algo.children) == 1
    desk.rest(OrderSide.SELL, "0.5", "42000.00")  # fills 0.2; the next child takes 0.3 at once
    assert algo.filled_quantity == D("0.6")
    assert [r.leaves_quantity for r in desk.working()] == [D("0.3")]
    desk.rest(OrderSide.SELL, "1", "42000.00")
    assert algo.status is AlgoStatus.COMPLETED and algo.filled_quantity == D("1")
    assert [c.quantity for c in sent(desk)] == [D("0.3"), D("0.3"), D("0.3"), D("0.1")]
    assert all(c.price == D("42000.00") and c.order_type is OrderType.LIMIT for c in sent(desk))


def test_an_icebergs_equal_refills_are_not_refused_as_duplicates() -> None:
    desk = Desk()  # the risk engine's duplicate check is on (1 s)
    desk.quote("41990.00", "42010.00")
    parent = desk.parent("0.6", limit_price=D("42000.00"))
    algo = desk.engine.submit(parent, IcebergParams(display_quantity=D("0.3")))
    desk.rest(OrderSide.SELL, "1", "42000.00")  # fills the first slice; the equal refill goes
    assert desk.of(AlgoChildRejected) == []
    assert algo.status is AlgoStatus.COMPLETED and algo.filled_quantity == D("0.6")
    assert algo.report().rejected_children == 0
    other = desk.parent("0.3", limit_price=D("42000.00"))  # another parent's equal slice
    desk.engine.submit(other, IcebergParams(display_quantity=D("0.3")))
    [refused] = desk.of(AlgoChildRejected)
    assert "risk.duplicate" in refused.reason


def test_cancelling_a_parent_cancels_its_children_at_the_venue_and_sends_no_more() -> None:
    desk = Desk()
    desk.quote("41990.00", "42010.00")
    parent = desk.parent("1", end_ns=desk.now() + 60 * SECOND)
    algo = desk.engine.submit(parent, TwapParams(interval_ns=10 * SECOND, pricing=PASSIVE))
    desk.advance(10)
    assert len(desk.working()) == 1 and len(algo.children) == 2
    report = desk.engine.cancel(parent.id, "desk decision")
    assert report.status is AlgoStatus.CANCELLED
    assert desk.working() == []
    assert all(not c.is_open for c in algo.children)
    desk.advance(120)
    assert len(algo.children) == 2 and desk.working() == []
    [cancelled] = desk.of(AlgoCancelled)
    assert cancelled.report.reason == "desk decision"
    order = desk.node.orders.order(desk.portfolio.id, sent(desk)[1].client_order_id)
    assert order is not None and order.cancel_reason == "parent cancel: desk decision"


def test_with_latency_a_cancelled_parent_stops_until_its_children_are_cancelled() -> None:
    desk = Desk(latency=LatencyModel(order_ack_ns=5_000_000))
    desk.quote("41990.00", "42010.00")
    desk.advance(1)
    parent = desk.parent("1", end_ns=desk.now() + 60 * SECOND)
    algo = desk.engine.submit(parent, TwapParams(interval_ns=10 * SECOND, pricing=PASSIVE))
    desk.advance(1)
    assert len(desk.working()) == 1
    algo.cancel("changed my mind")
    assert algo.status is AlgoStatus.STOPPING and len(desk.working()) == 1
    desk.advance(1)
    assert algo.status is AlgoStatus.CANCELLED and desk.working() == []


def test_a_rejected_child_fails_the_parent_by_default() -> None:
    desk = Desk()
    limit = f.make_risk_limit(
        desk.portfolio.id,
        limit_type=LimitType.MAX_ORDER_SIZE,
        instrument_id=BTC.id,
        limit_value=D("0.1"),
        action_on_breach=BreachAction.ALERT,
    )
    desk.node.risk.set_limits(desk.portfolio.id, [limit])
    desk.quote("41990.00", "42010.00")
    parent = desk.parent("1", end_ns=desk.now() + 50 * SECOND)
    algo = desk.engine.submit(parent, TwapParams(interval_ns=10 * SECOND))
    assert algo.status is AlgoStatus.FAILED
    assert algo.reason is not None and "risk.order_size" in algo.reason
    [failed] = desk.of(AlgoFailed)
    assert failed.report.rejected_children == 1
    desk.advance(60)
    assert len(algo.children) == 1


def test_with_continue_rejected_children_are_retried_until_too_many_in_a_row() -> None:
    desk = Desk()
    desk.quote("41990.00", "42010.00")
    desk.node.risk.set_limits(
        desk.portfolio.id,
        [
            f.make_risk_limit(
                desk.portfolio.id,
                limit_type=LimitType.MAX_ORDER_SIZE,
                instrument_id=BTC.id,
                limit_value=D("0.1"),
                action_on_breach=BreachAction.ALERT,
            )
        ],
    )
    parent = desk.parent("1", end_ns=desk.now() + 50 * SECOND)
    params = TwapParams(
        interval_ns=10 * SECOND,
        on_reject=RejectPolicy.CONTINUE,
        max_rejects=2,
        retry_after_ns=SECOND,
    )
    algo = desk.engine.submit(parent, params)
    desk.advance(1)
    assert algo.status is AlgoStatus.WORKING and len(algo.children) == 2
    desk.advance(1)
    assert algo.status is AlgoStatus.FAILED and len(algo.children) == 3
    assert [c.at_ns - sent(desk)[0].at_ns for c in sent(desk)] == [0, SECOND, 2 * SECOND]


def test_a_child_cancelled_outside_the_algorithm_fails_the_parent() -> None:
    desk = Desk()
    desk.quote("41990.00", "42010.00")
    parent = desk.parent("1", end_ns=desk.now() + 60 * SECOND)
    algo = desk.engine.submit(parent, TwapParams(interval_ns=10 * SECOND, pricing=PASSIVE))
    admin = f.make_user(f.make_organization(), role=UserRole.ADMIN)
    desk.node.risk.set_trading_state(desk.portfolio.id, TradingState.HALTED, admin, "review")
    assert algo.status is AlgoStatus.FAILED
    assert algo.reason is not None and "trading halted: review" in algo.reason


def test_a_restarted_engine_takes_over_the_children_already_sent() -> None:
    desk = Desk()
    desk.quote("41990.00", "42010.00")
    start = desk.now()
    parent = desk.parent(
        "0.6", start_ns=start, end_ns=start + 30 * SECOND, arrival_price=D("42000.00")
    )
    params = TwapParams(interval_ns=10 * SECOND, pricing=ChildPricing(PriceReference.NEAR_TOUCH, 1))
    first = desk.engine.submit(parent, params)
    desk.advance(5)
    desk.take(OrderSide.SELL, "0.05")  # hits our bid at 41990.01
    assert first.filled_quantity == D("0.05") and len(first.children) == 1
    # the process dies: its engine and timers are gone, its orders stay
    desk.bus.unsubscribe(ORDER_EVENTS, desk.engine._on_order_event)
    for name in desk.clock.timer_names():
        if name.startswith(f"algo-{parent.id}-"):
            desk.clock.cancel(name)
    engine = AlgoEngine(desk.node.orders, desk.clock, desk.bus)
    desk.exchange.on_market_data(engine.on_market_data)
    again = engine.submit(parent, params)
    # its first slice replaces the adopted child: numbering goes on, nothing is sent twice
    assert [c.client_order_id for c in again.children] == [f"{parent.id}:1", f"{parent.id}:2"]
    adopted, fresh = again.children
    assert adopted.status is OrderStatus.CANCELLED and adopted.filled == D("0.05")
    assert fresh.quantity == D("0.3") - D("0.05")  # the target by the next slice (t=15 s)
    assert [r.client_order_id for r in desk.working()] == [fresh.client_order_id]
    desk.advance(30)
    assert again.status is AlgoStatus.COMPLETED and again.filled_quantity == D("0.6")
    report = again.report()
    assert report.arrival_price == D("42000.00") and report.filled_children >= 1


def test_the_same_parent_twice_is_one_algorithm_and_other_terms_conflict() -> None:
    desk = Desk()
    desk.quote("41990.00", "42010.00")
    parent = desk.parent("1", end_ns=desk.now() + 60 * SECOND)
    params = TwapParams(interval_ns=10 * SECOND, pricing=PASSIVE)
    algo = desk.engine.submit(parent, params)
    assert desk.engine.submit(parent, params) is algo
    with pytest.raises(Conflict):
        desk.engine.submit(parent, TwapParams(interval_ns=5 * SECOND))
    with pytest.raises(ValidationError, match="end_ns"):
        desk.engine.submit(desk.parent("1"), params)
    with pytest.raises(ValidationError, match="limit_price"):
        desk.engine.submit(desk.parent("1"), IcebergParams(display_quantity=D("0.1")))


def test_a_parent_starts_at_its_start_time_and_expires_at_its_end_if_asked() -> None:
    desk = Desk()
    desk.quote("41990.00", "42010.00")
    start = desk.now() + 30 * SECOND
    parent = desk.parent("1", start_ns=start, end_ns=start + 20 * SECOND)
    params = TwapParams(interval_ns=10 * SECOND, pricing=PASSIVE, complete_at_end=False)
    algo = desk.engine.submit(parent, params)
    desk.advance(29)
    assert algo.status is AlgoStatus.PENDING and len(algo.children) == 0
    desk.advance(1)
    assert algo.status is AlgoStatus.WORKING and len(algo.children) == 1
    desk.advance(20)
    assert algo.status is AlgoStatus.EXPIRED
    assert algo.reason == "end time reached with 1 left"
    assert desk.working() == []
