"""Trading states (ACTIVE, REDUCING, HALTED), who may change them, and checks of amends."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omoitrade.model import LimitType, OrderSide, UserRole
from omoitrade.model.events import TradingStateChanged
from omoitrade.risk import ReasonCode, RiskPermissionDenied, TradingState

D = Decimal
SELL = OrderSide.SELL


def test_everything_starts_active(world) -> None:
    assert world.engine.trading_state() is TradingState.ACTIVE
    assert world.engine.trading_state(world.portfolio_id) is TradingState.ACTIVE
    assert world.engine.check_order(world.order()).approved


def test_halted_rejects_every_order_but_not_cancels(world) -> None:
    world.view.set_position(world.portfolio_id, world.btc.id, D("5"))
    manager = world.user(UserRole.RISK_MANAGER)
    working = world.working(quantity=D("1"))
    world.engine.set_trading_state(world.portfolio_id, TradingState.HALTED, manager, "test")

    reducing = world.order(quantity=D("1"), side=SELL)
    assert world.engine.check_order(reducing).codes == (ReasonCode.TRADING_HALTED,)
    assert world.engine.check_amend(working, quantity=D("0.5")).codes == (
        ReasonCode.TRADING_HALTED,
    )
    assert world.engine.check_cancel(working).approved


def test_reducing_lets_through_only_orders_that_shrink_a_position(world) -> None:
    world.view.set_position(world.portfolio_id, world.btc.id, D("5"))
    world.working(quantity=D("2"), side=SELL)
    trader = world.user(UserRole.TRADER)
    world.engine.set_trading_state(world.portfolio_id, TradingState.REDUCING, trader, "test")

    assert world.engine.check_order(world.order(quantity=D("3"), side=SELL)).approved
    assert world.engine.check_order(world.order(quantity=D("3.0001"), side=SELL)).codes == (
        ReasonCode.REDUCE_ONLY,
    )
    assert world.engine.check_order(world.order(quantity=D("1"))).codes == (ReasonCode.REDUCE_ONLY,)
    flat = world.order(world.eth, quantity=D("1"), side=SELL)
    assert world.engine.check_order(flat).codes == (ReasonCode.REDUCE_ONLY,)


def test_reducing_checks_amends_that_grow_the_order(world) -> None:
    world.view.set_position(world.portfolio_id, world.btc.id, D("5"))
    closing = world.working(quantity=D("4"), side=SELL)
    opening = world.working(world.eth, quantity=D("1"))
    trader = world.user(UserRole.TRADER)
    world.engine.set_trading_state(world.portfolio_id, TradingState.REDUCING, trader, "test")

    assert world.engine.check_amend(closing, quantity=D("5")).approved
    assert world.engine.check_amend(closing, quantity=D("5.0001")).codes == (
        ReasonCode.REDUCE_ONLY,
    )
    assert world.engine.check_amend(opening, quantity=D("2")).codes == (ReasonCode.REDUCE_ONLY,)
    assert world.engine.check_amend(opening, quantity=D("0.5")).approved  # shrinking is fine
    assert world.engine.check_amend(opening, price=D("99.00")).approved


def test_an_amend_is_checked_as_the_order_after_it(world) -> None:
    world.limit(LimitType.MAX_POSITION, "10")
    order = world.working(quantity=D("4"))
    world.view.set_position(world.portfolio_id, world.btc.id, D("6"))

    assert world.engine.check_amend(order, quantity=D("4")).approved  # not counted twice
    assert world.engine.check_amend(order, quantity=D("4.0001")).codes == (
        ReasonCode.POSITION_LIMIT,
    )
    assert world.engine.check_amend(order, price=D("110.01")).codes == (ReasonCode.PRICE_COLLAR,)
    assert order.quantity == D("4") and order.price == D("100.00")  # the order is untouched


def test_an_amend_is_not_a_duplicate_nor_a_new_open_order(world) -> None:
    world.configure(max_open_orders=1)
    order = world.order(quantity=D("4"))
    assert world.engine.check_order(order).approved
    world.view.add_orders([order])

    assert world.engine.check_order(world.order(quantity=D("4"))).codes == (
        ReasonCode.MAX_OPEN_ORDERS,
        ReasonCode.DUPLICATE_ORDER,
    )
    assert world.engine.check_amend(order, quantity=D("4")).approved


def test_global_state_applies_to_every_portfolio(world) -> None:
    admin = world.user(UserRole.ADMIN)
    events = world.engine.set_trading_state(None, TradingState.HALTED, admin, "exchange outage")

    assert world.engine.trading_state(world.portfolio_id) is TradingState.HALTED
    assert world.engine.check_order(world.order()).codes == (ReasonCode.TRADING_HALTED,)
    [event] = events
    assert isinstance(event, TradingStateChanged)
    assert event.portfolio_id is None
    assert (event.from_state, event.to_state) == ("ACTIVE", "HALTED")
    assert event.user_id == admin.id and event.reason == "exchange outage"
    assert world.published == events


def test_the_stricter_of_global_and_portfolio_state_wins(world) -> None:
    admin = world.user(UserRole.ADMIN)
    world.engine.set_trading_state(world.portfolio_id, TradingState.HALTED, admin, "p")
    world.engine.set_trading_state(None, TradingState.REDUCING, admin, "g")

    assert world.engine.trading_state(world.portfolio_id) is TradingState.HALTED
    world.engine.set_trading_state(world.portfolio_id, TradingState.ACTIVE, admin, "p")
    assert world.engine.trading_state(world.portfolio_id) is TradingState.REDUCING


def test_setting_the_same_state_again_records_nothing(world) -> None:
    admin = world.user(UserRole.ADMIN)
    world.engine.set_trading_state(world.portfolio_id, TradingState.HALTED, admin, "once")

    assert world.engine.set_trading_state(world.portfolio_id, TradingState.HALTED, admin, "x") == []


@pytest.mark.parametrize("role", [UserRole.TRADER, UserRole.VIEWER])
def test_only_risk_managers_and_admins_may_loosen_a_state(world, role: UserRole) -> None:
    admin = world.user(UserRole.ADMIN)
    world.engine.set_trading_state(world.portfolio_id, TradingState.HALTED, admin, "stop")

    with pytest.raises(RiskPermissionDenied):
        world.engine.set_trading_state(
            world.portfolio_id, TradingState.ACTIVE, world.user(role), "go"
        )
    assert world.engine.trading_state(world.portfolio_id) is TradingState.HALTED
    manager = world.user(UserRole.RISK_MANAGER)
    world.engine.set_trading_state(world.portfolio_id, TradingState.ACTIVE, manager, "go")
    assert world.engine.trading_state(world.portfolio_id) is TradingState.ACTIVE


def test_viewers_and_inactive_users_may_not_tighten(world) -> None:
    with pytest.raises(RiskPermissionDenied):
        world.engine.set_trading_state(
            world.portfolio_id, TradingState.HALTED, world.user(UserRole.VIEWER), "x"
        )
    with pytest.raises(RiskPermissionDenied):
        world.engine.set_trading_state(
            world.portfolio_id,
            TradingState.HALTED,
            world.user(UserRole.ADMIN, is_active=False),
            "x",
        )
    assert world.engine.trading_state(world.portfolio_id) is TradingState.ACTIVE
