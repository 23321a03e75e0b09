"""Limit rows stay current on update; a warning at 80% once per crossing; breach actions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.model import BreachAction, LimitType, OrderSide
from omoitrade.model.events import RiskLimitBreached, RiskLimitWarning, TradingStateChanged
from omoitrade.risk import EquityMarks, ReasonCode, RiskConfig, RiskEngine, TradingState

D = Decimal


def kinds(events) -> list[str]:
    return [type(event).__name__ for event in events]


def test_update_keeps_current_value_and_breach_flag(world) -> None:
    limit = world.limit(LimitType.MAX_POSITION, "10", BreachAction.ALERT)
    world.view.set_position(world.portfolio_id, world.btc.id, D("-4"))
    world.view.set_position(world.portfolio_id, world.eth.id, D("3"))

    assert world.engine.update(world.portfolio_id) == []
    assert limit.current_value == D("4") and not limit.is_breached

    world.view.set_position(world.portfolio_id, world.btc.id, D("-11"))
    world.engine.update(world.portfolio_id)
    assert limit.current_value == D("11") and limit.is_breached
    assert limit.updated_at == world.clock.utc_now()


@pytest.mark.parametrize(
    ("limit_type", "setup", "value"),
    [
        ("MAX_GROSS_EXPOSURE", "positions", D("700.00")),
        ("MAX_DAILY_LOSS", "loss", D("300")),
        ("MAX_DRAWDOWN", "loss", D("300")),
    ],
)
def test_measures_of_each_kind(world, limit_type: str, setup: str, value: Decimal) -> None:
    limit = world.limit(LimitType(limit_type), "1000", BreachAction.ALERT)
    world.engine.update(world.portfolio_id)
    if setup == "positions":
        world.view.set_position(world.portfolio_id, world.btc.id, D("4"))
        world.view.set_position(world.portfolio_id, world.eth.id, D("-3"))
    else:
        world.view.set_equity(world.portfolio_id, D("99700"))

    world.engine.update(world.portfolio_id)

    assert limit.current_value == value


def test_order_rate_is_measured_in_messages_of_the_last_second(world) -> None:
    limit = world.limit(LimitType.MAX_ORDER_RATE, "10", BreachAction.ALERT)
    for n in range(3):
        assert world.engine.check_order(world.order(quantity=D(n + 1))).approved

    world.engine.update(world.portfolio_id)

    assert limit.current_value == 3


def test_warning_at_80_percent_fires_once_per_crossing(world) -> None:
    limit = world.limit(LimitType.MAX_POSITION, "10", BreachAction.ALERT)

    def at(quantity: str) -> list[str]:
        world.view.set_position(world.portfolio_id, world.btc.id, D(quantity))
        return kinds(world.engine.update(world.portfolio_id))

    assert at("7.9999") == []
    assert at("8") == ["RiskLimitWarning"]
    assert at("9") == []  # still above: no second warning
    assert at("7") == []  # below again: re-armed
    assert at("8.5") == ["RiskLimitWarning"]
    [warning, *_] = [e for e in world.published if isinstance(e, RiskLimitWarning)]
    assert warning.limit_id == limit.id
    assert warning.current_value == D("8") and warning.threshold == D("0.8")


def test_warning_threshold_is_configurable(world) -> None:
    engine = RiskEngine(world.view, world.clock, config=RiskConfig(warning_threshold=D("0.5")))
    limit = world.limit(LimitType.MAX_POSITION, "10", BreachAction.ALERT)
    engine.set_limits(world.portfolio_id, [limit])
    world.view.set_position(world.portfolio_id, world.btc.id, D("5"))

    assert kinds(engine.update(world.portfolio_id)) == ["RiskLimitWarning"]


def test_alert_breach_publishes_the_breach_and_changes_no_state(world) -> None:
    limit = world.limit(LimitType.MAX_POSITION, "10", BreachAction.ALERT)
    world.view.set_position(world.portfolio_id, world.btc.id, D("10.0001"))

    events = world.engine.update(world.portfolio_id)

    assert kinds(events) == ["RiskLimitWarning", "RiskLimitBreached"]
    breach = events[1]
    assert isinstance(breach, RiskLimitBreached)
    assert breach.limit_id == limit.id and breach.current_value == D("10.0001")
    assert breach.action_on_breach is BreachAction.ALERT
    assert world.engine.trading_state(world.portfolio_id) is TradingState.ACTIVE
    assert world.published == events
    assert world.engine.update(world.portfolio_id) == []  # one breach, not one per update


def test_no_breach_at_exactly_the_limit(world) -> None:
    world.limit(LimitType.MAX_POSITION, "10", BreachAction.HALT)
    world.view.set_position(world.portfolio_id, world.btc.id, D("10"))

    assert kinds(world.engine.update(world.portfolio_id)) == ["RiskLimitWarning"]
    assert world.engine.trading_state(world.portfolio_id) is TradingState.ACTIVE


def test_reduce_breach_moves_the_portfolio_to_reducing(world) -> None:
    world.limit(LimitType.MAX_DAILY_LOSS, "1000", BreachAction.REDUCE)
    world.view.set_position(world.portfolio_id, world.btc.id, D("2"))
    world.engine.update(world.portfolio_id)
    world.view.set_equity(world.portfolio_id, D("98999"))

    events = world.engine.update(world.portfolio_id)

    assert kinds(events) == ["RiskLimitWarning", "RiskLimitBreached", "TradingStateChanged"]
    change = events[2]
    assert isinstance(change, TradingStateChanged)
    assert change.portfolio_id == world.portfolio_id and change.to_state == "REDUCING"
    assert change.user_id is None and "MAX_DAILY_LOSS" in change.reason
    assert world.engine.trading_state(world.portfolio_id) is TradingState.REDUCING
    assert world.engine.check_order(world.order()).codes[0] is ReasonCode.REDUCE_ONLY
    assert world.engine.check_order(world.order(side=OrderSide.SELL)).approved


def test_halt_breach_halts_the_portfolio_and_stays_halted_when_it_clears(world) -> None:
    world.limit(LimitType.MAX_DRAWDOWN, "1000", BreachAction.HALT)
    world.engine.update(world.portfolio_id)
    world.view.set_equity(world.portfolio_id, D("98000"))

    events = world.engine.update(world.portfolio_id)
    assert kinds(events)[-1] == "TradingStateChanged"
    assert events[-1].to_state == "HALTED"  # type: ignore[attr-defined]
    assert world.engine.check_order(world.order(side=OrderSide.SELL)).codes[0] is (
        ReasonCode.TRADING_HALTED
    )

    world.view.set_equity(world.portfolio_id, D("100000"))
    world.engine.update(world.portfolio_id)
    assert world.engine.trading_state(world.portfolio_id) is TradingState.HALTED


def test_reduce_breach_does_not_loosen_a_halted_portfolio(world) -> None:
    world.limit(LimitType.MAX_POSITION, "1", BreachAction.HALT)
    world.limit(LimitType.MAX_GROSS_EXPOSURE, "10", BreachAction.REDUCE)
    world.view.set_position(world.portfolio_id, world.btc.id, D("2"))

    events = world.engine.update(world.portfolio_id)

    states = [e.to_state for e in events if isinstance(e, TradingStateChanged)]
    assert states == ["HALTED"]
    assert world.engine.trading_state(world.portfolio_id) is TradingState.HALTED


def test_unmeasurable_limits_are_left_as_they_were(world) -> None:
    gross = world.limit(LimitType.MAX_GROSS_EXPOSURE, "1000", BreachAction.HALT)
    loss = world.limit(LimitType.MAX_DAILY_LOSS, "1000", BreachAction.HALT)
    size = world.limit(LimitType.MAX_ORDER_SIZE, "1", BreachAction.HALT)
    world.view.set_position(world.portfolio_id, world.eth.id, D("1000"))
    world.view.forget(price_of=world.eth.id)
    world.view.forget(equity_of=world.portfolio_id)

    assert world.engine.update(world.portfolio_id) == []
    assert gross.current_value == loss.current_value == size.current_value == 0


def test_seeded_marks_survive_a_restart(world) -> None:
    world.limit(LimitType.MAX_DRAWDOWN, "5000", BreachAction.HALT)
    today = world.clock.utc_now().date()
    world.engine.seed_equity_marks(world.portfolio_id, EquityMarks(today, D("100000"), D("106000")))

    assert world.engine.check_order(world.order()).codes == (ReasonCode.DRAWDOWN,)
    assert world.engine.update(world.portfolio_id)[-1].to_state == "HALTED"  # type: ignore[attr-defined]


def test_limits_of_another_portfolio_are_refused(world) -> None:
    from omoitrade.model import PortfolioId
    from omoitrade.testing.factories import make_risk_limit

    with pytest.raises(ValidationError):
        world.engine.set_limits(world.portfolio_id, [make_risk_limit(PortfolioId.new())])
