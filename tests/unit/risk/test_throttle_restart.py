"""After a restart the throttle counts again the executions recorded within its window, without
disabling or publishing anything for them; a replayed re-enable clears them, as enable does."""

from __future__ import annotations

from omoitrade.model import StrategyId, UserRole
from omoitrade.model.events import StrategyReEnabled, StrategyThrottled
from omoitrade.risk import ExecutionThrottle, RiskEngine

SECOND = 1_000_000_000


def throttle_of(world) -> ExecutionThrottle:
    """3 executions within 10 seconds, on an engine publishing on the world's bus."""
    throttle = ExecutionThrottle(world.clock, 3, 10 * SECOND)
    world.engine = RiskEngine(world.view, world.clock, world.bus, throttle=throttle)
    world.engine.set_limits(world.portfolio_id, [])
    return throttle


def test_replayed_executions_within_the_window_count_toward_the_next(world) -> None:
    throttle, strategy = throttle_of(world), StrategyId.new()
    now = world.clock.timestamp_ns()
    throttle.replay_execution(strategy, now - 9 * SECOND)
    throttle.replay_execution(strategy, now - SECOND)

    assert throttle.executions(strategy) == 2
    assert throttle.is_enabled(strategy) and world.published == []
    [event] = world.engine.record_execution(strategy)
    assert isinstance(event, StrategyThrottled)
    assert (event.strategy_id, event.executions) == (strategy, 3)


def test_replayed_executions_a_window_old_or_older_are_dropped(world) -> None:
    throttle, strategy = throttle_of(world), StrategyId.new()
    now = world.clock.timestamp_ns()
    throttle.replay_execution(strategy, now - 10 * SECOND)  # exactly a window ago: expired
    throttle.replay_execution(strategy, now - 3600 * SECOND)

    assert throttle.executions(strategy) == 0
    assert world.engine.record_execution(strategy) == []
    assert world.engine.record_execution(strategy) == []
    assert throttle.is_enabled(strategy)


def test_replaying_as_many_as_the_limit_neither_disables_nor_publishes(world) -> None:
    throttle, strategy = throttle_of(world), StrategyId.new()
    now = world.clock.timestamp_ns()
    for ago in (3, 2, 1):
        throttle.replay_execution(strategy, now - ago * SECOND)

    assert throttle.is_enabled(strategy) and world.published == []
    [event] = world.engine.record_execution(strategy)  # the next one does, once
    assert isinstance(event, StrategyThrottled) and event.executions == 4


def test_replayed_times_out_of_order_expire_by_time(world) -> None:
    throttle, strategy = throttle_of(world), StrategyId.new()
    now = world.clock.timestamp_ns()
    throttle.replay_execution(strategy, now - SECOND)
    throttle.replay_execution(strategy, now - 8 * SECOND)  # older, heard later

    world.advance(3 * SECOND)  # the older is now 11 s old, the other 4 s
    assert throttle.executions(strategy) == 1
    assert world.engine.record_execution(strategy) == []  # 2 within the window


def test_a_replayed_re_enable_clears_the_executions_before_it(world) -> None:
    throttle_of(world)
    strategy = StrategyId.new()
    now = world.clock.timestamp_ns()
    events = []
    for _ in range(3):
        events += world.engine.record_execution(strategy)
    events += world.engine.enable_strategy(strategy, world.user(UserRole.TRADER), "checked")
    assert [type(e) for e in events] == [StrategyThrottled, StrategyReEnabled]

    again = throttle_of(world)
    for at in (now, now):
        again.replay_execution(strategy, at)
    again.replay(events[0])
    again.replay_execution(strategy, now)
    again.replay(events[1])
    again.replay_execution(strategy, now)  # after the re-enable: counts

    assert again.is_enabled(strategy) and again.executions(strategy) == 1


def test_strategies_are_counted_apart(world) -> None:
    throttle = throttle_of(world)
    alpha, beta = StrategyId.new(), StrategyId.new()
    now = world.clock.timestamp_ns()
    throttle.replay_execution(alpha, now)
    throttle.replay_execution(alpha, now)
    throttle.replay_execution(beta, now)

    assert (throttle.executions(alpha), throttle.executions(beta)) == (2, 1)
    assert throttle.executions(StrategyId.new()) == 0
