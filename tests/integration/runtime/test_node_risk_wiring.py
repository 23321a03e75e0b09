"""The trading node's risk wiring: price moves re-measure the limits, the strategy throttle
is connected and survives a restart (re-enabling too), and fills carry their order's strategy
to the ledger, across a cancel-replace as well."""

from __future__ import annotations

import sys
from decimal import Decimal as D
from pathlib import Path

import pytest
from test_trading_node import BTC, MAKER, ME, World

from omoitrade.core.bus import MessageBus
from omoitrade.model.enums import (
    BreachAction,
    LimitType,
    OrderSide,
    OrderStatus,
    OrderType,
    UserRole,
)
from omoitrade.model.events import (
    RiskLimitBreached,
    RiskLimitWarning,
    StrategyReEnabled,
    StrategyThrottled,
)
from omoitrade.model.identifiers import ClientOrderId, StrategyId
from omoitrade.model.market_data import TradeTick
from omoitrade.model.venue import SubmitOrder
from omoitrade.risk import ReasonCode, TradingState
from omoitrade.risk.config import ThrottleConfig
from omoitrade.runtime.paper_resume import stored_events
from omoitrade.runtime.trading_node import PortfolioSetup, TradingNode, TradingNodeConfig
from omoitrade.store import Database
from omoitrade.store.order_journal import SqlOrderJournal
from omoitrade.testing import factories as f

sys.path.append(str(Path(__file__).resolve().parents[2] / "unit" / "execution"))
from test_cancel_replace import NoAmendVenue  # the venue double, shared

DAILY_LOSS_HALT = {
    "limit_type": LimitType.MAX_DAILY_LOSS,
    "limit_value": D("2500"),
    "action_on_breach": BreachAction.HALT,
}


# --- limits re-measured on price moves ----------------------------------------------------------
def test_a_mark_alone_warns_then_breaches_a_daily_loss_limit_and_halts() -> None:
    w = World(limits=[DAILY_LOSS_HALT])
    w.order("b1", OrderSide.BUY, "0.5")  # at 42000.00, from equity 100000
    resting = w.order("b2", OrderSide.BUY, "0.1", "41000.00")
    [limit] = [
        r for r in w.node.risk.limits(w.portfolio.id) if r.limit_type is LimitType.MAX_DAILY_LOSS
    ]
    warnings = w.published(RiskLimitWarning.topic)
    breaches = w.published(RiskLimitBreached.topic)

    w.mark("37990.00", "38010.00")  # 0.5 x 4000 lost: 2000, 80% of the limit
    assert [e.limit_id for e in warnings] == [limit.id]
    assert limit.current_value == D("2000") and not limit.is_breached
    assert w.node.risk.trading_state(w.portfolio.id) is TradingState.ACTIVE
    assert resting.is_open

    w.mark("35990.00", "36010.00")  # 3000 lost: past the limit, with no fill in between
    assert limit.current_value == D("3000") and limit.is_breached
    assert [e.limit_id for e in breaches] == [limit.id]
    assert w.node.risk.trading_state(w.portfolio.id) is TradingState.HALTED
    assert resting.status is OrderStatus.CANCELLED
    assert resting.cancel_reason is not None
    assert resting.cancel_reason.startswith("trading halted: MAX_DAILY_LOSS breached")


def test_a_mark_breaches_a_drawdown_limit_set_to_reduce() -> None:
    w = World(
        limits=[
            {
                "limit_type": LimitType.MAX_DRAWDOWN,
                "limit_value": D("1000"),
                "action_on_breach": BreachAction.REDUCE,
            }
        ]
    )
    w.order("b1", OrderSide.BUY, "0.5")
    w.mark("43990.00", "44010.00")  # a new high-water mark: 0.5 x 2000 above the cost
    assert w.node.risk.trading_state(w.portfolio.id) is TradingState.ACTIVE
    w.mark("41590.00", "41610.00")  # 0.5 x 2400 below it: a drawdown of 1200
    assert w.node.risk.trading_state(w.portfolio.id) is TradingState.REDUCING


def test_a_trade_tick_moving_the_reference_price_breaches_a_gross_exposure_limit() -> None:
    w = World(
        limits=[
            {
                "limit_type": LimitType.MAX_GROSS_EXPOSURE,
                "limit_value": D("25000"),
                "action_on_breach": BreachAction.ALERT,
            }
        ]
    )
    w.order("b1", OrderSide.BUY, "0.5")  # about 21000 of exposure
    breaches = w.published(RiskLimitBreached.topic)
    w.node.on_market_data(
        TradeTick(BTC.id, w.clock.utc_now(), D("50001.00"), D("0.01"), "t-1", OrderSide.BUY)
    )
    assert len(breaches) == 1
    assert w.node.risk.trading_state(w.portfolio.id) is TradingState.ACTIVE  # ALERT only


def test_marks_leave_a_portfolio_without_price_moved_limits_alone() -> None:
    w = World()  # an order size limit only
    w.order("b1", OrderSide.BUY, "0.5")
    marks = w.node.risk.equity_marks(w.portfolio.id)
    assert marks is not None
    high = marks.high_water_mark
    assert not w.node.risk.has_price_limits()
    w.mark("49990.00", "50010.00")  # equity up 4000: no limit re-measured, no mark moved
    assert marks.high_water_mark == high


def test_cancels_are_messages_for_the_order_rate_limit_and_always_go_through() -> None:
    w = World(limits=[{"limit_type": LimitType.MAX_ORDER_RATE, "limit_value": D("3")}])
    resting = w.order("r1", OrderSide.BUY, "0.1", "40000.00")  # message 1
    w.node.orders.cancel(w.portfolio.id, resting.client_order_id)  # 2: a cancel counts
    again = w.order("r2", OrderSide.BUY, "0.2", "40000.00")  # 3 (not a duplicate of r1)
    assert again.status is OrderStatus.SUBMITTED
    w.node.orders.cancel(w.portfolio.id, again.client_order_id)  # past the limit: it still goes
    assert again.status is OrderStatus.CANCELLED
    refused = w.order("r3", OrderSide.BUY, "0.3", "40000.00")
    assert refused.status is OrderStatus.REJECTED
    assert refused.reject_reason is not None and refused.reject_reason.startswith("risk.order_rate")


# --- the strategy throttle ------------------------------------------------------------------
def throttled_world() -> World:
    """Three automated executions of a strategy within a minute disable it."""
    return World(
        config=TradingNodeConfig(throttle=ThrottleConfig(max_executions=3, window_ns=60 * 10**9))
    )


def test_the_throttle_disables_a_strategy_and_a_restart_keeps_it_disabled() -> None:
    w = throttled_world()
    bot, other = StrategyId.new(), StrategyId.new()
    throttled = w.published(StrategyThrottled.topic)
    for n in range(3):
        order = w.order(f"b{n}", OrderSide.BUY, f"0.0{n + 1}", strategy=bot)
        assert order.status is OrderStatus.FILLED
    assert [e.strategy_id for e in throttled] == [bot]

    refused = w.order("b3", OrderSide.BUY, "0.04", strategy=bot)
    assert refused.status is OrderStatus.REJECTED
    assert refused.reject_reason is not None
    assert refused.reject_reason.startswith(f"{ReasonCode.STRATEGY_THROTTLED}: ")
    assert w.order("o1", OrderSide.BUY, "0.05", strategy=other).status is OrderStatus.FILLED
    assert w.order("m1", OrderSide.BUY, "0.06").status is OrderStatus.FILLED  # by hand

    w.node = w.new_node()
    w.node.restore(w.journal.events)
    again = w.order("b4", OrderSide.BUY, "0.07", strategy=bot)
    assert again.status is OrderStatus.REJECTED
    assert again.reject_reason is not None and "risk.strategy_throttled" in again.reject_reason

    risk_manager = f.make_user(f.make_organization(), role=UserRole.RISK_MANAGER)
    [enabled] = w.node.risk.enable_strategy(bot, risk_manager, "the fills were intended")
    assert isinstance(enabled, StrategyReEnabled)
    assert (enabled.strategy_id, enabled.user_id) == (bot, risk_manager.id)
    assert w.journal.events[-1] is enabled  # stored with the other risk events
    assert w.order("b5", OrderSide.BUY, "0.08", strategy=bot).status is OrderStatus.FILLED

    w.node = w.new_node()  # throttled, then re-enabled: enabled
    w.node.restore(w.journal.events)
    throttled = w.published(StrategyThrottled.topic)
    for n in range(6, 8):  # b5, after the re-enable, still counts: two more disable it
        assert w.order(f"b{n}", OrderSide.BUY, f"0.1{n}", strategy=bot).status is (
            OrderStatus.FILLED
        )
    assert [e.strategy_id for e in throttled] == [bot]

    w.node = w.new_node()  # re-enabled, then throttled again: disabled
    w.node.restore(w.journal.events)
    assert w.order("b9", OrderSide.BUY, "0.19", strategy=bot).status is OrderStatus.REJECTED
    assert w.order("o2", OrderSide.BUY, "0.2", strategy=other).status is OrderStatus.FILLED


def test_a_re_enable_is_kept_in_the_event_store_across_a_restart(database: Database) -> None:
    w = throttled_world()
    with database.transaction() as uow:
        uow.organizations.add(w.organization)
        uow.portfolios.add(w.portfolio)
        uow.instruments.add(BTC)
    w.journal = SqlOrderJournal(database)  # type: ignore[assignment]
    w.node = w.new_node()
    w.mark("41990.00", "42000.00")
    bot = StrategyId.new()
    for n in range(3):
        assert w.order(f"b{n}", OrderSide.BUY, f"0.0{n + 1}", strategy=bot).status is (
            OrderStatus.FILLED
        )
    admin = f.make_user(w.organization, role=UserRole.ADMIN)
    [enabled] = w.node.risk.enable_strategy(bot, admin, "reviewed")

    w.node = w.new_node()
    w.node.restore(stored_events(database))

    kinds = (StrategyThrottled, StrategyReEnabled)
    stored = [e for e in stored_events(database) if isinstance(e, kinds)]
    assert [type(e) for e in stored] == [StrategyThrottled, StrategyReEnabled]
    assert stored[-1] == enabled  # (who, why and when, as published)
    throttle = w.node.risk.throttle
    assert throttle is not None and throttle.is_enabled(bot)


def test_the_fills_of_one_order_count_as_one_execution() -> None:
    w = throttled_world()
    for cid, price in (("s1", "41995.00"), ("s2", "41996.00")):  # asks inside the spread
        w.exchange.submit(
            SubmitOrder(
                MAKER,
                ClientOrderId(cid),
                BTC.id,
                OrderSide.SELL,
                OrderType.LIMIT,
                D("0.1"),
                price=D(price),
            )
        )
    bot = StrategyId.new()
    fills = w.published("events.order.*filled")
    order = w.order("b1", OrderSide.BUY, "0.3", strategy=bot)  # three levels: three fills
    assert order.status is OrderStatus.FILLED and len(fills) == 3
    throttle = w.node.risk.throttle
    assert throttle is not None and throttle.is_enabled(bot)


def test_the_throttle_is_off_unless_configured() -> None:
    w = World()
    bot = StrategyId.new()
    for n in range(5):
        assert w.order(f"b{n}", OrderSide.BUY, f"0.0{n + 1}", strategy=bot).status is (
            OrderStatus.FILLED
        )
    assert w.node.risk.throttle is None


# --- a cancel-replace's replacement is its original's strategy's ------------------------------
def behind_a_venue_that_cannot_amend(w: World) -> NoAmendVenue:
    """Put the world's node behind a venue that cannot amend: amends are cancel-replaces."""
    assert w.venue is not None
    w.venue.disconnect()
    edge = NoAmendVenue(w.exchange)
    w.node = TradingNode(
        clock=w.clock,
        bus=MessageBus(),
        journal=w.journal,
        venues={"SIM": edge},  # type: ignore[dict-item]
        instruments=w.instruments,
        portfolios=[PortfolioSetup(w.portfolio, ME, w.limits)],
        config=w.config,
    )
    w.mark("41990.00", "42000.00")
    return edge


@pytest.mark.parametrize("cancel_heard_later", [False, True], ids=["at-once", "later"])
def test_a_replaced_order_stays_its_strategys_for_the_throttle_and_pnl(
    cancel_heard_later: bool,
) -> None:
    w = throttled_world()
    edge = behind_a_venue_that_cannot_amend(w)
    edge.hold_cancels = cancel_heard_later  # the original's cancel confirmed in its call, or not
    bot = StrategyId.new()
    throttled = w.published(StrategyThrottled.topic)
    resting = w.order("r1", OrderSide.BUY, "0.1", "41000.00", strategy=bot)
    original = w.order("b1", OrderSide.BUY, "0.5", "41000.00", strategy=bot)

    def amend(cid: str, price: str) -> TradingNode:
        w.node.orders.amend(w.portfolio.id, ClientOrderId(cid), price=D(price))
        edge.deliver_cancels()
        assert len(edge.submits(f"{cid}.r1")) == (cid == "b1")  # sent unless refused
        return w.node

    replacement = amend("b1", "42000.00").orders.order(w.portfolio.id, ClientOrderId("b1.r1"))
    assert original.status is OrderStatus.CANCELLED
    assert replacement is not None and replacement.status is OrderStatus.FILLED
    assert w.order("s1", OrderSide.SELL, "0.5", strategy=bot).status is OrderStatus.FILLED

    by_strategy = w.node.ledger.pnl_by_strategy(w.portfolio.id)
    assert set(by_strategy) == {bot}  # the replacement's fill too
    assert (by_strategy[bot].realized_pnl, by_strategy[bot].fills) == (D("-5"), 2)
    assert throttled == []
    assert w.order("b2", OrderSide.BUY, "0.01", strategy=bot).status is OrderStatus.FILLED
    assert [(e.strategy_id, e.executions) for e in throttled] == [(bot, 3)]  # b1.r1 counted

    refused = amend("r1", "41500.00").orders.order(w.portfolio.id, ClientOrderId("r1.r1"))
    assert resting.status is OrderStatus.CANCELLED
    assert refused is not None and refused.status is OrderStatus.REJECTED
    assert refused.reject_reason is not None
    assert refused.reject_reason.startswith(f"{ReasonCode.STRATEGY_THROTTLED}: ")


# --- P&L by strategy ------------------------------------------------------------------------
def test_each_strategys_fills_give_its_own_realized_pnl() -> None:
    w = World()  # its book: 41990.00 / 42000.00
    alpha, beta = StrategyId.new(), StrategyId.new()
    w.order("a1", OrderSide.BUY, "0.5", strategy=alpha)
    w.order("a2", OrderSide.SELL, "0.5", strategy=alpha)
    w.order("b1", OrderSide.BUY, "0.2", strategy=beta)
    w.order("b2", OrderSide.SELL, "0.2", strategy=beta)
    by_strategy = w.node.ledger.pnl_by_strategy(w.portfolio.id)
    assert set(by_strategy) == {alpha, beta}
    assert (by_strategy[alpha].realized_pnl, by_strategy[alpha].fills) == (D("-5"), 2)
    assert (by_strategy[beta].realized_pnl, by_strategy[beta].fills) == (D("-2"), 2)
