"""The kill switch: engage, survive a restart, and only an authorized resume lifts it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omoitrade.core.errors import Conflict, ValidationError
from omoitrade.model import UserRole
from omoitrade.model.events import (
    KillSwitchEngaged,
    KillSwitchReleased,
    TradingStateChanged,
    event_from_json,
    event_to_json,
)
from omoitrade.risk import (
    KillSwitchEngagedError,
    ReasonCode,
    RiskEngine,
    RiskPermissionDenied,
    TradingState,
)

D = Decimal


def restarted(world, events) -> RiskEngine:
    """A new engine over the same world, restored from the events as the store returns them."""
    stored = [event_from_json(event_to_json(event)) for event in events]
    engine = RiskEngine(world.view, world.clock)
    engine.set_limits(world.portfolio_id, [])
    engine.restore(stored)
    return engine


def test_engaging_halts_everything_and_records_who_and_why(world) -> None:
    trader = world.user(UserRole.TRADER)
    working = world.working()

    events = world.engine.engage_kill_switch("runaway algo", trader, flatten=True)

    engaged, halted = events
    assert isinstance(engaged, KillSwitchEngaged)
    assert engaged.user_id == trader.id and engaged.reason == "runaway algo" and engaged.flatten
    assert engaged.occurred_at == world.clock.utc_now()
    assert isinstance(halted, TradingStateChanged)
    assert halted.portfolio_id is None and halted.to_state == "HALTED"
    assert world.published == events
    status = world.engine.kill_switch
    assert status.engaged and status.user_id == trader.id and status.flatten
    assert world.engine.check_order(world.order()).codes == (ReasonCode.TRADING_HALTED,)
    assert world.engine.check_cancel(working).approved


def test_the_system_may_engage_it_without_a_user(world) -> None:
    [engaged, _] = world.engine.engage_kill_switch("loss of market data")

    assert isinstance(engaged, KillSwitchEngaged)
    assert engaged.user_id is None and not engaged.flatten


def test_viewers_may_not_engage_it_and_a_reason_is_required(world) -> None:
    with pytest.raises(RiskPermissionDenied):
        world.engine.engage_kill_switch("x", world.user(UserRole.VIEWER))
    with pytest.raises(ValidationError):
        world.engine.engage_kill_switch("  ", world.user(UserRole.ADMIN))
    assert not world.engine.kill_switch.engaged
    assert world.published == []


def test_engaged_state_survives_a_restart(world) -> None:
    events = world.engine.engage_kill_switch("fat finger", world.user(UserRole.TRADER))

    engine = restarted(world, events)

    assert engine.kill_switch.engaged and engine.kill_switch.reason == "fat finger"
    assert engine.trading_state(world.portfolio_id) is TradingState.HALTED
    assert engine.check_order(world.order()).codes == (ReasonCode.TRADING_HALTED,)


def test_restore_replays_portfolio_states_and_releases_in_order(world) -> None:
    admin = world.user(UserRole.ADMIN)
    history = [
        *world.engine.set_trading_state(world.portfolio_id, TradingState.REDUCING, admin, "a"),
        *world.engine.engage_kill_switch("b", admin),
        *world.engine.release_kill_switch(admin, "c"),
    ]

    engine = restarted(world, history)

    assert not engine.kill_switch.engaged
    assert engine.trading_state() is TradingState.ACTIVE
    assert engine.trading_state(world.portfolio_id) is TradingState.REDUCING


@pytest.mark.parametrize("role", [UserRole.TRADER, UserRole.VIEWER])
def test_unauthorized_resume_raises_and_changes_nothing(world, role: UserRole) -> None:
    world.engine.engage_kill_switch("stop", world.user(UserRole.TRADER))
    before = list(world.published)

    with pytest.raises(RiskPermissionDenied) as caught:
        world.engine.release_kill_switch(world.user(role), "resume")

    assert caught.value.code == "risk-permission-denied"
    assert world.engine.kill_switch.engaged
    assert world.engine.trading_state() is TradingState.HALTED
    assert world.published == before


def test_inactive_risk_manager_may_not_resume(world) -> None:
    world.engine.engage_kill_switch("stop")

    with pytest.raises(RiskPermissionDenied):
        world.engine.release_kill_switch(
            world.user(UserRole.RISK_MANAGER, is_active=False), "resume"
        )


@pytest.mark.parametrize("role", [UserRole.RISK_MANAGER, UserRole.ADMIN])
def test_authorized_resume_lifts_it(world, role: UserRole) -> None:
    world.engine.engage_kill_switch("stop", world.user(UserRole.TRADER))
    user = world.user(role)

    released, resumed = world.engine.release_kill_switch(user, "all clear")

    assert isinstance(released, KillSwitchReleased)
    assert released.user_id == user.id and released.reason == "all clear"
    assert isinstance(resumed, TradingStateChanged) and resumed.to_state == "ACTIVE"
    assert not world.engine.kill_switch.engaged
    assert world.engine.check_order(world.order()).approved


def test_global_state_cannot_be_loosened_around_the_kill_switch(world) -> None:
    admin = world.user(UserRole.ADMIN)
    world.engine.engage_kill_switch("stop", admin)

    with pytest.raises(KillSwitchEngagedError):
        world.engine.set_trading_state(None, TradingState.ACTIVE, admin, "sneak")
    assert world.engine.trading_state() is TradingState.HALTED


def test_releasing_when_not_engaged_is_a_conflict(world) -> None:
    with pytest.raises(Conflict):
        world.engine.release_kill_switch(world.user(UserRole.ADMIN), "nothing to do")


def test_engaging_again_is_recorded_again(world) -> None:
    world.engine.engage_kill_switch("first")

    events = world.engine.engage_kill_switch("now flatten", flatten=True)

    assert [type(e) for e in events] == [KillSwitchEngaged]  # already HALTED
    assert world.engine.kill_switch.flatten and world.engine.kill_switch.reason == "now flatten"
