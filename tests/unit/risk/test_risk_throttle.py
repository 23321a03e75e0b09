"""The repeated-execution throttle disables a strategy until someone re-enables it."""

from __future__ import annotations

import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.model import StrategyId, UserRole
from omoitrade.model.events import StrategyThrottled
from omoitrade.risk import ExecutionThrottle, ReasonCode, RiskEngine, RiskPermissionDenied

SECOND = 1_000_000_000


@pytest.fixture
def throttled(world):
    """The world's engine with a throttle of 3 executions per 10 seconds."""
    world.engine = RiskEngine(
        world.view, world.clock, world.bus, throttle=ExecutionThrottle(world.clock, 3, 10 * SECOND)
    )
    world.engine.set_limits(world.portfolio_id, [])
    return world


def test_n_executions_inside_the_window_disable_the_strategy(throttled) -> None:
    strategy = StrategyId.new()
    engine = throttled.engine

    assert engine.record_execution(strategy) == []
    throttled.advance(4 * SECOND)
    assert engine.record_execution(strategy) == []
    throttled.advance(5 * SECOND)
    [event] = engine.record_execution(strategy)  # third within 9 s

    assert isinstance(event, StrategyThrottled)
    assert (event.strategy_id, event.executions, event.window_ns) == (strategy, 3, 10 * SECOND)
    assert throttled.published == [event]
    assert engine.check_order(throttled.order(), strategy_id=strategy).codes == (
        ReasonCode.STRATEGY_THROTTLED,
    )
    assert engine.check_order(throttled.order(), strategy_id=StrategyId.new()).approved
    assert engine.record_execution(strategy) == []  # disabled once, not once per execution


def test_executions_spread_wider_than_the_window_do_not_disable(throttled) -> None:
    strategy = StrategyId.new()
    for _ in range(10):
        assert throttled.engine.record_execution(strategy) == []
        throttled.advance(5 * SECOND)

    assert throttled.engine.throttle.is_enabled(strategy)


def test_it_stays_disabled_until_someone_re_enables_it(throttled) -> None:
    strategy = StrategyId.new()
    throttle = throttled.engine.throttle
    for _ in range(3):
        throttled.engine.record_execution(strategy)
    throttled.advance(3600 * SECOND)
    assert not throttle.is_enabled(strategy)
    with pytest.raises(RiskPermissionDenied):
        throttle.enable(strategy, throttled.user(UserRole.VIEWER))

    throttle.enable(strategy, throttled.user(UserRole.TRADER))

    assert throttle.is_enabled(strategy) and throttle.disabled() == frozenset()
    assert throttled.engine.check_order(throttled.order(), strategy_id=strategy).approved
    assert throttled.engine.record_execution(strategy) == []  # counting starts afresh


def test_engine_without_a_throttle_counts_nothing(world) -> None:
    strategy = StrategyId.new()

    assert all(world.engine.record_execution(strategy) == [] for _ in range(100))
    assert world.engine.check_order(world.order(), strategy_id=strategy).approved


@pytest.mark.parametrize(("count", "window"), [(0, SECOND), (3, 0)])
def test_throttle_refuses_nonsense(world, count: int, window: int) -> None:
    with pytest.raises(ValidationError):
        ExecutionThrottle(world.clock, count, window)
