"""Re-enabling a throttled strategy is an event, and a restart replays the throttle's events
in order: the last of them for a strategy decides whether it is enabled."""

from __future__ import annotations

import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.model import StrategyId, UserRole
from omoitrade.model.events import (
    DomainEvent,
    StrategyReEnabled,
    StrategyThrottled,
    event_from_json,
    event_to_json,
)
from omoitrade.risk import ExecutionThrottle, ReasonCode, RiskEngine, RiskPermissionDenied

SECOND = 1_000_000_000


def throttled_engine(world) -> RiskEngine:
    """An engine on the world with a throttle of 2 executions per 10 seconds."""
    engine = RiskEngine(
        world.view, world.clock, world.bus, throttle=ExecutionThrottle(world.clock, 2, 10 * SECOND)
    )
    engine.set_limits(world.portfolio_id, [])
    return engine


def disable(engine: RiskEngine, strategy: StrategyId) -> StrategyThrottled:
    engine.record_execution(strategy)
    [event] = engine.record_execution(strategy)
    assert isinstance(event, StrategyThrottled)
    return event


def test_re_enabling_publishes_who_did_it_and_why(world) -> None:
    engine, strategy = throttled_engine(world), StrategyId.new()
    throttled = disable(engine, strategy)
    user = world.user(UserRole.RISK_MANAGER)

    [event] = engine.enable_strategy(strategy, user, "runaway loop fixed")

    assert isinstance(event, StrategyReEnabled)
    assert (event.strategy_id, event.user_id, event.reason) == (
        strategy,
        user.id,
        "runaway loop fixed",
    )
    assert event.topic.startswith("events.risk.") and event.stream_id == strategy
    assert world.published == [throttled, event]
    assert engine.check_order(world.order(), strategy_id=strategy).approved


def test_re_enabling_an_enabled_strategy_records_nothing(world) -> None:
    engine = throttled_engine(world)

    assert engine.enable_strategy(StrategyId.new(), world.user(UserRole.TRADER), "why not") == []
    assert world.published == []


def test_re_enabling_needs_a_trading_role_and_a_reason(world) -> None:
    engine, strategy = throttled_engine(world), StrategyId.new()
    disable(engine, strategy)

    with pytest.raises(RiskPermissionDenied):
        engine.enable_strategy(strategy, world.user(UserRole.VIEWER), "please")
    with pytest.raises(ValidationError):
        engine.enable_strategy(strategy, world.user(UserRole.ADMIN), "  ")

    assert engine.throttle is not None and not engine.throttle.is_enabled(strategy)
    assert len(world.published) == 1  # the StrategyThrottled only


def test_an_engine_without_a_throttle_has_nothing_to_re_enable(world) -> None:
    assert world.engine.enable_strategy(StrategyId.new(), world.user(UserRole.ADMIN), "x") == []


def test_the_event_round_trips_through_json(world) -> None:
    engine, strategy = throttled_engine(world), StrategyId.new()
    disable(engine, strategy)
    [event] = engine.enable_strategy(strategy, world.user(UserRole.ADMIN), "checked: ok")

    assert event_from_json(event_to_json(event)) == event


def restarted(world, events: list[DomainEvent]) -> RiskEngine:
    engine = throttled_engine(world)
    engine.restore(events)
    return engine


def test_replay_throttled_then_re_enabled_leaves_it_enabled(world) -> None:
    engine, strategy = throttled_engine(world), StrategyId.new()
    disable(engine, strategy)
    engine.enable_strategy(strategy, world.user(UserRole.TRADER), "reviewed")

    again = restarted(world, list(world.published))

    assert again.throttle is not None and again.throttle.is_enabled(strategy)
    assert again.check_order(world.order(), strategy_id=strategy).approved


def test_replay_re_enabled_then_throttled_again_leaves_it_disabled(world) -> None:
    engine, strategy = throttled_engine(world), StrategyId.new()
    disable(engine, strategy)
    engine.enable_strategy(strategy, world.user(UserRole.TRADER), "reviewed")
    disable(engine, strategy)  # counting started afresh: two more executions

    again = restarted(world, list(world.published))

    assert [type(e) for e in world.published] == [
        StrategyThrottled,
        StrategyReEnabled,
        StrategyThrottled,
    ]
    assert again.throttle is not None and not again.throttle.is_enabled(strategy)
    assert again.check_order(world.order(), strategy_id=strategy).codes == (
        ReasonCode.STRATEGY_THROTTLED,
    )


def test_replay_keeps_each_strategy_apart(world) -> None:
    engine = throttled_engine(world)
    alpha, beta = StrategyId.new(), StrategyId.new()
    disable(engine, alpha)
    disable(engine, beta)
    engine.enable_strategy(alpha, world.user(UserRole.ADMIN), "alpha is fine")

    again = restarted(world, list(world.published))

    assert again.throttle is not None and again.throttle.disabled() == frozenset({beta})
